"""The runner's command line: each flag reaches its config field; bad input exits 2 before anything
is generated.

Clauses: RUN-001 (--gradient-clip-algorithm), RUN-003 (clip <= 0 disables), RUN-004 (bad values,
sizes, probe files and output directories rejected before training, exit 2), RUN-014 (a partial
config file keeps the preset's other fields).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import spec
from impl.study import data as study_data
from impl.study import options
from impl.study import run as study_run
from impl.study import setup as study_setup
from impl.study.options import CONFIG_FLAGS, parse_args
from impl.study.presets import DEFAULT, PRESETS

# (flags, section, field, expected value in the resolved StudyConfig)
FLAG_CASES: list[tuple[list[str], str, str, Any]] = [
    (["--architecture", "stable_hybrid"], "model", "architecture", "stable_hybrid"),
    (["--N", "48"], "model", "N", 48),
    (["--gridsize", "2"], "model", "gridsize", 2),
    (["--fno-width", "12"], "model", "fno_width", 12),
    (["--fno-blocks", "4"], "model", "fno_blocks", 4),
    (["--fno-modes", "6"], "model", "fno_modes", 6),
    (["--max-hidden-channels", "64"], "model", "max_hidden_channels", 64),
    (["--stable-init", "layerscale"], "model", "stable_init", "layerscale"),
    (["--layerscale-init", "0.05"], "model", "layerscale_init", 0.05),
    (["--epochs", "3"], "training", "epochs", 3),
    (["--batch-size", "4"], "training", "batch_size", 4),
    (["--lr", "0.0003"], "training", "learning_rate", 3e-4),
    (["--optimizer", "sgd"], "training", "optimizer", "sgd"),
    (["--seed", "7"], "training", "seed", 7),
    (["--nphotons", "1e6"], "training", "nphotons", 1e6),
    (["--grad-clip", "0.5"], "training", "gradient_clip_val", 0.5),
    (["--gradient-clip-algorithm", "agc"], "training", "gradient_clip_algorithm", "agc"),
    (["--loss", "poisson"], "training", "loss_function", "poisson"),
    (["--accumulate-grad-batches", "2"], "training", "accumulate_grad_batches", 2),
    (["--objects", "upstream_lines"], "data", "objects", "upstream_lines"),
    (["--object-size", "96"], "data", "object_size", 96),
    (["--n-train-objects", "3"], "data", "n_train_objects", 3),
    (["--n-test-objects", "2"], "data", "n_test_objects", 2),
    (["--scan-stride", "8"], "data", "scan_stride", 8),
    (["--set-phi"], "data", "set_phi", True),
    (["--probe", "gaussian"], "data", "probe", "gaussian"),
    (["--probe-file", "p.npy"], "data", "probe_file", "p.npy"),
    (["--probe-phase-std", "1.5"], "data", "probe_phase_std", 1.5),
    (["--probe-correlation", "2.5"], "data", "probe_correlation", 2.5),
    (["--probe-seed", "3"], "data", "probe_seed", 3),
]


def changed_fields(config: spec.StudyConfig, base: spec.StudyConfig) -> set[tuple[str, str]]:
    return {
        (s, f)
        for s in ("model", "training", "data")
        for f in type(getattr(config, s)).model_fields
        if getattr(getattr(config, s), f) != getattr(getattr(base, s), f)
    }


@pytest.mark.parametrize(("flags", "section", "name", "expected"), FLAG_CASES)
def test_every_flag_sets_its_field(
    flags: list[str], section: str, name: str, expected: Any
) -> None:
    config, _, _ = parse_args(flags)
    assert getattr(getattr(config, section), name) == expected
    assert changed_fields(config, DEFAULT) == {(section, name)}  # nothing else moved


def test_every_config_flag_is_covered_here() -> None:
    covered = {flags[0] for flags, *_ in FLAG_CASES}
    assert covered == {"--" + dest.replace("_", "-") for dest in CONFIG_FLAGS}


@pytest.mark.parametrize("algorithm", spec.CLIP_ALGORITHMS)
def test_gradient_clip_algorithm_flag_passes_through(algorithm: str) -> None:
    """RUN-001: --gradient-clip-algorithm {norm,value,agc} reaches the Torch training config."""
    config, _, _ = parse_args(["--gradient-clip-algorithm", algorithm, "--grad-clip", "0.01"])
    assert isinstance(config.training, spec.TorchTrainingConfig)
    assert config.training.gradient_clip_algorithm == algorithm
    assert config.training.gradient_clip_val == 0.01


def test_gradient_clip_algorithm_defaults_to_norm() -> None:
    """RUN-001: without the flag the algorithm is 'norm'."""
    assert parse_args([])[0].training.gradient_clip_algorithm == "norm"


@pytest.mark.parametrize("value", ["0", "-1", "-0.5"])
def test_grad_clip_at_or_below_zero_disables_clipping(value: str) -> None:
    """RUN-003: --grad-clip <= 0 means no clipping."""
    config, _, _ = parse_args(["--grad-clip", value])
    assert config.training.gradient_clip_val == 0.0 and not config.training.clipping_enabled


def test_run_flags() -> None:
    _, options, out = parse_args(
        ["--quiet", "--output-dir", "x/y", "--pin-threshold", "0.2", "--pin-epochs", "3",
         "--explode-grad-norm", "50", "--overwrite", "--threads", "0"]
    )  # fmt: skip
    assert out == Path("x/y") and options.progress is False and options.overwrite is True
    assert (options.pin_threshold, options.pin_epochs, options.explode_grad_norm) == (0.2, 3, 50.0)
    assert options.device == "cpu" and options.threads is None
    assert parse_args([])[1].threads == 1


def test_presets() -> None:
    up, _, _ = parse_args(["--preset", "upstream"])
    assert up == PRESETS["upstream"]
    assert (up.model.N, up.model.fno_blocks, up.model.gridsize, up.training.epochs) == (
        64,
        4,
        1,
        50,
    )
    assert up.training.loss_function == "mae" and up.data.n_train_objects == 2
    assert up.training.nphotons == 1e9
    # upstream's ~13,800 training patterns (about 43,000 steps over 50 epochs at batch 16)
    from impl.study.scan import ScanGrid

    patterns = up.data.n_train_objects * ScanGrid.of(up).groups_per_side ** 2
    assert patterns == 13778 and patterns // 16 * 50 == 43050


def test_partial_config_file_keeps_the_preset(tmp_path: Path) -> None:
    """RUN-014: a file with only [training] epochs = 3 changes the epochs, nothing else."""
    path = tmp_path / "partial.toml"
    path.write_text("[training]\nepochs = 3\n")
    config, _, _ = parse_args(["--config", str(path)])
    assert config.training.epochs == 3 and changed_fields(config, DEFAULT) == {
        ("training", "epochs")
    }
    config, _, _ = parse_args(["--preset", "upstream", "--config", str(path), "--N", "32"])
    assert changed_fields(config, PRESETS["upstream"]) == {("training", "epochs"), ("model", "N")}


def test_config_file_then_flags_override(tmp_path: Path) -> None:
    base = DEFAULT.model_copy(
        update={"training": DEFAULT.training.model_copy(update={"epochs": 9, "optimizer": "sgd"})}
    )
    path = tmp_path / "base.json"
    spec.save_config(base, path)
    config, _, _ = parse_args(["--config", str(path), "--epochs", "2"])
    assert config.training.epochs == 2 and config.training.optimizer == "sgd"


BAD: list[tuple[list[str], list[str]]] = [
    (["--gradient-clip-algorithm", "bogus"], ["--gradient-clip-algorithm", "'bogus'", "'agc'"]),
    (["--architecture", "hybrd"], ["--architecture='hybrd'", "model.architecture", "'hybrid'"]),
    (["--epochs", "0"], ["--epochs=0", "training.epochs", "greater than or equal to 1"]),
    (["--lr", "nan"], ["--lr=nan", "training.learning_rate", "finite"]),
    (["--seed", "-3"], ["--seed=-3", "training.seed"]),
    (["--N", "abc"], ["--N", "invalid int value", "'abc'"]),
    (["--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'", "'adam'"]),
    (["--max-hidden-channels", "4"], ["max_hidden_channels=4", "fno_width=8"]),
    (["--probe", "disk"], ["--probe", "'disk'", "'diffuser'"]),
    (["--probe-correlation", "0"], ["--probe-correlation=0.0", "data.probe_correlation"]),
    (["--object-size", "20"], ["data.object_size=20", "model.N", "object_size >= 32"]),
    (["--scan-stride", "17"], ["data.scan_stride=17", "model.N // 2 = 16"]),
    (["--n-train-objects", "1", "--object-size", "32", "--batch-size", "4"],
     ["holds 1 patterns", "batch_size * accumulate_grad_batches = 4"]),
    (["--device", "warp9"], ["--device='warp9'"]),
    (["--pin-epochs", "0"], ["--pin-epochs=0"]),
    (["--explode-grad-norm", "inf"], ["--explode-grad-norm=inf"]),
    (["--threads", "-1"], ["--threads=-1"]),
    (["--n-train", "4"], ["unrecognized arguments: --n-train"]),
]  # fmt: skip


@pytest.fixture
def no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any data or model is built."""

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("data or a model was built despite bad input")

    monkeypatch.setattr(study_data, "grid_lines", must_not_run)
    monkeypatch.setattr(study_setup, "make_study_data", must_not_run)


@pytest.mark.parametrize(("flags", "needles"), BAD)
@pytest.mark.usefixtures("no_generation")
def test_bad_values_exit_2_before_anything_is_generated(
    flags: list[str], needles: list[str], tmp_path: Path, capsys: Any
) -> None:
    """RUN-004: a bad value exits 2 naming the flag/field, the value and what is allowed."""
    with pytest.raises(SystemExit) as info:
        study_run.main([*flags, "--output-dir", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("no_generation")
def test_patch_size_the_generator_cannot_take_exits_2(tmp_path: Path, capsys: Any) -> None:
    """RUN-004: --N 30 with 3 blocks (not a multiple of 4) is found before any data exist."""
    code = study_run.main(["--N", "30", "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "model.N=30 does not fit the generator" in err and "multiples of 4" in err
    assert not (tmp_path / "out" / "config.json").exists()


@pytest.mark.usefixtures("no_generation")
def test_bad_probe_file_exits_2(tmp_path: Path, capsys: Any) -> None:
    np.save(tmp_path / "small.npy", np.ones((8, 8), complex))
    code = study_run.main(
        ["--probe-file", str(tmp_path / "small.npy"), "--output-dir", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--probe-file" in err and "shape (32, 32)" in err


@pytest.mark.usefixtures("no_generation")
def test_output_dir_holding_a_run_is_refused_without_overwrite(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    assert study_run.main(["--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (metrics.json)" in err and "--overwrite" in err
    assert (out / "metrics.json").read_text() == "{}"  # untouched


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
@pytest.mark.usefixtures("no_generation")
def test_unwritable_output_dir_exits_2(tmp_path: Path, capsys: Any) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert study_run.main(["--output-dir", str(locked / "run")]) == 2
    assert "not writable" in capsys.readouterr().err


@pytest.mark.usefixtures("no_generation")
def test_output_path_that_cannot_be_a_directory_exits_2(tmp_path: Path, capsys: Any) -> None:
    """Works as root too: a file where a parent directory should be."""
    (tmp_path / "file").write_text("x")
    assert study_run.main(["--output-dir", str(tmp_path / "file" / "run")]) == 2
    assert "not writable" in capsys.readouterr().err
    assert study_run.main(["--output-dir", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_cuda_device_is_rejected(capsys: Any) -> None:
    """RUN-004: --device cuda without CUDA exits 2 before training."""
    with pytest.raises(SystemExit) as info:
        parse_args(["--device", "cuda"])
    assert info.value.code == 2 and "CUDA is not available" in capsys.readouterr().err


def test_bad_config_file_exits_2(tmp_path: Path, capsys: Any) -> None:
    """RUN-004: a config file with a bad field exits 2 naming the file and the field."""
    path = tmp_path / "bad.toml"
    path.write_text('[training]\ngradient_clip_algorithm = "bogus"\n')
    with pytest.raises(SystemExit) as info:
        parse_args(["--config", str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "bad.toml" in err and "gradient_clip_algorithm" in err


def test_help_names_each_field() -> None:
    text = options.build_parser().format_help()
    assert "data.probe_file:" in text and "training.gradient_clip_val:" in text
