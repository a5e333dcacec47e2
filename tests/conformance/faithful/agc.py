"""Two plain AGCs, written from Task 1.2 and Brock et al. 2021, Algorithm 2."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def _dims(t: torch.Tensor) -> tuple[int, ...] | None:
    return tuple(range(1, t.ndim)) if t.ndim > 1 else None


@torch.no_grad()
def adaptive_gradient_clip_(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """The plan's rule, unit-wise, in the gradient's own dtype; no argument checks."""
    for p in parameters:
        if p.grad is None:
            continue
        dims = _dims(p)
        w_norm = torch.linalg.vector_norm(p, dim=dims, keepdim=True)
        g_norm = torch.linalg.vector_norm(p.grad, dim=dims, keepdim=True)
        max_norm = clip_factor * w_norm.clamp(min=eps)
        scale = torch.where(g_norm > max_norm, max_norm / g_norm, torch.ones_like(g_norm))
        p.grad.mul_(scale)


@torch.no_grad()
def paper_code_agc(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """As the paper's reference code: the gradient norm floored at 1e-6 before dividing, and
    the clipped value selected where the norm exceeds the bound."""
    for p in parameters:
        if p.grad is None:
            continue
        dims = _dims(p)
        w_norm = torch.linalg.vector_norm(p, dim=dims, keepdim=True).clamp(min=eps)
        g_norm = torch.linalg.vector_norm(p.grad, dim=dims, keepdim=True)
        max_norm = clip_factor * w_norm
        clipped = p.grad * (max_norm / g_norm.clamp(min=1e-6))
        p.grad.copy_(torch.where(g_norm > max_norm, clipped, p.grad))
