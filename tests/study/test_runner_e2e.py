"""Tiny end-to-end runs of the study runner: outputs, determinism, failures, Ctrl-C and SIGTERM,
per-epoch atomic writes, unwritable outputs, --overwrite, pinning, the well-posedness check.

Clauses: RUN-005 (outputs written, config reloads), RUN-006 (failures and interrupts recorded, not
raised), RUN-007 (determinism for a seed), RUN-008 (identity-pinned warning), RUN-010 (results
written atomically after every epoch), RUN-011 (SIGTERM like Ctrl-C), RUN-012 (well-posedness
check written to the outputs).
"""

from __future__ import annotations

import errno
import io
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import impl
import spec
from impl.study import loop as study_loop
from impl.study import run as study_run
from impl.study import rundir as study_rundir
from impl.study.options import RunOptions, parse_args
from impl.study.rundir import RUN_FILES

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--N", "16", "--fno-blocks", "2", "--fno-width", "4", "--fno-modes", "4",
    "--object-size", "32", "--scan-stride", "4", "--epochs", "2", "--batch-size", "8", "--quiet",
]  # fmt: skip

ARMS = {
    "control": ["--architecture", "hybrid", "--gradient-clip-algorithm", "norm",
                "--grad-clip", "1.0"],
    "arch_fix": ["--architecture", "stable_hybrid", "--grad-clip", "0"],
    "opt_fix": ["--architecture", "hybrid", "--gradient-clip-algorithm", "agc",
                "--grad-clip", "0.01"],
}  # fmt: skip

METRIC_KEYS = {
    "status", "final_train_loss", "final_val_loss", "best_train_loss", "best_val_loss",
    "noise_floor", "amp_ssim", "amp_mae", "amp_psnr", "amp_frc50", "phase_ssim", "failed",
    "failure_reason", "interrupted", "interrupt_signal", "identity_pinned", "seconds",
    "cpu_seconds", "epochs_completed", "steps_clipped", "clip_fraction", "wellposed", "run_id",
}  # fmt: skip
EPOCH_KEYS = {
    "epoch", "train_loss", "val_loss", "grad_norm_before", "grad_norm_after", "units_clipped",
    "units_total", "steps_clipped", "clip_fraction", "nonfinite_events", "stable_gain",
    "amp_ssim", "phase_ssim", "seconds", "cpu_seconds",
}  # fmt: skip


def read(tmp: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    metrics = json.loads((tmp / "metrics.json").read_text())
    history = json.loads((tmp / "history.json").read_text())["epochs"]
    return metrics, history


def run(tmp: Path, *flags: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    code = study_run.main([*TINY, *flags, "--output-dir", str(tmp)])
    return (code, *read(tmp))


def without_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        skip = {"seconds", "cpu_seconds", "run_id", "started_at"}
        return {k: without_times(v) for k, v in obj.items() if k not in skip}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_each_arm_writes_its_outputs(arm: str, tmp_path: Path) -> None:
    """RUN-005: metrics, history, config (reloads equal), model (loads), reconstruction, probe."""
    code, metrics, history = run(tmp_path, *ARMS[arm])
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)
    assert set(metrics) >= METRIC_KEYS and metrics["status"] == "completed"
    assert not metrics["failed"] and not metrics["interrupted"] and metrics["wellposed"] is True
    assert metrics["epochs_completed"] == 2 and len(history) == 2
    assert all(set(e) >= EPOCH_KEYS for e in history)
    for key in (
        "best_val_loss",
        "final_val_loss",
        "amp_ssim",
        "amp_mae",
        "amp_frc50",
        "noise_floor",
    ):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["phase_ssim"] is None  # no --set-phi: the true phase is constant
    assert metrics["best_val_loss"] == min(e["val_loss"] for e in history)
    assert metrics["noise_floor"] < metrics["best_val_loss"]
    assert metrics["cpu_seconds"] > 0 and metrics["seconds"] > 0

    config = spec.load_config(tmp_path / "config.json")
    assert config == parse_args([*TINY, *ARMS[arm]])[0]
    model = impl.build_generator(config.model)
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))  # strict
    assert sum(p.numel() for p in model.parameters()) == metrics["n_parameters"]
    with np.load(tmp_path / "reconstruction.npz") as rec:
        assert rec["amplitude"].shape == rec["true_amplitude"].shape == (1, 24, 24)
    assert np.load(tmp_path / "probe.npy").shape == (16, 16)
    check = json.loads((tmp_path / "wellposedness.json").read_text())
    assert check["wellposed"] and check["twin"]["truth_loss"] == metrics["noise_floor"]

    # flag -> training: each arm's clipping really happened as configured
    if arm == "control":
        assert all(e["grad_norm_after"] <= 1.0 + 1e-4 for e in history)
        assert all(
            e["units_total"] == 1 and e["clip_fraction"] == e["steps_clipped"] / e["steps"]
            for e in history
        )
    if arm == "arch_fix":
        assert all(e["grad_norm_after"] == e["grad_norm_before"] for e in history)
        assert metrics["steps_clipped"] == 0 and metrics["clip_fraction"] == 0.0
        assert history[-1]["stable_gain"] > 0.0
    if arm == "opt_fix":
        assert all(e["units_clipped"] > 0 and 0 < e["clip_fraction"] <= 1 for e in history)
        # counted in units (rows / output channels), several per weight tensor, not in steps
        assert all(e["units_total"] > len(list(model.parameters())) for e in history)
        assert all(e["units_clipped"] <= e["units_total"] * e["steps"] for e in history)


def test_same_seed_same_results_other_seed_differs(tmp_path: Path) -> None:
    """RUN-007: two runs with one seed give identical metrics and history (times aside)."""
    _, m1, h1 = run(tmp_path / "a", "--architecture", "stable_hybrid", "--seed", "3")
    _, m2, h2 = run(tmp_path / "b", "--architecture", "stable_hybrid", "--seed", "3")
    _, m3, _ = run(tmp_path / "c", "--architecture", "stable_hybrid", "--seed", "4")
    assert without_times(m1) == without_times(m2) and without_times(h1) == without_times(h2)
    assert m1["final_val_loss"] != m3["final_val_loss"]


def test_exploding_gradients_recorded_not_raised(tmp_path: Path) -> None:
    """RUN-006: a gradient norm above --explode-grad-norm stops training and is recorded."""
    code, metrics, history = run(tmp_path, "--explode-grad-norm", "1e-9")
    assert code == 1 and metrics["status"] == "failed"
    assert "exploding gradients at epoch 1, step 1" in metrics["failure_reason"]
    assert len(history) == 1 and history[0]["steps"] == 1
    assert metrics["amp_ssim"] is None and metrics["final_val_loss"] is None
    assert (tmp_path / "model.pt").exists() and not (tmp_path / "reconstruction.npz").exists()


def test_non_finite_loss_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-006: an injected NaN loss at the second step is caught, counted and recorded."""
    real = study_loop.training_step
    calls = {"n": 0}

    def nan_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        result = real(*args, **kwargs)
        if calls["n"] == 2:
            return impl.StepResult(
                torch.tensor(math.nan), result.grad_norm_before, result.grad_norm_after,
                result.units_clipped, result.finite,
            )  # fmt: skip
        return result

    monkeypatch.setattr(study_loop, "training_step", nan_on_second)
    code, metrics, history = run(tmp_path)
    assert code == 1 and metrics["failed"]
    assert metrics["failure_reason"] == "non-finite loss at epoch 1, step 2"
    assert history[0]["nonfinite_events"] == 1 and history[0]["steps"] == 2


def test_ctrl_c_stops_cleanly_and_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RUN-006: KeyboardInterrupt during training -> outputs written, interrupted, exit 130."""
    real = study_loop.training_step
    calls = {"n": 0}

    def interrupt_eighth(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 8:  # epoch 2, step 2 (6 steps per epoch)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(study_loop, "training_step", interrupt_eighth)
    code, metrics, history = run(tmp_path)
    assert code == 130 and metrics["interrupted"] and metrics["interrupt_signal"] == "SIGINT"
    assert metrics["status"] == "interrupted" and not metrics["failed"]
    assert [e["epoch"] for e in history] == [1]  # epoch 2 was cut short
    assert math.isfinite(metrics["amp_ssim"])  # scored on the weights reached
    assert (tmp_path / "model.pt").exists() and (tmp_path / "reconstruction.npz").exists()


def test_results_are_on_disk_after_every_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-010: during epoch 2 the files already hold epoch 1, marked 'running'."""
    real = study_loop.training_step
    calls = {"n": 0}
    seen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []

    def look_at_the_files(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 7:  # first step of epoch 2
            seen.append(read(tmp_path))
        return real(*args, **kwargs)

    monkeypatch.setattr(study_loop, "training_step", look_at_the_files)
    code, final, _ = run(tmp_path)
    ((metrics, history),) = seen
    assert code == 0 and metrics["status"] == "running" and metrics["epochs_completed"] == 1
    assert [e["epoch"] for e in history] == [1] and metrics["best_val_loss"] == history[0][
        "val_loss"
    ]
    assert metrics["amp_ssim"] is None  # final scores only once training ends
    assert final["status"] == "completed" and final["run_id"] == metrics["run_id"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_outputs_are_named_and_the_metrics_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A full disk at the end: failed files named, exit 3, the rest written, metrics on stderr."""
    real = study_rundir.atomic_writer

    def full_disk(path: Any) -> Any:
        if Path(path).name == "model.pt":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(study_rundir, "atomic_writer", full_disk)
    code = study_run.main([*TINY, "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 3 and "model.pt: No space left on device" in err
    printed = json.loads(err.split("metrics of this run:\n", 1)[1])
    metrics, _ = read(tmp_path)
    assert metrics == printed and metrics["status"] == "completed"
    assert not (tmp_path / "model.pt").exists() and (tmp_path / "reconstruction.npz").exists()


def test_overwrite_replaces_a_previous_run(tmp_path: Path, capsys: Any) -> None:
    assert run(tmp_path, "--epochs", "1")[0] == 0
    first, _ = read(tmp_path)
    assert study_run.main([*TINY, "--output-dir", str(tmp_path)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    code, second, history = run(tmp_path, "--overwrite", "--explode-grad-norm", "1e-9")
    assert code == 1 and second["run_id"] != first["run_id"] and len(history) == 1
    # the earlier run's reconstruction is gone: nothing stale looks current
    assert not (tmp_path / "reconstruction.npz").exists()


def test_identity_pinned_warning(tmp_path: Path) -> None:
    """RUN-008: a zero-gamma branch that barely moves (tiny lr) triggers the warning and flag."""
    with pytest.warns(study_run.IdentityPinnedWarning, match="pinned near the identity"):
        _, metrics, history = run(
            tmp_path, "--architecture", "stable_hybrid", "--lr", "1e-7", "--pin-epochs", "2"
        )
    assert metrics["identity_pinned"] and metrics["warnings"]
    assert all(0.0 <= e["stable_gain"] < 0.1 for e in history)


@pytest.mark.filterwarnings("error::impl.study.failures.IdentityPinnedWarning")
def test_no_pinned_warning_when_the_branch_moves_or_there_is_none(tmp_path: Path) -> None:
    _, moving, _ = run(
        tmp_path / "a", "--architecture", "stable_hybrid", "--pin-threshold", "1e-6",
        "--pin-epochs", "1",
    )  # fmt: skip
    _, plain, history = run(tmp_path / "b", "--architecture", "hybrid", "--pin-epochs", "1")
    assert not moving["identity_pinned"] and not plain["identity_pinned"]
    assert all(e["stable_gain"] is None for e in history)


def test_ill_posed_task_is_flagged(tmp_path: Path) -> None:
    """RUN-012: with the centro-symmetric Gaussian probe the check says so, in the outputs too."""
    with pytest.warns(study_run.IllPosedWarning, match="twin image fits the data"):
        code, metrics, _ = run(tmp_path, "--probe", "gaussian", "--epochs", "1")
    check = json.loads((tmp_path / "wellposedness.json").read_text())
    assert code == 0 and metrics["wellposed"] is False and check["wellposed"] is False
    assert check["twin"]["twin_margin"] < 0.1


def test_progress_bar_reports_loss_grad_norm_and_ssim(tmp_path: Path) -> None:
    config, _, _ = parse_args(TINY)
    stream = io.StringIO()
    study_run.run_study(config, tmp_path / "a", RunOptions(progress=True), stream=stream)
    lines = stream.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("loss " in x and "val " in x and "|g| " in x and "amp SSIM" in x for x in lines)
    quiet = io.StringIO()
    study_run.run_study(config, tmp_path / "b", RunOptions(progress=False), stream=quiet)
    assert quiet.getvalue() == ""


@pytest.mark.filterwarnings("ignore::impl.study.run.IllPosedWarning")  # tiny N
def test_phase_scores_with_a_phase_object(tmp_path: Path) -> None:
    code, metrics, history = run(tmp_path, *ARMS["control"], "--set-phi", "--epochs", "1")
    assert code == 0 and isinstance(metrics["phase_ssim"], float)
    assert -1.0 <= metrics["phase_ssim"] <= 1.0 and history[0]["phase_ssim"] is not None


def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    """RUN-011: SIGTERM during training -> outputs written, interrupted, exit 143."""
    out = tmp_path / "run"
    argv = [*TINY, "--epochs", "500", "--output-dir", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "impl.runner", *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if read(out)[1]:  # an epoch is on disk: training is under way
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    metrics, history = read(out)
    assert proc.returncode == 143, err
    assert metrics["status"] == "interrupted" and metrics["interrupt_signal"] == "SIGTERM"
    assert 1 <= len(history) < 500 and (out / "model.pt").exists()
    assert "SIGTERM: stopping" in err


def test_import_impl_does_not_import_the_study() -> None:
    code = (
        "import sys, impl; bad = [m for m in sys.modules if m.startswith(('impl.study', "
        "'matplotlib', 'impl.runner', 'impl.compare'))]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_gridsize_2_trains_with_the_overlap_constraint(tmp_path: Path) -> None:
    """RUN-012: groups of 2 x 2 patches, merged before the forward model, train and are scored."""
    code, metrics, history = run(tmp_path, "--gridsize", "2", "--epochs", "1")
    config = spec.load_config(tmp_path / "config.json")
    assert code == 0 and config.model.gridsize == 2 and config.group_extent == 20
    assert math.isfinite(metrics["amp_ssim"]) and len(history) == 1
    with np.load(tmp_path / "reconstruction.npz") as rec:
        assert rec["amplitude"].shape == (1, 24, 24)  # every patch of every group stitched
