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
        stable_init=draw(st.sampled_from(spec.STABLE_INITS)),
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


def test_partial_file_over_a_base_changes_only_what_it_says(tmp_path: Path) -> None:
    """A file with only [training] epochs = 3 keeps every other field of the base."""
    base = spec.StudyConfig(
        model=spec.ModelConfig(N=32, fno_width=8, fno_blocks=3, gridsize=1),
        training=spec.TorchTrainingConfig(learning_rate=3e-3, gradient_clip_val=1.0),
    )
    path = tmp_path / "partial.toml"
    path.write_text("[training]\nepochs = 3\n")
    got = spec.load_config(path, base=base)
    assert got.training.epochs == 3
    assert got.model == base.model and got.data == base.data
    assert got.training.model_copy(update={"epochs": base.training.epochs}) == base.training
    assert spec.load_config(path).model == spec.ModelConfig()  # without a base: the defaults
    path.write_text("[model]\nN = 0\n")
    with pytest.raises(spec.ConfigFileError, match=r"model\.N"):
        spec.load_config(path, base=base)
    with pytest.raises(TypeError, match="not a TFTrainingConfig"):
        spec.load_config(path, spec.TFTrainingConfig, base=base)  # type: ignore[call-overload]


def test_atomic_writes_use_unique_temporary_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    sources: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        sources.append(str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    for _ in range(3):
        spec.save_config(spec.StudyConfig(), tmp_path / "run.json")
    assert len(set(sources)) == 3 and all(Path(s).parent == tmp_path for s in sources)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_concurrent_writers_never_tear_a_file(tmp_path: Path) -> None:
    """Threads saving different configs to one path: every read sees one whole config."""
    import threading

    path = tmp_path / "shared.json"
    configs = [spec.StudyConfig(training=spec.TorchTrainingConfig(epochs=e)) for e in range(1, 9)]
    spec.save_config(configs[0], path)
    stop = threading.Event()
    seen: list[spec.StudyConfig] = []
    errors: list[BaseException] = []

    def write(cfg: spec.StudyConfig) -> None:
        try:
            for _ in range(40):
                spec.save_config(cfg, path)
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(spec.load_config(path))
            except BaseException as exc:
                errors.append(exc)

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(c,)) for c in configs]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert errors == [] and seen and all(c in configs for c in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.json"]


def test_atomic_writer_keeps_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    from spec.io import atomic_writer

    path = tmp_path / "keep.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_writer(path) as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["keep.bin"]
