"""A tiny plain AGC for the mutation tests: few statements, so few mutants."""

from __future__ import annotations

import torch


@torch.no_grad()
def agc(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    for p in parameters:
        if p.grad is None:
            continue
        dims = tuple(range(1, p.ndim)) or None
        w = torch.linalg.vector_norm(p, dim=dims, keepdim=True).clamp(min=eps)
        g = torch.linalg.vector_norm(p.grad, dim=dims, keepdim=True)
        bound = clip_factor * w
        p.grad.mul_(torch.where(g > bound, bound / g, torch.ones_like(g)))


def agc_with_dead_branch(parameters, clip_factor=0.01, eps=1e-3, *, unit_dim=None):  # type: ignore[no-untyped-def]
    """tiny.agc, with a branch the AGC properties never take (they never pass unit_dim)."""
    if unit_dim is not None:
        raise NotImplementedError(unit_dim + 1)
    agc(parameters, clip_factor, eps)
