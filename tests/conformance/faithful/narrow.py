"""A faithful AGC that supports real float32/float64 gradients of rank <= 3 only, and says so."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from faithful.agc import adaptive_gradient_clip_


def real_agc(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    params = list(parameters)
    for p in params:
        if p.dtype not in (torch.float32, torch.float64) or p.ndim > 3:
            raise TypeError(f"unsupported parameter {p.dtype} of rank {p.ndim}")
    adaptive_gradient_clip_(params, clip_factor, eps)


real_agc.conformance_domain = {"dtypes": ["float32", "float64"], "max_rank": 3}  # type: ignore[attr-defined]


def undeclared_real_agc(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """The same without the declaration."""
    real_agc(parameters, clip_factor, eps)


def badly_declared(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    real_agc(parameters, clip_factor, eps)


badly_declared.conformance_domain = {"dtypes": ["float8"]}  # type: ignore[attr-defined]


def small_factor_agc(
    parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Refuses clip factors above 0.5 (declared)."""
    if clip_factor > 0.5:
        raise ValueError(f"clip_factor {clip_factor} > 0.5 is not supported")
    adaptive_gradient_clip_(parameters, clip_factor, eps)


small_factor_agc.conformance_domain = {"clip_factor": [0, 0.5]}  # type: ignore[attr-defined]
