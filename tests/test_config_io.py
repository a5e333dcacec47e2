"""spec.load_config / spec.save_config for JSON and TOML."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spec
from conformance.strategies.configs import valid_values

pytestmark = pytest.mark.filterwarnings("error")


@st.composite
def study_configs(draw: st.DrawFn) -> spec.StudyConfig:
    width = draw(st.integers(1, 128))
    model = spec.ModelConfig(
        architecture=draw(st.sampled_from(spec.BUILTIN_ARCHITECTURES)),
        fno_width=width,
        fno_blocks=draw(st.integers(1, 6)),
        max_hidden_channels=draw(st.one_of(st.none(), st.integers(width, 1024))),
        stable_init=draw(st.sampled_from(["zero_gamma", "layerscale"])),
        layerscale_init=draw(st.floats(1e-9, 1.0)),
    )
    return spec.StudyConfig(
        model=model, training=spec.TorchTrainingConfig(**draw(valid_values("torch")))
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=study_configs(), suffix=st.sampled_from([".json", ".toml"]))
def test_round_trip(tmp_path: Path, cfg: spec.StudyConfig, suffix: str) -> None:
    path = tmp_path / f"run{suffix}"
    spec.save_config(cfg, path)
    assert spec.load_config(path) == cfg


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_other_models(tmp_path: Path, suffix: str) -> None:
    cfg = spec.TFTrainingConfig(nepochs=3, gradient_clip_val=0.01, gradient_clip_algorithm="agc")
    path = tmp_path / f"tf{suffix}"
    spec.save_config(cfg, path)
    assert spec.load_config(path, spec.TFTrainingConfig) == cfg


def test_bad_field_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[training]\ngradient_clip_algorithm = "bogus"\nepochs = 0\n')
    with pytest.raises(spec.ConfigFileError) as info:
        spec.load_config(path)
    text = str(info.value)
    assert str(path) in text
    assert "training.gradient_clip_algorithm" in text and "'bogus'" in text
    assert "training.epochs" in text


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("broken.json", "{not json", "not valid JSON"),
        ("broken.toml", "a = = 1", "not valid TOML"),
        ("list.json", "[1, 2]", "top level must be"),
        ("cfg.yaml", "a: 1", "unknown config format '.yaml'"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(spec.ConfigFileError, match=needle) as info:
        spec.load_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(spec.ConfigFileError, match="cannot read"):
        spec.load_config(tmp_path / "nope.json")


def test_save_does_not_leave_partial_file_on_error(tmp_path: Path) -> None:
    path = tmp_path / "out.ini"
    with pytest.raises(spec.ConfigFileError):
        spec.save_config(spec.StudyConfig(), path)
    assert list(tmp_path.iterdir()) == []
