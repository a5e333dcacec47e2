"""The training loop: optimiser steps, per-epoch evaluation on the test objects, records.

>>> from impl.study.loop import BatchPlan
>>> plan = BatchPlan(n_patterns=10, batch_size=3, accumulate=1, seed=0)
>>> plan.steps_per_epoch, [len(micro[0]) for micro in plan.epoch(1)]
(3, [3, 3, 3])

Every step runs :func:`impl.training.training_step` and reads its statistics in
one host sync; a step whose loss or gradient norm is not finite, or whose
gradient norm before clipping is above the explosion threshold, ends training
(:func:`impl.study.failures.step_failure`). After each epoch the model predicts
every test pattern: the validation loss and the stitched amplitude/phase SSIM
(:func:`impl.study.evaluate.score`) go into the epoch's record together with the
gradient norms, what clipping did (``steps_clipped``; ``clip_fraction``, the mean
per step of ``units_clipped / units_total``: the fraction of steps clipped for
'norm', of gradient entries for 'value', of units for 'agc') and the stable blocks'
residual gain. ``on_epoch`` is called with the history after every epoch (the
runner writes it out). A KeyboardInterrupt (Ctrl-C, or SIGTERM through
:mod:`impl.study.interrupts`) ends the loop; the unfinished epoch is dropped.

:class:`BatchPlan` decides which patterns each step sees; under torchrun
(:mod:`impl.study.ranks`) each rank takes its share of every micro-batch, the loss is
averaged over the ranks after each step, and rank 0 alone evaluates.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import torch
from torch import Tensor

from impl.study.evaluate import StitchedObject, score
from impl.study.failures import IdentityPinnedWarning, PinningMonitor, residual_gain, step_failure
from impl.study.interrupts import Interrupted
from impl.study.losses import Share
from impl.study.options import RunOptions
from impl.study.setup import RunSetup
from impl.training import training_step

__all__ = ["BatchPlan", "Evaluation", "LoopResult", "evaluate", "train_loop"]


@dataclass(frozen=True)
class BatchPlan:
    """Which training patterns each optimiser step sees, epoch by epoch (seeded)."""

    n_patterns: int
    batch_size: int
    accumulate: int
    seed: int

    @property
    def steps_per_epoch(self) -> int:
        return self.n_patterns // (self.batch_size * self.accumulate)

    def epoch(self, epoch: int) -> Iterator[list[Tensor]]:
        """Index tensors of the micro-batches of each step of ``epoch`` (1-based)."""
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(self.n_patterns, generator=gen)
        b, k = self.batch_size, self.accumulate
        for step in range(self.steps_per_epoch):
            yield [order[(step * k + j) * b : (step * k + j + 1) * b] for j in range(k)]


@dataclass
class Evaluation:
    """The model on the test patterns: loss, scores and the stitched objects."""

    loss: float
    scores: dict[str, Any]
    stitched: list[StitchedObject]


def evaluate(setup: RunSetup, batch: int) -> Evaluation:
    """Predict every test pattern; validation loss and stitched scores (of
    :meth:`~impl.study.setup.RunSetup.reporting`'s model: under torchrun, rank 0's copy)."""
    model, loss_fn, data = setup.reporting(), setup.loss, setup.data
    if model is None:
        raise RuntimeError("evaluate: under torchrun only rank 0 evaluates (after refresh())")
    model.eval()
    total, parts = 0.0, []
    with torch.no_grad():
        for start in range(0, len(data.test), batch):
            inputs = data.test.inputs[start : start + batch].to(setup.device)
            prediction = model(inputs / loss_fn.input_norm)
            total += float(loss_fn.value(prediction, inputs)) * inputs.shape[0]
            parts.append(loss_fn.patches(prediction).cpu())
    model.train()
    scores, stitched = score(torch.cat(parts), data)
    return Evaluation(total / len(data.test), scores, stitched)


class _Progress:
    """A one-line progress bar on a stream (redrawn in place on a terminal)."""

    def __init__(self, stream: TextIO, enabled: bool, epoch: int, epochs: int, steps: int) -> None:
        self.stream, self.enabled = stream, enabled
        self.tty = enabled and getattr(stream, "isatty", lambda: False)()
        self.prefix, self.steps = f"epoch {epoch}/{epochs}", steps

    def _bar(self, done: int) -> str:
        filled = round(20 * done / max(self.steps, 1))
        return f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{self.steps}"

    def update(self, done: int, loss: float, grad_norm: float) -> None:
        if self.tty:
            self.stream.write(
                f"\r{self.prefix} {self._bar(done)} loss {loss:.4g} |g| {grad_norm:.3g}"
            )
            self.stream.flush()

    def close(self, done: int, summary: str) -> None:
        if self.enabled:
            cr = "\r" if self.tty else ""
            self.stream.write(f"{cr}{self.prefix} {self._bar(done)} {summary}\n")
            self.stream.flush()


@dataclass
class LoopResult:
    """What the loop measured."""

    history: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    interrupt: Interrupted | None = None
    warnings: list[str] = field(default_factory=list)
    pinned: bool = False
    steps: int = 0


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _epoch_record(
    epoch: int, stats: list[list[float]], units_total: int, nonfinite: int
) -> dict[str, Any]:
    loss, before, after, units = ([row[c] for row in stats] for c in range(4))
    return {
        "epoch": epoch,
        "steps": len(stats),
        "train_loss": _mean(loss),
        "grad_norm_before": _mean(before),
        "grad_norm_before_max": max(before, default=math.nan),
        "grad_norm_after": _mean(after),
        "units_clipped": sum(units),
        "units_total": units_total,
        "steps_clipped": sum(u > 0 for u in units),
        "clip_fraction": _mean([u / units_total for u in units]),
        "nonfinite_events": nonfinite,
    }


def _run_epoch(
    setup: RunSetup, plan: BatchPlan, epoch: int, options: RunOptions, progress: _Progress
) -> tuple[list[list[float]], str | None]:
    stats: list[list[float]] = []
    inputs, cfg = setup.data.train.inputs, setup.config.training
    ranks = setup.ranks
    for step, micro in enumerate(plan.epoch(epoch), start=1):
        batches: list[Any] = [inputs[i].to(setup.device) for i in micro]
        if ranks is not None:  # each rank its share, normalised as the whole micro-batch
            batches = [Share(ranks.share(b), setup.loss.scale(b)) for b in batches]
        result = training_step(setup.model, setup.optimizer, batches, setup.loss, cfg)
        loss, stop = result.loss, None
        if ranks is not None:  # the global batch's loss; every rank stops after the same step
            loss, stop = ranks.agree(loss)
        values = torch.stack(
            [
                loss.float(),
                result.grad_norm_before.float(),
                result.grad_norm_after.float(),
                result.units_clipped.float(),
            ]
        ).tolist()  # one host sync per step
        if stop is not None:
            raise stop
        stats.append(values)
        progress.update(step, values[0], values[1])
        failure = step_failure(
            values[0], values[1], epoch=epoch, step=step, explode=options.explode_grad_norm
        )
        if failure:
            return stats, failure
    return stats, None


def train_loop(
    setup: RunSetup,
    options: RunOptions,
    stream: TextIO,
    on_epoch: Callable[[LoopResult], None] | None = None,
) -> LoopResult:
    """Train for ``config.training.epochs`` epochs (or until a failure or an interrupt)."""
    cfg = setup.config.training
    plan = BatchPlan(len(setup.data.train), cfg.batch_size, cfg.accumulate_grad_batches, cfg.seed)
    monitor = PinningMonitor(options.pin_threshold, options.pin_epochs)
    out = LoopResult()
    try:
        for epoch in range(1, cfg.epochs + 1):
            started, cpu = time.perf_counter(), time.process_time()
            progress = _Progress(stream, options.progress, epoch, cfg.epochs, plan.steps_per_epoch)
            stats, out.failure = _run_epoch(setup, plan, epoch, options, progress)
            out.steps += len(stats)
            nonfinite = int(out.failure is not None and "non-finite" in out.failure)
            record = _epoch_record(epoch, stats, setup.units_total, nonfinite)
            scores: dict[str, Any] = {"amp_ssim": None, "phase_ssim": None}
            record["val_loss"] = math.nan
            setup.refresh()  # under torchrun: rank 0's plain copy of the weights
            model = setup.reporting()
            if out.failure is None and model is not None:
                ev = evaluate(setup, cfg.batch_size)
                record["val_loss"], scores = ev.loss, ev.scores
            gain = residual_gain(model) if model is not None else None
            record.update(
                amp_ssim=scores["amp_ssim"],
                phase_ssim=scores["phase_ssim"],
                stable_gain=gain,
                seconds=time.perf_counter() - started,
                cpu_seconds=time.process_time() - cpu,
            )
            out.history.append(record)
            ssim = record["amp_ssim"]
            progress.close(
                len(stats),
                f"loss {record['train_loss']:.4g} val {record['val_loss']:.4g} "
                f"|g| {record['grad_norm_before']:.3g}"
                + (f" amp SSIM {ssim:.3f}" if ssim is not None else "")
                + (f" gain {gain:.3g}" if gain is not None else ""),
            )
            message = monitor.update(gain)
            if message:
                out.pinned = True
                out.warnings.append(message)
                warnings.warn(message, IdentityPinnedWarning, stacklevel=2)
            if on_epoch is not None:
                on_epoch(out)
            if out.failure is not None:
                break
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: keep what was measured
        out.interrupt = exc if isinstance(exc, Interrupted) else Interrupted()
        stream.write(f"\n{out.interrupt.signal_name}: stopping, writing what was measured\n")
    return out
