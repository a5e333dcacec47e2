"""Float64 copies, unit norms and dtype tolerances shared by the gradient-clipping properties.

>>> import torch
>>> from conformance.properties._numeric import as64, unit_rows
>>> unit_rows(as64(torch.ones(2, 3))).shape
(2, 3)

The tolerances here say how far a result may be; :mod:`conformance.properties._assertions`
compares and words the violation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "Array",
    "as64",
    "atol",
    "band",
    "dtype_of",
    "grads64",
    "ratios",
    "row_norms",
    "rtol",
    "slack",
    "unit_rows",
]

Array = npt.NDArray[Any]

_RTOL = {
    torch.float16: 2e-3,
    torch.bfloat16: 1.6e-2,
    torch.float32: 1e-5,
    torch.complex64: 1e-5,
    torch.float64: 1e-10,
    torch.complex128: 1e-10,
}
_SUBNORMAL = {
    torch.float16: 2.0**-24,
    torch.bfloat16: 2.0**-133,
    torch.float32: 2.0**-149,
    torch.complex64: 2.0**-149,
    torch.float64: 5e-324,
    torch.complex128: 5e-324,
}


def rtol(dtype: torch.dtype) -> float:
    """Relative tolerance for a result rounded to ``dtype`` (norms accumulated in >= float32)."""
    return _RTOL.get(dtype, 1e-5)


def atol(dtype: torch.dtype) -> float:
    """Absolute slack for results that round into the subnormal range of ``dtype``."""
    return 2 * _SUBNORMAL.get(dtype, 2.0**-149)


_HALF = {torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8}
"""Unit roundoff of the half dtypes, where a computation in the working dtype rounds."""
_WIDE_PLAN = {torch.float64: 1e-6, torch.complex128: 1e-6}
"""Plan-tier relative slack for float64: an argument held in float32 (an eps tensor, say) or a
norm accumulated in float32 rounds at ~1e-7; that is no deviation from the rule (a 1 % slack
on the bound is 1e4 times larger). AGC-032 (strict) asks for 1e-10."""


def band(dtype: torch.dtype, tier: str = "plan") -> float:
    """Half-width of the band |ratio - 1| < band where a unit may go either way: norm rounding
    (for float16 / bfloat16 at plan tier, that of a computation in the working dtype)."""
    if dtype in _HALF and tier == "plan":
        return 8 * _HALF[dtype]
    return 1e-9 if dtype in (torch.float64, torch.complex128) else 1e-4


def slack(old: Array, want: Array, dtype: torch.dtype, tier: str = "plan") -> Array:
    """Per entry, how far a clipped gradient may be from the float64 ``want`` (``old``: the
    gradient before): the rounding of ``dtype`` (norms accumulated in float32 or wider), or,
    for float16 / bfloat16 at plan tier, that of a computation in the working dtype — norms,
    bound and factor rounded there, the factor possibly subnormal."""
    if dtype in _HALF and tier == "plan":
        u, tiny = _HALF[dtype], _SUBNORMAL[dtype]
        return np.asarray(8 * u * np.abs(want) + 2 * tiny * np.abs(old) + 2 * tiny)
    relative = rtol(dtype)
    if dtype in _WIDE_PLAN and tier == "plan":
        relative = _WIDE_PLAN[dtype]
    return np.asarray(relative * np.abs(want) + atol(dtype))


def dtype_of(t: torch.Tensor) -> torch.dtype:
    return t.dtype


def as64(t: torch.Tensor) -> Array:
    """A float64 (complex128 for complex) NumPy copy of ``t``."""
    wide = torch.complex128 if t.is_complex() else torch.float64
    return np.array(t.detach().cpu().resolve_conj().to(wide).numpy(), copy=True)


def grads64(params: Sequence[torch.Tensor]) -> list[Array | None]:
    return [None if p.grad is None else as64(p.grad) for p in params]


def unit_rows(array: Array) -> Array:
    """One row per unit under the default axes: dim-0 slices for rank >= 2, else the whole."""
    if array.ndim <= 1:
        return array.reshape(1, -1)
    return array.reshape(array.shape[0], -1)


def row_norms(rows: Array) -> Array:
    """Euclidean norm of each row, scaled so that it overflows only if the norm itself does."""
    magnitude = np.abs(rows)
    largest = magnitude.max(axis=1, initial=0.0) if rows.shape[1] else np.zeros(rows.shape[0])
    safe = np.where((largest > 0) & np.isfinite(largest), largest, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(safe * np.sqrt(np.sum((magnitude / safe[:, None]) ** 2, axis=1)))


def ratios(weight: Array, grad: Array, clip_factor: float, eps: float) -> tuple[Array, Array]:
    """Per unit: (||G_i|| / bound_i, bound_i) with bound_i = clip_factor * max(||W_i||, eps)."""
    w_norm = row_norms(unit_rows(weight))
    g_norm = row_norms(unit_rows(grad))
    bound = clip_factor * np.maximum(w_norm, eps)
    return g_norm / bound, bound
