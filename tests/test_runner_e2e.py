"""Tiny end-to-end runs of the study runner: outputs, determinism, failures, Ctrl-C, pinning.

Clauses: RUN-005 (outputs written, config reloads), RUN-006 (failures and Ctrl-C recorded, not
raised), RUN-007 (determinism for a seed), RUN-008 (identity-pinned warning).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import impl
import spec
from impl import runner

TINY = [
    "--N", "16", "--gridsize", "2", "--fno-blocks", "2", "--fno-width", "4", "--fno-modes", "4",
    "--epochs", "2", "--n-train", "8", "--n-val", "4", "--batch-size", "4", "--quiet",
]  # fmt: skip

ARMS = {
    "control": ["--architecture", "hybrid", "--gradient-clip-algorithm", "norm",
                "--grad-clip", "1.0"],
    "arch_fix": ["--architecture", "stable_hybrid", "--grad-clip", "0"],
    "opt_fix": ["--architecture", "hybrid", "--gradient-clip-algorithm", "agc",
                "--grad-clip", "0.01"],
}  # fmt: skip

METRIC_KEYS = {
    "final_train_loss", "final_val_loss", "best_train_loss", "best_val_loss", "amp_ssim",
    "phase_ssim", "amp_mae", "failed", "failure_reason", "interrupted", "identity_pinned",
    "seconds", "epochs_completed",
}  # fmt: skip
EPOCH_KEYS = {
    "epoch", "train_loss", "val_loss", "grad_norm_before", "grad_norm_after", "units_clipped",
    "nonfinite_events", "stable_gain",
}  # fmt: skip


def run(tmp: Path, *flags: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    code = runner.main([*TINY, *flags, "--output-dir", str(tmp)])
    metrics = json.loads((tmp / "metrics.json").read_text())
    history = json.loads((tmp / "history.json").read_text())["epochs"]
    return code, metrics, history


def without_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: without_times(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj


@pytest.mark.parametrize("arm", sorted(ARMS))
def test_each_arm_writes_its_outputs(arm: str, tmp_path: Path) -> None:
    """RUN-005: metrics.json, history.json, config.json (reloads equal) and model.pt (loads)."""
    code, metrics, history = run(tmp_path, *ARMS[arm])
    assert code == 0
    assert set(metrics) >= METRIC_KEYS and not metrics["failed"] and not metrics["interrupted"]
    assert metrics["epochs_completed"] == 2 and len(history) == 2
    assert all(set(e) >= EPOCH_KEYS for e in history)
    for key in ("best_val_loss", "final_val_loss", "amp_ssim", "amp_mae"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["phase_ssim"] is None  # no --set-phi: the true phase is constant
    assert -1.0 <= metrics["amp_ssim"] <= 1.0
    assert metrics["best_val_loss"] == min(e["val_loss"] for e in history)

    config = spec.load_config(tmp_path / "config.json")
    expected, _, _ = runner.parse_args([*TINY, *ARMS[arm]])
    assert config == expected
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    model = impl.build_generator(config.model)
    model.load_state_dict(state)  # strict: same keys and shapes
    assert sum(t.numel() for t in state.values()) == metrics["n_parameters"]

    # flag -> training: each arm's clipping really happened as configured
    if arm == "control":
        assert all(e["grad_norm_after"] <= 1.0 + 1e-4 for e in history)
    if arm == "arch_fix":
        assert all(e["grad_norm_after"] == e["grad_norm_before"] for e in history)
        assert all(e["units_clipped"] == 0 for e in history)
        assert metrics["stable_gain_init"] == 0.0 and history[-1]["stable_gain"] > 0.0
    if arm == "opt_fix":
        assert all(e["units_clipped"] > 0 for e in history)
        assert all(e["grad_norm_after"] < e["grad_norm_before"] for e in history)


def test_same_seed_same_results_other_seed_differs(tmp_path: Path) -> None:
    """RUN-007: two runs with one seed give identical metrics and history (wall times aside)."""
    _, m1, h1 = run(tmp_path / "a", "--architecture", "stable_hybrid", "--seed", "3")
    _, m2, h2 = run(tmp_path / "b", "--architecture", "stable_hybrid", "--seed", "3")
    _, m3, _ = run(tmp_path / "c", "--architecture", "stable_hybrid", "--seed", "4")
    assert without_times(m1) == without_times(m2)
    assert without_times(h1) == without_times(h2)
    assert m1["final_val_loss"] != m3["final_val_loss"]


def test_exploding_gradients_recorded_not_raised(tmp_path: Path) -> None:
    """RUN-006: a gradient norm above --explode-grad-norm stops training and is recorded."""
    code, metrics, history = run(tmp_path, "--explode-grad-norm", "1e-9")
    assert code == 1
    assert (
        metrics["failed"] and "exploding gradients at epoch 1, step 1" in metrics["failure_reason"]
    )
    assert len(history) == 1 and history[0]["steps"] == 1
    assert metrics["amp_ssim"] is None and metrics["final_val_loss"] is None
    assert (tmp_path / "model.pt").exists() and (tmp_path / "config.json").exists()


def test_non_finite_loss_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUN-006: an injected NaN loss at the second step is caught, counted and recorded."""
    real = runner.training_step
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

    monkeypatch.setattr(runner, "training_step", nan_on_second)
    code, metrics, history = run(tmp_path)
    assert code == 1 and metrics["failed"]
    assert metrics["failure_reason"] == "non-finite loss at epoch 1, step 2"
    assert history[0]["nonfinite_events"] == 1 and history[0]["steps"] == 2


def test_huge_learning_rate_does_not_crash(tmp_path: Path) -> None:
    """RUN-006: a diverging run ends with files written whatever happens (failed or not)."""
    code, metrics, _ = run(tmp_path, "--lr", "1e6", "--grad-clip", "0", "--epochs", "2")
    assert code in (0, 1) and metrics["failed"] == (code == 1)
    if metrics["failed"]:
        assert metrics["failure_reason"]


def test_ctrl_c_stops_cleanly_and_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RUN-006: KeyboardInterrupt during training -> outputs written, interrupted, exit 130."""
    real = runner.training_step
    calls = {"n": 0}

    def interrupt_third(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "training_step", interrupt_third)
    code, metrics, history = run(tmp_path)
    assert code == 130 and metrics["interrupted"] and not metrics["failed"]
    assert len(history) == 1 and history[0]["epoch"] == 1  # epoch 1 done, epoch 2 cut short
    assert math.isfinite(metrics["amp_ssim"])  # measured on the weights reached
    assert spec.load_config(tmp_path / "config.json").training.epochs == 2


def test_identity_pinned_warning(tmp_path: Path) -> None:
    """RUN-008: a zero-gamma branch that barely moves (tiny lr) triggers the warning and flag."""
    with pytest.warns(runner.IdentityPinnedWarning, match="pinned near the identity"):
        _, metrics, history = run(
            tmp_path, "--architecture", "stable_hybrid", "--lr", "1e-7", "--pin-epochs", "2"
        )
    assert metrics["identity_pinned"] and metrics["warnings"]
    assert all(0.0 <= e["stable_gain"] < 0.1 for e in history)


@pytest.mark.filterwarnings("error::impl.runner.IdentityPinnedWarning")
def test_no_pinned_warning_when_the_branch_moves_or_there_is_none(tmp_path: Path) -> None:
    """RUN-008: no warning when the gain leaves the threshold, nor for a plain hybrid."""
    _, moving, _ = run(
        tmp_path / "a", "--architecture", "stable_hybrid", "--pin-threshold", "1e-6",
        "--pin-epochs", "1",
    )  # fmt: skip
    _, plain, history = run(tmp_path / "b", "--architecture", "hybrid", "--pin-epochs", "1")
    assert not moving["identity_pinned"] and not plain["identity_pinned"]
    assert all(e["stable_gain"] is None for e in history)


def test_progress_bar_reports_loss_and_grad_norm(tmp_path: Path) -> None:
    config, options, _ = runner.parse_args([*TINY])
    stream = io.StringIO()
    runner.run_study(config, tmp_path, runner.RunOptions(progress=True), stream=stream)
    lines = stream.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all("loss " in line and "val " in line and "|g| " in line for line in lines)
    quiet = io.StringIO()
    runner.run_study(config, tmp_path, options, stream=quiet)
    assert quiet.getvalue() == ""


def test_phase_ssim_reported_only_with_a_phase_object(tmp_path: Path) -> None:
    """RUN-005: with --set-phi the object has a phase, and its SSIM is a finite number."""
    code, metrics, _ = run(tmp_path, *ARMS["control"], "--set-phi")
    assert code == 0
    assert isinstance(metrics["phase_ssim"], float) and -1.0 <= metrics["phase_ssim"] <= 1.0
