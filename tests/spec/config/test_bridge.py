"""CFG-005, CFG-006, CFG-009: the Torch <-> TF bridge."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given

import spec
from conformance.strategies.configs import valid_values


def test_field_table_covers_each_field_exactly_once() -> None:
    for side, model in (("torch", spec.TorchTrainingConfig), ("tf", spec.TFTrainingConfig)):
        names = [row.name_on(side) for row in spec.FIELD_TABLE if row.name_on(side)]
        assert sorted(names) == sorted(model.model_fields), side
        assert len(names) == len(set(names)), f"{side} field listed twice"


@given(values=valid_values("torch"))
def test_cfg_006_round_trip_from_torch(values: dict) -> None:
    cfg = spec.TorchTrainingConfig(**values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spec.UnmappedFieldWarning)
        back = spec.to_torch(spec.to_tf(cfg))
    for row in spec.FIELD_TABLE:
        if row.torch and row.tf:
            assert getattr(back, row.torch) == getattr(cfg, row.torch), row


@given(values=valid_values("tf"))
def test_cfg_006_round_trip_from_tf(values: dict) -> None:
    cfg = spec.TFTrainingConfig(**values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spec.UnmappedFieldWarning)
        back = spec.to_tf(spec.to_torch(cfg))
    for row in spec.FIELD_TABLE:
        if row.torch and row.tf:
            assert getattr(back, row.tf) == getattr(cfg, row.tf), row


@given(values=valid_values("torch"))
def test_cfg_005_clip_fields_carried(values: dict) -> None:
    cfg = spec.TorchTrainingConfig(**values)
    tf = spec.to_tf(cfg, on_unmapped="ignore")
    assert tf.gradient_clip_algorithm == cfg.gradient_clip_algorithm
    assert tf.gradient_clip_val == cfg.gradient_clip_val
    assert tf.nepochs == cfg.epochs


@given(values=valid_values("torch"))
def test_cfg_009_one_sided_values_reported(values: dict) -> None:
    cfg = spec.TorchTrainingConfig(**values)
    lost = spec.unmapped_fields(cfg)
    expected = {
        name: getattr(cfg, name)
        for name, default in (("accumulate_grad_batches", 1), ("loss_function", "poisson"))
        if getattr(cfg, name) != default
    }
    assert lost == expected
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec.to_tf(cfg)
    reported = [w for w in caught if issubclass(w.category, spec.UnmappedFieldWarning)]
    assert bool(reported) == bool(expected)
    for name in expected:
        assert name in str(reported[0].message)
    if expected:
        with pytest.raises(spec.BridgeError, match=next(iter(expected))):
            spec.to_tf(cfg, on_unmapped="error")


def test_extra_fills_target_only_fields() -> None:
    tf = spec.to_tf(spec.TorchTrainingConfig(), extra={"mae_weight": 0.5})
    assert tf.mae_weight == 0.5


def test_extra_rejects_shared_or_unknown_fields() -> None:
    with pytest.raises(ValueError, match="epochs"):
        spec.to_torch(spec.TFTrainingConfig(), extra={"epochs": 3})


def test_bad_on_unmapped_and_bad_input_type() -> None:
    with pytest.raises(ValueError, match="on_unmapped='drop'"):
        spec.to_tf(spec.TorchTrainingConfig(), on_unmapped="drop")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TorchTrainingConfig"):
        spec.to_tf(spec.TFTrainingConfig())  # type: ignore[arg-type]


def test_mapping_input_is_validated() -> None:
    assert spec.to_tf({"epochs": 3}).nepochs == 3
    with pytest.raises(ValueError, match="gradient_clip_algorithm"):
        spec.to_tf({"gradient_clip_algorithm": "bogus"})
