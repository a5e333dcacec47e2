"""An AGC written from the paper that takes each unit's norm with ``p.norm(dim=(1, 2, 3))``.

Used by tests/conformance/test_findings.py. For a rank-4 tensor ``Tensor.norm`` with a
3-tuple ``dim`` goes to ``torch.linalg.matrix_norm``, which refuses it (``RuntimeError:
linalg.matrix_norm: dim must be a 2-tuple``): one line of the target raises on every rank-4
gradient, whatever clause the example was drawn for. It is correct on ranks 0 to 3 and 5.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["agc"]


def _unit_norm(t: torch.Tensor) -> torch.Tensor:
    if t.ndim <= 1:
        return torch.linalg.vector_norm(t, keepdim=True) if t.ndim else t.abs()
    if t.ndim == 4:  # a conv weight (out, in, kh, kw), as in the paper's examples
        return t.norm(dim=(1, 2, 3), keepdim=True)
    return torch.linalg.vector_norm(t, dim=tuple(range(1, t.ndim)), keepdim=True)


def agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Clip each unit's gradient to clip_factor * max(||W_i||, eps), in place."""
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            w_norm = _unit_norm(p).clamp(min=eps)
            g_norm = _unit_norm(p.grad)
            bound = clip_factor * w_norm
            scale = torch.where(g_norm > bound, bound / g_norm, torch.ones_like(g_norm))
            p.grad.mul_(scale.to(p.grad.dtype))
