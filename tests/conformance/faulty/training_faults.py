"""Faulty clipping dispatches and training steps, each breaking one AGC-03x / TRN clause.

- :func:`upstream_dispatch` is plan task 1.3's if/elif chain: an unknown algorithm falls
  through without clipping or error (AGC-030).
- :func:`stale_statistics_dispatch` clips right but reports the norm before clipping as the
  norm after it (AGC-038).
- :func:`clip_before_unscale_step` clips the GradScaler's scaled gradients (TRN-001), and
  so, with 'value', turns an overflow finite before ``scaler.step`` unscales (TRN-007).
- :func:`unaveraged_accumulation_step` sums micro-batch gradients without the 1/k (TRN-002).
- :func:`no_zero_grad_step` leaves the gradients in place after the step (TRN-003).
- :func:`no_update_step` skips an overflowed step right but never calls ``scaler.update()``:
  the scale never backs off, so every later step overflows too (TRN-007).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from impl.agc import adaptive_gradient_clip_
from impl.clipping import clip_gradients_
from impl.training import StepResult

__all__ = [
    "clip_before_unscale_step",
    "no_update_step",
    "no_zero_grad_step",
    "stale_statistics_dispatch",
    "unaveraged_accumulation_step",
    "upstream_dispatch",
]


def stale_statistics_dispatch(
    parameters: Iterable[torch.Tensor], algorithm: str, value: Any
) -> Any:
    """The bundled dispatch, whose result says grad_norm_after = grad_norm_before."""
    out = clip_gradients_(parameters, algorithm, value)
    return out._replace(grad_norm_after=out.grad_norm_before)


stale_statistics_dispatch.conformance_domain = {"extensions": ["statistics"]}  # type: ignore[attr-defined]


def upstream_dispatch(parameters: Iterable[torch.Tensor], algorithm: str, value: Any) -> None:
    params = list(parameters)
    if value is not None and value > 0:
        if algorithm == "norm":
            torch.nn.utils.clip_grad_norm_(params, value)
        elif algorithm == "value":
            torch.nn.utils.clip_grad_value_(params, value)
        elif algorithm == "agc":
            adaptive_gradient_clip_(params, clip_factor=value)


def _step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Iterable[Any],
    loss_fn: Any,
    config: Any,
    scaler: Any = None,
    *,
    unscale_first: bool = True,
    average: bool = True,
    zero_after: bool = True,
    update: bool = True,
) -> StepResult:
    batches = list(micro_batches)
    k = config.accumulate_grad_batches
    if len(batches) != k:
        raise ValueError(f"accumulate_grad_batches={k} but {len(batches)} micro-batches")
    optimizer.zero_grad(set_to_none=True)
    total = torch.zeros(())
    for batch in batches:
        loss = loss_fn(model, batch)
        scaled = loss / k if average else loss
        (scaler.scale(scaled) if scaler is not None else scaled).backward()
        total = total + loss.detach()
    if scaler is not None and unscale_first:
        scaler.unscale_(optimizer)
    clipped = clip_gradients_(model, config=config)
    if scaler is not None:
        scaler.step(optimizer)
        if update:
            scaler.update()
    else:
        optimizer.step()
    if zero_after:
        optimizer.zero_grad(set_to_none=True)
    return StepResult(
        total / k,
        clipped.grad_norm_before,
        clipped.grad_norm_after,
        clipped.units_clipped,
        torch.isfinite(clipped.grad_norm_before),
    )


def clip_before_unscale_step(*args: Any, scaler: Any = None) -> StepResult:
    return _step(*args, scaler=scaler, unscale_first=False)


def unaveraged_accumulation_step(*args: Any, scaler: Any = None) -> StepResult:
    return _step(*args, scaler=scaler, average=False)


def no_zero_grad_step(*args: Any, scaler: Any = None) -> StepResult:
    return _step(*args, scaler=scaler, zero_after=False)


def no_update_step(*args: Any, scaler: Any = None) -> StepResult:
    return _step(*args, scaler=scaler, update=False)
