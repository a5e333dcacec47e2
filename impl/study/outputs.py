"""What a run writes: the metrics record, the reconstruction arrays, the files.

>>> from impl.study.outputs import status_of
>>> status_of(failure=None, interrupted=False, finished=True)
'completed'
>>> status_of(failure="non-finite loss at epoch 1, step 2", interrupted=False, finished=True)
'failed'

Files (``--output-dir``; :data:`impl.study.rundir.RUN_FILES`): ``config.json`` and a
``metrics.json`` with ``status: "running"`` before any data are drawn; then
``wellposedness.json`` and ``probe.npy``; after every epoch ``history.json`` and
``metrics.json`` (the best and latest values so far, still ``running``); at the end
``metrics.json`` (``completed``, ``failed`` or ``interrupted``), ``history.json``,
``reconstruction.npz`` (the stitched test objects and their truth) and ``model.pt``
(a state_dict), in that order, so that the small records are on disk first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

import spec
from impl.study.evaluate import SCORES, StitchedObject
from impl.study.failures import residual_gain
from impl.study.loop import Evaluation, LoopResult
from impl.study.options import RunOptions
from impl.study.ranks import describe
from impl.study.rundir import RunDirectory, json_safe
from impl.study.setup import RunSetup

__all__ = ["reconstruction_arrays", "run_metrics", "status_of", "write_final", "write_progress"]


def status_of(*, failure: str | None, interrupted: bool, finished: bool) -> str:
    """``failed``, ``interrupted``, ``completed`` or (not finished) ``running``."""
    if failure is not None:
        return "failed"
    if interrupted:
        return "interrupted"
    return "completed" if finished else "running"


def _best(history: list[dict[str, Any]], key: str) -> tuple[float, int | None]:
    values = [(e[key], e["epoch"]) for e in history if e[key] is not None and math.isfinite(e[key])]
    return min(values) if values else (math.nan, None)


def run_metrics(
    config: spec.StudyConfig,
    setup: RunSetup | None,
    loop: LoopResult,
    final: Evaluation | None,
    options: RunOptions,
    *,
    status: str,
    timing: dict[str, Any],
) -> dict[str, Any]:
    """The ``metrics.json`` record of a run (final scores null until there are final weights)."""
    history = loop.history
    best_val, best_epoch = _best(history, "val_loss")
    best_train, _ = _best(history, "train_loss")
    wp = setup.wellposedness if setup is not None else None
    steps = sum(e["steps"] for e in history)
    clipped = sum(e["steps_clipped"] for e in history)
    model = setup.reporting() if setup is not None else None
    scores = final.scores if final is not None else dict.fromkeys(SCORES)
    return {
        "status": status,
        "architecture": config.model.architecture,
        "gradient_clip_algorithm": config.training.gradient_clip_algorithm,
        "gradient_clip_val": config.training.gradient_clip_val,
        "clipping_enabled": config.training.clipping_enabled,
        "seed": config.training.seed,
        "n_parameters": sum(p.numel() for p in model.parameters()) if model else None,
        "epochs_completed": len(history),
        "steps": steps,
        "final_train_loss": history[-1]["train_loss"] if history else math.nan,
        "final_val_loss": final.loss if final is not None else math.nan,
        "best_train_loss": best_train,
        "best_val_loss": best_val,
        "best_epoch": best_epoch,
        "noise_floor": wp["twin"]["truth_loss"] if wp else None,
        **scores,
        "scored_on": "the held-out test objects, stitched from every test pattern (README)",
        "wellposed": wp["wellposed"] if wp else None,
        "steps_clipped": clipped,
        "clip_fraction": (
            sum(e["clip_fraction"] * e["steps"] for e in history) / steps if steps else None
        ),
        "failed": loop.failure is not None,
        "failure_reason": loop.failure,
        "interrupted": loop.interrupt is not None,
        "interrupt_signal": loop.interrupt.signal_name if loop.interrupt else None,
        "identity_pinned": loop.pinned,
        "stable_gain_final": residual_gain(model) if model else None,
        "warnings": loop.warnings,
        "distributed": describe(setup.ranks) if setup is not None else None,
        "thresholds": {
            "explode_grad_norm": options.explode_grad_norm,
            "pin_threshold": options.pin_threshold,
            "pin_epochs": options.pin_epochs,
        },
        **timing,
    }


def reconstruction_arrays(stitched: list[StitchedObject]) -> dict[str, np.ndarray]:
    """The stitched test objects as arrays stacked over objects (for ``reconstruction.npz``)."""
    keys = ("amplitude", "phase", "true_amplitude", "true_phase")
    arrays = {k: torch.stack([s[k] for s in stitched]).numpy() for k in keys}
    arrays["region"] = stitched[0]["region"].numpy()
    return arrays


def write_progress(run: RunDirectory, loop: LoopResult, metrics: dict[str, Any]) -> None:
    """After an epoch: the history and the metrics so far."""
    run.write_json("history.json", {"epochs": loop.history})
    run.write_json("metrics.json", metrics)


def write_final(
    run: RunDirectory,
    loop: LoopResult,
    metrics: dict[str, Any],
    final: Evaluation | None,
    setup: RunSetup | None,
) -> None:
    """The last records, small files first; failures are collected in ``run.errors``."""
    run.write_json("metrics.json", metrics)
    run.write_json("history.json", {"epochs": json_safe(loop.history)})
    if final is not None:
        run.write_npz("reconstruction.npz", reconstruction_arrays(final.stitched))
    model = setup.reporting() if setup is not None else None
    if model is not None:
        run.write_torch("model.pt", model.state_dict())
