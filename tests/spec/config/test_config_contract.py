"""CFG-001..004, CFG-007, CFG-008, CFG-010: the two training configs and the model config."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import spec
from conformance.strategies.configs import INVALID, VALID, bad_field, side_fields, valid_values

MODELS = {"torch": spec.TorchTrainingConfig, "tf": spec.TFTrainingConfig}


@pytest.mark.parametrize("side", ["torch", "tf"])
def test_strategies_cover_every_field(side: str) -> None:
    model = MODELS[side]
    assert set(side_fields(side)) == set(model.model_fields), (  # type: ignore[arg-type]
        f"conformance.strategies.configs lists {sorted(side_fields(side))} for {side}, "  # type: ignore[arg-type]
        f"the model has {sorted(model.model_fields)}"
    )
    assert set(VALID) == set(INVALID)
    assert set(model.model_fields) <= set(VALID)


@pytest.mark.parametrize("model", [spec.TorchTrainingConfig, spec.TFTrainingConfig])
def test_cfg_001_allowed_algorithms(model: type) -> None:
    annotation = model.model_fields["gradient_clip_algorithm"].annotation
    assert typing.get_args(annotation) == spec.CLIP_ALGORITHMS
    for algo in spec.CLIP_ALGORITHMS:
        assert model(gradient_clip_algorithm=algo).gradient_clip_algorithm == algo


@pytest.mark.parametrize("model", [spec.TorchTrainingConfig, spec.TFTrainingConfig])
def test_cfg_002_default_is_norm_and_no_clipping(model: type) -> None:
    cfg = model()
    assert cfg.gradient_clip_algorithm == "norm"
    assert cfg.gradient_clip_val is None
    assert not cfg.clipping_enabled


@pytest.mark.parametrize("side", ["torch", "tf"])
@given(data=st.data())
def test_valid_values_accepted_and_kept(side: str, data: st.DataObject) -> None:
    values = data.draw(valid_values(side))  # type: ignore[arg-type]
    cfg = MODELS[side](**values)
    for name, value in values.items():
        assert getattr(cfg, name) == value, f"{name}: built {getattr(cfg, name)!r} from {value!r}"


@pytest.mark.parametrize("side", ["torch", "tf"])
@given(data=st.data())
def test_cfg_003_004_010_every_bad_value_rejected_naming_the_field(
    side: str, data: st.DataObject
) -> None:
    values, field, bad = data.draw(bad_field(side))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        MODELS[side](**values)
    locs = {err["loc"][0] for err in info.value.errors()}
    assert locs == {field}, f"{side}: bad {field}={bad!r} reported at {locs}"
    assert field in str(info.value)


@pytest.mark.parametrize("bad", ["bogus", "NORM", "", "clip_grad_norm_"])
def test_cfg_003_bogus_algorithm_message_lists_allowed(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec.TorchTrainingConfig(gradient_clip_algorithm=bad)
    text = str(info.value)
    assert "gradient_clip_algorithm" in text and repr(bad) in text
    assert "'norm', 'value' or 'agc'" in text


@pytest.mark.parametrize("bad", [-1e-9, -1.0, float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("model", [spec.TorchTrainingConfig, spec.TFTrainingConfig])
def test_cfg_004_bad_clip_values(model: type, bad: float) -> None:
    with pytest.raises(ValidationError, match="gradient_clip_val"):
        model(gradient_clip_val=bad)


@given(value=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6)))
def test_cfg_004_clipping_enabled_iff_positive(value: float | None) -> None:
    cfg = spec.TorchTrainingConfig(gradient_clip_val=value)
    assert cfg.clipping_enabled == (value is not None and value > 0)


@pytest.mark.parametrize("side", ["torch", "tf"])
@given(key=st.text(min_size=1, max_size=12), data=st.data())
def test_cfg_008_unknown_keys_rejected(side: str, key: str, data: st.DataObject) -> None:
    model = MODELS[side]
    if key in model.model_fields:
        return
    values = data.draw(valid_values(side))  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        model(**values, **{key: 1})
    assert [err["loc"] for err in info.value.errors()] == [(key,)]


def test_cfg_007_shared_defaults_agree() -> None:
    for row in spec.FIELD_TABLE:
        if row.torch is None or row.tf is None:
            continue
        t = spec.TorchTrainingConfig.model_fields[row.torch].get_default()
        f = spec.TFTrainingConfig.model_fields[row.tf].get_default()
        assert t == f, f"default of {row.torch} (torch) is {t!r}, of {row.tf} (tf) is {f!r}"


def test_tf_requires_some_loss_weight() -> None:
    with pytest.raises(ValidationError, match="at least one loss weight"):
        spec.TFTrainingConfig(nll_weight=0.0, mae_weight=0.0)


def test_configs_are_immutable() -> None:
    cfg = spec.TorchTrainingConfig()
    with pytest.raises(ValidationError):
        cfg.gradient_clip_algorithm = "bogus"  # type: ignore[misc]


class TestModelConfig:
    def test_builtin_architectures_accepted(self) -> None:
        for name in spec.BUILTIN_ARCHITECTURES:
            assert spec.ModelConfig(architecture=name).architecture == name

    def test_unknown_architecture_names_allowed_and_closest(self) -> None:
        with pytest.raises(ValidationError) as info:
            spec.ModelConfig(architecture="stable_hybird")
        text = str(info.value)
        assert "architecture" in text and "'stable_hybird'" in text
        assert "did you mean 'stable_hybrid'" in text and "'hybrid'" in text

    def test_declared_architecture_accepted_until_withdrawn(self) -> None:
        spec.declare_architecture("mine")
        try:
            assert spec.ModelConfig(architecture="mine").architecture == "mine"
            assert "mine" in spec.known_architectures()
        finally:
            spec.withdraw_architecture("mine")
        with pytest.raises(ValidationError, match="unknown architecture 'mine'"):
            spec.ModelConfig(architecture="mine")

    @given(width=st.integers(1, 512), cap=st.integers(1, 512))
    def test_cap_not_below_width(self, width: int, cap: int) -> None:
        if cap >= width:
            assert (
                spec.ModelConfig(fno_width=width, max_hidden_channels=cap).max_hidden_channels
                == cap
            )
        else:
            with pytest.raises(ValidationError, match="max_hidden_channels"):
                spec.ModelConfig(fno_width=width, max_hidden_channels=cap)

    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("stable_init", "zero-gamma"),
            ("layerscale_init", 0.0),
            ("fno_blocks", 0),
            ("fno_modes", 1.5),
            ("gridsize", "2"),
            ("layerscale_init", float("nan")),
        ],
    )
    def test_bad_model_values(self, field: str, bad: object) -> None:
        with pytest.raises(ValidationError) as info:
            spec.ModelConfig(**{field: bad})
        assert [e["loc"] for e in info.value.errors()] == [(field,)]

    def test_channels_from_gridsize(self) -> None:
        assert spec.ModelConfig(gridsize=3).C == 9
