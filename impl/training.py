"""One optimisation step driven by the Torch-side training config (plan task 1.3).

>>> import spec, torch
>>> from impl.training import training_step
>>> torch.manual_seed(0) and None
>>> model = torch.nn.Linear(3, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> cfg = spec.TorchTrainingConfig(
...     accumulate_grad_batches=2, gradient_clip_algorithm="agc", gradient_clip_val=0.01
... )
>>> batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(2)]
>>> def mse(model, batch):
...     x, y = batch
...     return torch.nn.functional.mse_loss(model(x), y)
>>> out = training_step(model, opt, batches, mse, cfg)
>>> bool(out.finite), int(out.units_clipped) >= 0, model.weight.grad is None
(True, True, True)

The step (clauses TRN-001 to TRN-008): discard old gradients; for each of the
``k = config.accumulate_grad_batches`` micro-batches, backpropagate
``loss_fn(model, batch) / k`` (through ``scaler.scale`` when a GradScaler is
given); unscale (``scaler.unscale_``) *before* clipping, so clipping sees true
gradients; clip with :func:`impl.clipping.clip_gradients_` as the config says;
step (``scaler.step`` + ``scaler.update``, or ``optimizer.step``); clear the
gradients (``set_to_none=True``). Nothing in it reads a tensor on the host; a
GradScaler's own ``step`` does (it must know whether to skip).

Under ``DistributedDataParallel`` (or FSDP2) the first k-1 micro-batches run with
gradient synchronisation off (:func:`impl.distributed.gradient_sync_off`), so the
gradients are reduced across ranks once per step, in the last backward pass, and
clipped after it (TRN-009): each rank passing its share of the global batch takes
the step one process takes on the whole batch. The loss reported is this rank's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from impl.agc import agc_unit_dims
from impl.clipping import clip_gradients_
from impl.distributed import gradient_sync_off, syncs_gradients
from spec.config import TFTrainingConfig, TorchTrainingConfig

__all__ = ["LossFn", "StepResult", "training_step"]

LossFn = Callable[[nn.Module, Any], Tensor]
"""``loss_fn(model, batch) -> scalar loss tensor`` (run autocast inside it if wanted)."""


@dataclass(frozen=True)
class StepResult:
    """Statistics of one step, as 0-dim tensors (read them when you choose to sync)."""

    loss: Tensor
    """Mean of the micro-batch losses (detached, unscaled)."""
    grad_norm_before: Tensor
    """Global L2 norm of the accumulated, unscaled gradients before clipping."""
    grad_norm_after: Tensor
    """Global L2 norm after clipping."""
    units_clipped: Tensor
    """What the dispatch clipped (see :class:`impl.clipping.ClipResult`)."""
    finite: Tensor
    """True when the gradients were finite (a GradScaler then took the step)."""


_SCALER_METHODS = ("scale", "unscale_", "step", "update")


def _validate(
    model: object,
    optimizer: object,
    batches: list[Any],
    loss_fn: object,
    config: object,
    scaler: object,
) -> int:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(model, batch), got {loss_fn!r}")
    if isinstance(config, TFTrainingConfig):
        raise TypeError(
            "config is a TF-side TFTrainingConfig: training_step needs the Torch-side "
            "spec.TorchTrainingConfig (convert with spec.to_torch(config))"
        )
    if not isinstance(config, TorchTrainingConfig):
        raise TypeError(f"config must be a spec.TorchTrainingConfig, got {type(config).__name__}")
    if scaler is not None and not all(callable(getattr(scaler, m, None)) for m in _SCALER_METHODS):
        raise TypeError(
            f"scaler must be a torch.amp.GradScaler (or None), got {type(scaler).__name__}"
        )
    k = config.accumulate_grad_batches
    if len(batches) != k:  # TRN-006
        raise ValueError(
            f"got {len(batches)} micro-batches but config.accumulate_grad_batches={k}: "
            f"pass exactly {k} micro-batch{'es' if k != 1 else ''} per step"
        )
    return k


def training_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Iterable[Any],
    loss_fn: LossFn,
    config: TorchTrainingConfig,
    *,
    scaler: Any = None,
) -> StepResult:
    """One optimisation step over ``config.accumulate_grad_batches`` micro-batches.

    Args:
        model: the module; its declared AGC unit axes are used when clipping with 'agc'.
        optimizer: steps (a subset of) ``model``'s parameters; its parameters are the
            ones clipped and counted in the gradient norms.
        micro_batches: exactly ``config.accumulate_grad_batches`` batches (any
            objects ``loss_fn`` understands); a list, tuple or one-shot iterable.
        loss_fn: ``loss_fn(model, batch)`` returns a scalar loss (mean over the batch;
            equal-sized micro-batches then make the step equal one big batch).
        config: the Torch-side config: ``accumulate_grad_batches``,
            ``gradient_clip_algorithm``, ``gradient_clip_val`` are used.
        scaler: an optional ``torch.amp.GradScaler``.

    Returns:
        :class:`StepResult` of 0-dim tensors. Gradients are cleared afterwards
        (``.grad`` is None), both on the optimizer's and on the model's parameters.

    Raises:
        TypeError: wrong argument types (a TF-side config included).
        ValueError: the number of micro-batches differs from accumulate_grad_batches.
    """
    batches = list(micro_batches)
    k = _validate(model, optimizer, batches, loss_fn, config, scaler)
    optimizer.zero_grad(set_to_none=True)
    model.zero_grad(set_to_none=True)
    total: Tensor | None = None
    syncing = syncs_gradients(model)
    for index, batch in enumerate(batches):
        # TRN-009: under DDP / FSDP only the last micro-batch's backward reduces gradients
        quiet = syncing and index < k - 1
        with gradient_sync_off(model) if quiet else contextlib.nullcontext():
            loss = loss_fn(model, batch)
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
                raise ValueError(
                    f"loss_fn must return a scalar tensor; micro-batch {index} gave {shape}"
                )
            scaled = loss / k  # TRN-002: k micro-batch means average to the big-batch mean
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
        piece = loss.detach().reshape(())
        total = piece if total is None else total + piece
    assert total is not None  # k >= 1 by the config contract
    if scaler is not None:
        scaler.unscale_(optimizer)  # TRN-001: clip true gradients, never scaled ones
    # TRN-004: clip what the optimizer steps (and the scaler unscaled), with the model's
    # declared AGC unit axes (walked only when AGC will use them).
    params = [p for group in optimizer.param_groups for p in group["params"]]
    dims = agc_unit_dims(model) if config.gradient_clip_algorithm == "agc" else None
    clipped = clip_gradients_(params, config=config, unit_dim=dims)
    if scaler is not None:
        scaler.step(optimizer)  # skips the step when unscale_ found inf/NaN (TRN-007)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)  # TRN-003
    model.zero_grad(set_to_none=True)
    return StepResult(
        loss=total / k,
        grad_norm_before=clipped.grad_norm_before,
        grad_norm_after=clipped.grad_norm_after,
        units_clipped=clipped.units_clipped,
        finite=torch.isfinite(clipped.grad_norm_before),
    )
