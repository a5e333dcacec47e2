"""Failure detection (RUN-006) and the identity-pinning monitor (RUN-008).

>>> from impl.study.failures import step_failure, PinningMonitor
>>> step_failure(float("nan"), 1.0, epoch=2, step=5, explode=1e6)
'non-finite loss at epoch 2, step 5'
>>> step_failure(0.1, 3e6, epoch=1, step=1, explode=1e6)[:33]
'exploding gradients at epoch 1, s'
>>> monitor = PinningMonitor(threshold=0.1, epochs=2)
>>> [monitor.update(g) is not None for g in (0.05, 0.02, 0.01)]   # warns once, at the 2nd epoch
[False, True, False]

*Residual gain* of the StablePtychoBlocks: the mean over blocks of ``mean_c |gamma_c
* gate_c|`` (gate = 1 under zero-gamma), the factor on the normalised residual update;
None for a model without such blocks. When it stays below the threshold for the given
number of consecutive epochs, the monitor returns one warning message (and sets
:attr:`PinningMonitor.pinned`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from impl.blocks import StablePtychoBlock

__all__ = ["IdentityPinnedWarning", "PinningMonitor", "residual_gain", "step_failure"]


class IdentityPinnedWarning(RuntimeWarning):
    """A stable block's residual branch stayed near the identity for many epochs (RUN-008)."""


def step_failure(
    loss: float, grad_norm: float, *, epoch: int, step: int, explode: float
) -> str | None:
    """Why a training step failed (non-finite loss or gradient norm, or explosion), else None."""
    if not math.isfinite(loss):
        return f"non-finite loss at epoch {epoch}, step {step}"
    if not math.isfinite(grad_norm):
        return f"non-finite gradient norm at epoch {epoch}, step {step}"
    if grad_norm > explode:
        return (
            f"exploding gradients at epoch {epoch}, step {step}: global norm before clipping "
            f"{grad_norm:.3g} > {explode:.3g}"
        )
    return None


def residual_gain(model: nn.Module) -> float | None:
    """Mean over StablePtychoBlocks of ``mean_c |gamma_c * gate_c|``; None without any.

    >>> import impl
    >>> residual_gain(impl.StablePtychoBlock(4, 2))  # zero-gamma: exactly the identity
    0.0
    >>> residual_gain(impl.PtychoBlock(4, 2)) is None
    True
    """
    gains = []
    for module in model.modules():
        if isinstance(module, StablePtychoBlock):
            gain = module.norm.weight.detach().abs()
            if module.gate is not None:
                gain = gain * module.gate.detach().abs()
            gains.append(gain.float().mean())
    return float(torch.stack(gains).mean()) if gains else None


class PinningMonitor:
    """Counts consecutive epochs with residual gain below ``threshold``."""

    def __init__(self, threshold: float, epochs: int) -> None:
        self.threshold, self.epochs = threshold, epochs
        self.streak = 0
        self.pinned = False

    def update(self, gain: float | None) -> str | None:
        """Record an epoch's gain; the warning message the first time the streak is reached."""
        self.streak = self.streak + 1 if gain is not None and gain < self.threshold else 0
        if self.streak < self.epochs or self.pinned:
            return None
        self.pinned = True
        return (
            f"stable blocks' residual gain stayed below {self.threshold} for {self.streak} "
            f"epochs (now {gain:.3g}): the residual branches are pinned near the identity and "
            "the blocks may not be learning"
        )
