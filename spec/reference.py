"""Executable float64 references of the numeric clauses, in plain NumPy.

>>> import numpy as np
>>> from spec.reference import agc_reference
>>> w = np.array([[3.0, 4.0], [0.0, 0.0]])        # unit norms 5 and 0
>>> g = np.array([[30.0, 40.0], [1e-3, 0.0]])     # unit norms 50 and 1e-3
>>> new, clipped = agc_reference([w], [g], clip_factor=0.1, eps=1e-3, unit_dims=[None])
>>> new[0].tolist()                                # row 0 -> norm 0.1*5; row 1 -> 0.1*1e-3
[[0.3, 0.4], [0.0001, 0.0]]
>>> clipped[0].tolist()
[True, True]

These are written for clarity, one unit (one row) at a time, and share no code with the
torch implementations they judge (clauses point here through
``Clause.reference``). They take array-likes and return new arrays; nothing is
modified in place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["agc_reference", "agc_unit_axis", "unit_norms"]


def agc_unit_axis(ndim: int, unit_dim: int | None = None) -> int | None:
    """The unit axis AGC uses for a tensor of rank ``ndim`` (clauses AGC-002, AGC-003).

    ``None`` means the whole tensor is one unit: always so for ``ndim <= 1``.
    For ``ndim >= 2`` the default (``unit_dim=None``) is axis 0.

    >>> agc_unit_axis(1), agc_unit_axis(4), agc_unit_axis(4, 1), agc_unit_axis(3, -1)
    (None, 0, 1, 2)
    """
    if ndim <= 1:
        return None
    axis = 0 if unit_dim is None else unit_dim
    if not -ndim <= axis < ndim:
        raise ValueError(f"unit_dim={unit_dim} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def _as_units(array: npt.NDArray[Any], axis: int | None) -> npt.NDArray[Any]:
    """A 2-D copy: one row per unit, holding that unit's entries."""
    if axis is None:
        return array.reshape(1, -1).copy()
    rest = math.prod(array.shape) // array.shape[axis] if array.shape[axis] else 0
    return np.moveaxis(array, axis, 0).reshape(array.shape[axis], rest).copy()


def _from_units(rows: npt.NDArray[Any], shape: tuple[int, ...], axis: int | None) -> Any:
    if axis is None:
        return rows.reshape(shape)
    moved = (shape[axis], *shape[:axis], *shape[axis + 1 :])
    return np.moveaxis(rows.reshape(moved), 0, axis)


def _row_norms(rows: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Euclidean norm of each row, real or complex (modulus), free of overflow for finite input.

    A row is scaled by its largest magnitude before squaring; a row whose
    largest magnitude is 0 or not finite is summed as it is (0, inf or NaN).
    """
    magnitudes = np.abs(rows).astype(np.float64)
    if magnitudes.shape[1] == 0:
        return np.zeros(magnitudes.shape[0], dtype=np.float64)
    largest = np.max(magnitudes, axis=1)
    scalable = np.isfinite(largest) & (largest > 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        plain = np.sqrt(np.sum(magnitudes * magnitudes, axis=1))
        divisor = np.where(scalable, largest, 1.0)
        scaled = magnitudes / divisor[:, None]
        rescaled = divisor * np.sqrt(np.sum(scaled * scaled, axis=1))
    return np.where(scalable, rescaled, plain)


def _as_float64(values: Any) -> npt.NDArray[Any]:
    array = np.asarray(values)
    return array.astype(np.complex128 if np.iscomplexobj(array) else np.float64)


def unit_norms(array: Any, unit_dim: int | None = None) -> npt.NDArray[np.float64]:
    """Per-unit Euclidean norms (modulus for complex) in float64, one per unit.

    >>> unit_norms([[3.0, 4.0], [0.0, 1.0]]).tolist(), unit_norms([3.0, 4.0]).tolist()
    ([5.0, 1.0], [5.0])
    """
    values = _as_float64(array)
    rows = _as_units(values, agc_unit_axis(values.ndim, unit_dim))
    return _row_norms(rows)


def agc_reference(
    weights: Sequence[Any],
    grads: Sequence[Any | None],
    clip_factor: float,
    eps: float,
    unit_dims: Sequence[int | None] | None = None,
) -> tuple[list[npt.NDArray[Any] | None], list[npt.NDArray[np.bool_] | None]]:
    """Unit-wise AGC (Brock et al. 2021, Algorithm 2) in float64, one unit at a time.

    For each parameter ``W`` with gradient ``G`` and each unit ``i`` (the slices
    along the unit axis, see :func:`agc_unit_axis`)::

        bound_i = clip_factor * max(||W_i||, eps)
        if ||G_i|| > bound_i:  G_i <- G_i * bound_i / ||G_i||    (else G_i unchanged)

    Norms are Euclidean over the unit's entries; complex entries count by their
    modulus. ``unit_dims[k]`` is the unit axis of parameter ``k`` (``None``: the
    default, axis 0 for rank >= 2); a tensor of rank <= 1 is always one unit.
    A ``None`` gradient gives ``None`` back. The comparison is taken literally
    under IEEE rules, which fixes the non-finite convention (clause AGC-020): a
    unit whose gradient norm is NaN, or whose bound is NaN, is left unchanged;
    a unit with an infinite gradient norm is multiplied by 0.

    Returns ``(new_grads, clipped)``: float64 (or complex128) arrays of the
    gradients' shapes, and per parameter a boolean array with one entry per
    unit, True where the unit was rescaled.
    """
    if not clip_factor > 0 or not math.isfinite(clip_factor):
        raise ValueError(f"clip_factor must be finite and > 0, got {clip_factor!r}")
    if not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    if len(weights) != len(grads):
        raise ValueError(f"{len(weights)} weights but {len(grads)} gradients")
    dims: Sequence[int | None] = [None] * len(weights) if unit_dims is None else unit_dims
    if len(dims) != len(weights):
        raise ValueError(f"{len(weights)} weights but {len(dims)} unit_dims")

    new_grads: list[npt.NDArray[Any] | None] = []
    masks: list[npt.NDArray[np.bool_] | None] = []
    for weight, grad, unit_dim in zip(weights, grads, dims, strict=True):
        if grad is None:
            new_grads.append(None)
            masks.append(None)
            continue
        w = _as_float64(weight)
        g = _as_float64(grad)
        if w.shape != g.shape:
            raise ValueError(f"weight shape {w.shape} differs from gradient shape {g.shape}")
        axis = agc_unit_axis(g.ndim, unit_dim)
        w_rows = _as_units(w, axis)
        g_rows = _as_units(g, axis)
        clipped = np.zeros(g_rows.shape[0], dtype=bool)
        w_norms = _row_norms(w_rows)
        g_norms = _row_norms(g_rows)
        for i in range(g_rows.shape[0]):
            w_norm = float(w_norms[i])
            g_norm = float(g_norms[i])
            floor = eps if w_norm < eps else w_norm  # NaN stays NaN
            bound = clip_factor * floor
            if g_norm > bound:
                with np.errstate(invalid="ignore"):
                    g_rows[i] = g_rows[i] * (bound / g_norm)
                clipped[i] = True
        new_grads.append(np.asarray(_from_units(g_rows, g.shape, axis)))
        masks.append(clipped)
    return new_grads, masks
