"""The runner's command line (plan task 1.4): each flag reaches its config field; bad input exits 2.

Clauses: RUN-001 (--gradient-clip-algorithm), RUN-003 (clip <= 0 disables), RUN-004 (bad values
rejected before training with the spec's message).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import spec
from impl import runner
from impl.runner import QUICK_DEFAULTS, parse_args

# (flags, section, field, expected value in the resolved StudyConfig)
FLAG_CASES: list[tuple[list[str], str, str, Any]] = [
    (["--architecture", "stable_hybrid"], "model", "architecture", "stable_hybrid"),
    (["--N", "48"], "model", "N", 48),
    (["--gridsize", "1"], "model", "gridsize", 1),
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
    (["--loss", "mae"], "training", "loss_function", "mae"),
    (["--accumulate-grad-batches", "2"], "training", "accumulate_grad_batches", 2),
    (["--n-train", "32"], "data", "n_train", 32),
    (["--n-val", "8"], "data", "n_val", 8),
    (["--set-phi"], "data", "set_phi", True),
]


@pytest.mark.parametrize(("flags", "section", "name", "expected"), FLAG_CASES)
def test_every_flag_sets_its_field(
    flags: list[str], section: str, name: str, expected: Any
) -> None:
    config, _, _ = parse_args(flags)
    assert getattr(getattr(config, section), name) == expected
    # nothing else moved away from the runner's defaults
    changed = {
        (s, f)
        for s in ("model", "training", "data")
        for f in type(getattr(config, s)).model_fields
        if getattr(getattr(config, s), f) != getattr(getattr(QUICK_DEFAULTS, s), f)
    }
    assert changed == {(section, name)}


def test_every_config_flag_is_covered_here() -> None:
    covered = {flags[0] for flags, *_ in FLAG_CASES}
    assert covered == {"--" + dest.replace("_", "-") for dest in runner._FLAGS}


@pytest.mark.parametrize("algorithm", ["norm", "value", "agc"])
def test_gradient_clip_algorithm_flag_passes_through(algorithm: str) -> None:
    """RUN-001: --gradient-clip-algorithm {norm,value,agc} reaches the Torch training config."""
    config, _, _ = parse_args(["--gradient-clip-algorithm", algorithm, "--grad-clip", "0.01"])
    assert isinstance(config.training, spec.TorchTrainingConfig)
    assert config.training.gradient_clip_algorithm == algorithm
    assert config.training.gradient_clip_val == 0.01


def test_gradient_clip_algorithm_defaults_to_norm() -> None:
    """RUN-001: without the flag the algorithm is 'norm'."""
    config, _, _ = parse_args([])
    assert config.training.gradient_clip_algorithm == "norm"


@pytest.mark.parametrize("value", ["0", "-1", "-0.5"])
def test_grad_clip_at_or_below_zero_disables_clipping(value: str) -> None:
    """RUN-003: --grad-clip <= 0 means no clipping."""
    config, _, _ = parse_args(["--grad-clip", value])
    assert config.training.gradient_clip_val == 0.0
    assert not config.training.clipping_enabled


def test_misc_flags() -> None:
    config, options, out = parse_args(
        [
            "--max-hidden-channels",
            "none",
            "--no-set-phi",
            "--quiet",
            "--output-dir",
            "x/y",
            "--pin-threshold",
            "0.2",
            "--pin-epochs",
            "3",
            "--explode-grad-norm",
            "50",
        ]
    )
    assert config.model.max_hidden_channels is None and config.data.set_phi is False
    assert out == Path("x/y") and options.progress is False
    assert (options.pin_threshold, options.pin_epochs, options.explode_grad_norm) == (0.2, 3, 50.0)
    assert options.device == "cpu"


def test_config_file_then_flags_override(tmp_path: Path) -> None:
    base = spec.StudyConfig(
        model=spec.ModelConfig(N=16, fno_blocks=2, fno_width=4),
        training=spec.TorchTrainingConfig(epochs=9, gradient_clip_algorithm="value"),
    )
    path = tmp_path / "base.toml"
    spec.save_config(base, path)
    config, _, _ = parse_args(["--config", str(path), "--epochs", "2"])
    assert config.training.epochs == 2
    assert config.training.gradient_clip_algorithm == "value"
    assert config.model == base.model and config.data == base.data


BAD: list[tuple[list[str], list[str]]] = [
    (["--gradient-clip-algorithm", "bogus"], ["--gradient-clip-algorithm", "'bogus'", "'agc'"]),
    (["--architecture", "hybrd"], ["--architecture='hybrd'", "model.architecture", "'hybrid'"]),
    (["--epochs", "0"], ["--epochs=0", "training.epochs", "greater than or equal to 1"]),
    (["--lr", "nan"], ["--lr=nan", "training.learning_rate", "finite"]),
    (["--lr", "-1"], ["--lr=-1.0", "training.learning_rate", "greater than 0"]),
    (["--seed", "-3"], ["--seed=-3", "training.seed"]),
    (["--N", "abc"], ["--N", "invalid int value", "'abc'"]),
    (["--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'", "'adam'"]),
    (["--stable-init", "ones"], ["--stable-init", "'ones'", "'zero_gamma'"]),
    (["--max-hidden-channels", "4"], ["max_hidden_channels=4", "fno_width=8"]),
    (["--layerscale-init", "0"], ["--layerscale-init=0.0", "model.layerscale_init"]),
    (["--n-train", "4"], ["--n-train=4", "batch_size"]),
    (["--device", "warp9"], ["--device='warp9'"]),
    (["--pin-epochs", "0"], ["--pin-epochs=0"]),
    (["--explode-grad-norm", "inf"], ["--explode-grad-norm=inf"]),
]


@pytest.mark.parametrize(("flags", "needles"), BAD)
def test_bad_values_exit_2_before_training(
    flags: list[str], needles: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """RUN-004: a bad value exits 2 naming the flag/field, the value and what is allowed,
    before any data or model is built."""

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started despite a bad value")

    monkeypatch.setattr(runner, "make_grid_lines", must_not_run)
    monkeypatch.setattr(runner, "build_generator", must_not_run)
    with pytest.raises(SystemExit) as info:
        runner.main([*flags, "--output-dir", "/nonexistent/never"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, (needle, err)


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
