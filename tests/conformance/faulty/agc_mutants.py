"""One-line mutants of the faithful AGC (tests/conformance/faithful/agc.py), each nearly right.

Each differs from :func:`faithful.agc.adaptive_gradient_clip_` in one line, marked
``# mutant``; tests/test_conformance_faithful.py asserts that the quick profile catches every
one on a plan clause its faithful twin passes. The first four are the ones issue 11 found
passing before the boundary strategies: a 1 % / 5 % slack on the bound, a per-tensor norm
only for tensors of >= 4,096 elements, and a bug only in the path for tensors over 32,768.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["MUTANTS"]


def _dims(t: torch.Tensor) -> tuple[int, ...] | None:
    return tuple(range(1, t.ndim)) if t.ndim > 1 else None


@torch.no_grad()
def _agc(
    parameters: Iterable[torch.Tensor],
    clip_factor: float,
    eps: float,
    *,
    slack: float = 1.0,
    per_tensor_from: int | None = None,
    no_eps_from: int | None = None,
    eps_added: bool = False,
    last_axis: bool = False,
    shrink: float = 1.0,
    inf_norm: bool = False,
    real_part: bool = False,
) -> None:
    for p in parameters:
        if p.grad is None:
            continue
        dims = _dims(p)
        if per_tensor_from is not None and p.numel() >= per_tensor_from:
            dims = None  # mutant: one norm per large tensor
        if last_axis and p.ndim > 1:
            dims = tuple(range(p.ndim - 1))  # mutant: units along the last axis
        w_norm = torch.linalg.vector_norm(p, dim=dims, keepdim=True)
        order = float("inf") if inf_norm else 2.0  # mutant when inf_norm
        grad = p.grad.real if real_part and p.grad.is_complex() else p.grad  # mutant
        g_norm = torch.linalg.vector_norm(grad, ord=order, dim=dims, keepdim=True)
        floor = 0.0 if no_eps_from is not None and p.numel() > no_eps_from else eps  # mutant
        bound = w_norm + eps if eps_added else w_norm.clamp(min=floor)  # mutant when eps_added
        max_norm = clip_factor * bound
        over = g_norm > slack * max_norm  # mutant when slack != 1
        scale = torch.where(over, shrink * max_norm / g_norm, torch.ones_like(g_norm))
        p.grad.mul_(scale)


def slack_1pct(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Clips only when ||G|| > 1.01 x bound."""
    _agc(parameters, clip_factor, eps, slack=1.01)


def slack_5pct(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Clips only when ||G|| > 1.05 x bound."""
    _agc(parameters, clip_factor, eps, slack=1.05)


def per_tensor_large(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """One norm per tensor for tensors of >= 4,096 elements (a 'fast path')."""
    _agc(parameters, clip_factor, eps, per_tensor_from=4096)


def large_path_no_eps(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """The eps floor forgotten only in the path for tensors over 32,768 elements."""
    _agc(parameters, clip_factor, eps, no_eps_from=32768)


def eps_added(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Bound clip_factor * (||W|| + eps) instead of clip_factor * max(||W||, eps)."""
    _agc(parameters, clip_factor, eps, eps_added=True)


def last_axis_units(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Units along the last axis (a JAX layout's output axis), not dim 0."""
    _agc(parameters, clip_factor, eps, last_axis=True)


def undershoot(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Clipped units land 0.1 % below their bound."""
    _agc(parameters, clip_factor, eps, shrink=0.999)


def inf_norm_grads(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """The gradient's max-abs entry taken for its norm."""
    _agc(parameters, clip_factor, eps, inf_norm=True)


def real_part_norm(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """For complex gradients, the norm of the real parts only."""
    _agc(parameters, clip_factor, eps, real_part=True)


MUTANTS = (
    slack_1pct,
    slack_5pct,
    per_tensor_large,
    large_path_no_eps,
    eps_added,
    last_axis_units,
    undershoot,
    inf_norm_grads,
    real_part_norm,
)
"""Every mutant, each caught at the quick profile on a plan clause."""


def real_only_last_axis(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """As nfnets-pytorch: units along the wrong axis, and complex gradients refused."""
    params = list(parameters)
    if any(p.is_complex() for p in params):
        raise TypeError("complex parameters are not supported")
    _agc(params, clip_factor, eps, last_axis=True)
