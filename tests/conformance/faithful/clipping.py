"""The plan's dispatch (Task 1.3) and training step, as a plain loop would write them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import torch
from faithful.agc import adaptive_gradient_clip_


def clip_gradients_(
    parameters: Iterable[torch.Tensor], algorithm: str, value: float | None
) -> None:
    """Task 1.3's code: if/elif on the algorithm, nothing for any other name."""
    params = list(parameters)
    if value is not None and value > 0:
        if algorithm == "norm":
            torch.nn.utils.clip_grad_norm_(params, value)
        elif algorithm == "value":
            torch.nn.utils.clip_grad_value_(params, value)
        elif algorithm == "agc":
            adaptive_gradient_clip_(params, clip_factor=value)


def training_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Sequence[Any],
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    config: Any,
    *,
    scaler: Any = None,
) -> SimpleNamespace:
    """Accumulate the mean gradient, unscale, clip as configured, step, clear; the loss only."""
    k = len(micro_batches)
    total = 0.0
    for batch in micro_batches:
        loss = loss_fn(model, batch) / k
        (scaler.scale(loss) if scaler is not None else loss).backward()
        total += float(loss.detach())
    if scaler is not None:
        scaler.unscale_(optimizer)
    clip_gradients_(model.parameters(), config.gradient_clip_algorithm, config.gradient_clip_val)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad()
    return SimpleNamespace(loss=total)
