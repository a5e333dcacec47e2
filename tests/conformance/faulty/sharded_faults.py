"""Faulty sharded clipping: each clips DTensor parameters as many implementations do, one rank at
a time on the local tensors, so that every unit spanning ranks is judged by its local part.

Used by tests/test_conformance_sharded.py to show that the sharded properties (AGC-035,
AGC-036) can fail:

- :func:`local_agc` applies AGC to each rank's local weight and gradient (what timm's and the
  upstream utilities do when handed FSDP2 parameters' local shards);
- :func:`local_norm_clip` is a dispatch whose 'norm' scales by the rank's own gradient norm
  (the rest is correct): every rank ends with a different factor.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["local_agc", "local_norm_clip"]


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if hasattr(t, "to_local") else t  # type: ignore[no-any-return]


def local_agc(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Unit-wise AGC on each rank's local tensors (units along dim 0; rank <= 1: one unit)."""
    with torch.no_grad():
        for p in parameters:
            if p.grad is None:
                continue
            w, g = _local(p).double(), _local(p.grad)
            if not g.numel():
                continue
            dims = tuple(range(1, g.ndim)) if g.ndim >= 2 else None
            w_norm = torch.linalg.vector_norm(w, dim=dims, keepdim=True)
            g_norm = torch.linalg.vector_norm(g.double(), dim=dims, keepdim=True)
            bound = clip_factor * w_norm.clamp_min(eps)
            scale = torch.where(g_norm > bound, bound / g_norm, torch.ones_like(g_norm))
            g.copy_(g.double() * scale)


def local_norm_clip(
    parameters: Iterable[torch.Tensor], algorithm: str | None = None, value: float | None = None
) -> None:
    """The dispatch, with 'norm' taken over this rank's parts only."""
    import impl

    params = list(parameters)
    if algorithm != "norm" or value is None or value <= 0:
        impl.clip_gradients_(params, algorithm, value)
        return
    with torch.no_grad():
        grads = [_local(p.grad) for p in params if p.grad is not None]
        total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        factor = torch.clamp(value / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(factor)
