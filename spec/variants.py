"""Known variants of adaptive gradient clipping, as float64 references beside the plan's rule.

>>> import numpy as np
>>> from spec.variants import PLAN, behaviour, variant_reference
>>> w, g = [np.zeros((1, 2))], [np.array([[1.01e-5, 0.0]])]   # one zero-weight unit
>>> issue = behaviour("per_tensor", "bound_eps_added", "scale_eps_added")
>>> issue.describe()
'per-tensor norms; bound λ·(‖W‖ + ε); scale T / (‖G‖ + ε)'
>>> new, _ = variant_reference(w, g, 0.01, 1e-3, PLAN)      # the plan: norm λ·ε = 1e-5
>>> float(new[0][0, 0])
1e-05
>>> new, _ = variant_reference(w, g, 0.01, 1e-3, issue)     # ε added: about 1e-7
>>> f"{float(new[0][0, 0]):.2g}"
'1e-07'

Every deviation from the plan found in public AGCs so far is one of a handful of formulas,
each on one *axis* of the rule ``if c(‖G_i‖) > T_i: G_i <- G_i · s`` with
``T_i = λ · floor(‖W_i‖)``:

- ``units``: how a tensor splits into units (the axes a norm runs over);
- ``grad_norm``: the gradient norm the comparison and the scale use;
- ``bound``: the floor on the weight norm (``max(‖W‖, ε)`` in the plan);
- ``scale``: the factor a clipped unit is multiplied by (``T / ‖G‖`` in the plan);
- ``comparison``: which units are clipped (``‖G‖ > T`` in the plan);
- ``precision``: the dtype the norms are accumulated in.

:data:`CATALOGUE` holds the deviations (:class:`Variant`: a name, its axis, the phrase a
report uses, a one-line description, where it was seen, and its formula); :data:`PLAN_RULE`
the plan's choice on each axis. A :class:`Behaviour` picks one choice per axis, so variants
combine (per-tensor norms *and* ε added to both norms); :func:`variant_reference` computes
what a behaviour does, in float64, one unit per row, sharing no code with any torch
implementation. The catalogue is data: a deviation found by the public matrix is one more
entry. ``conformance.diagnose`` fits a target's gradients against these behaviours.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from spec.reference import _row_norms
from spec.vocabulary import HALF_DTYPES

__all__ = [
    "AXES",
    "CATALOGUE",
    "GRAD_FLOOR",
    "PLAN",
    "PLAN_RULE",
    "Behaviour",
    "Variant",
    "behaviour",
    "behaviours",
    "variant",
    "variant_reference",
]

Array = npt.NDArray[Any]

AXES: tuple[str, ...] = ("units", "grad_norm", "bound", "scale", "comparison", "precision")
"""The axes of the rule a variant may deviate on, in the order a report names them."""

GRAD_FLOOR = 1e-6
"""The floor public AGCs put on ‖G‖ (timm, the NFNets reference code, optax, ...)."""

_HALF = HALF_DTYPES


@dataclass(frozen=True)
class Variant:
    """One choice on one axis of the rule: the plan's, or a deviation seen in the wild.

    ``formula`` by axis: ``units(ndim) -> axes the norm runs over``; ``grad_norm(‖G‖)``;
    ``bound(‖W‖, ε) -> floor`` (``T = λ·floor``); ``scale(T, ‖G‖, ε) -> factor``;
    ``comparison(‖G‖, T) -> clipped?``; ``precision(rows, dtype name) -> row norms``.
    """

    name: str
    axis: str
    label: str
    """The phrase a report uses, e.g. ``per-tensor norms``."""
    description: str
    seen_in: str
    """Where it was seen (a library and version, a field note, an issue)."""
    formula: Callable[..., Any]

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(f"variant {self.name!r}: axis {self.axis!r} is not one of {AXES}")


# --- formulas ---------------------------------------------------------------------------------


def _all_axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim))


def _but(ndim: int, kept: int) -> tuple[int, ...]:
    """Every axis but ``kept`` (rank <= 1: the whole tensor is one unit)."""
    if ndim <= 1:
        return _all_axes(ndim)
    return tuple(d for d in range(ndim) if d != kept % ndim)


def _plan_units(ndim: int) -> tuple[int, ...]:
    return _but(ndim, 0)


def _dim1_units(ndim: int) -> tuple[int, ...]:
    return _but(ndim, 1)


def _last_axis_units(ndim: int) -> tuple[int, ...]:
    return _but(ndim, -1)


def _jax_rank23_units(ndim: int) -> tuple[int, ...]:
    return (0,) if ndim in (2, 3) else _plan_units(ndim)


def _rank3_dim1_units(ndim: int) -> tuple[int, ...]:
    return (1,) if ndim == 3 else _plan_units(ndim)


def _same(norm: Array) -> Array:
    return norm


def _floored(norm: Array) -> Array:
    return np.where(norm < GRAD_FLOOR, GRAD_FLOOR, norm)  # NaN stays NaN


def _max_eps(w_norm: Array, eps: float) -> Array:
    return np.where(w_norm < eps, eps, w_norm)  # NaN stays NaN


def _plus_eps(w_norm: Array, eps: float) -> Array:
    return w_norm + eps


def _no_eps(w_norm: Array, eps: float) -> Array:
    return w_norm


def _divide(bound: Array, g_norm: Array, eps: float) -> Array:
    return bound / g_norm


def _divide_floored(bound: Array, g_norm: Array, eps: float) -> Array:
    return bound / _floored(g_norm)


def _divide_plus_eps(bound: Array, g_norm: Array, eps: float) -> Array:
    return bound / (g_norm + eps)


def _above(g_norm: Array, bound: Array) -> Array:
    return np.asarray(g_norm > bound)


def _not_below(g_norm: Array, bound: Array) -> Array:
    return np.asarray(~(g_norm < bound))


def _wide_norms(rows: Array, dtype: str | None) -> Array:
    return _row_norms(rows)


def _round(values: Array, dtype: str) -> Array:
    """``values`` rounded to float16 or bfloat16 (to nearest even), back in float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == "float16":
            return np.asarray(values, dtype=np.float64).astype(np.float16).astype(np.float64)
        single = np.asarray(values, dtype=np.float64).astype(np.float32)
    bits = single.view(np.uint32).astype(np.uint64)
    rounded = (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16).astype(np.uint32)
    out = rounded.view(np.float32).astype(np.float64)
    return np.where(np.isnan(single), np.nan, out)


def _half_norms(rows: Array, dtype: str | None) -> Array:
    """Each square and the sum rounded to the half dtype: a float16 norm above ~256 is inf."""
    if dtype not in _HALF:
        return _row_norms(rows)
    magnitudes = np.abs(rows).astype(np.float64)
    squares = _round(magnitudes * magnitudes, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        total = _round(np.sum(squares, axis=1), dtype)
    return _round(np.sqrt(total), dtype)


_PLAN_SOURCE = "the plan (Brock et al. 2021, Algorithm 2; spec.reference.agc_reference)"

PLAN_RULE: tuple[Variant, ...] = (
    Variant("per_unit", "units", "per-unit norms", "rank >= 2: one unit per dim-0 slice; "
            "rank <= 1: the whole tensor", _PLAN_SOURCE, _plan_units),
    Variant("grad_norm", "grad_norm", "‖G‖", "the gradient norm as it is", _PLAN_SOURCE, _same),
    Variant("bound_max_eps", "bound", "bound λ·max(‖W‖, ε)", "the weight norm floored at eps",
            _PLAN_SOURCE, _max_eps),
    Variant("scale_plain", "scale", "scale T / ‖G‖", "a clipped unit lands on its bound",
            _PLAN_SOURCE, _divide),
    Variant("clip_above", "comparison", "clip where ‖G‖ > T", "strict; a NaN norm is left alone",
            _PLAN_SOURCE, _above),
    Variant("wide_norms", "precision", "norms in float32 or wider",
            "norms accumulated in float32 or wider for every dtype", _PLAN_SOURCE, _wide_norms),
)  # fmt: skip
"""The plan's choice on each axis, in :data:`AXES` order."""

CATALOGUE: tuple[Variant, ...] = (
    Variant("per_tensor", "units", "per-tensor norms",
            "one norm over the whole tensor, whatever its rank",
            "the upstream ptychography code's adaptive_gradient_clip_ (field notes); "
            "issue 18's example", _all_axes),
    Variant("units_dim1", "units", "units along dim 1",
            "rank >= 2: one unit per dim-1 slice (a transposed conv's output axis) for every "
            "tensor", "the (in, out, ...) layout of transposed convs and upstream spectral "
            "weights taken for every tensor (field notes)", _dim1_units),
    Variant("units_last_axis", "units", "units along the last axis",
            "rank >= 2: one unit per slice of the last axis (a JAX layout's output axis)",
            "optax's output-axis-last layouts applied to PyTorch-layout tensors (field notes)",
            _last_axis_units),
    Variant("jax_rank23", "units", "rank-2 and rank-3 norms over dim 0 only",
            "rank 2 and 3: the norm runs over dim 0 (per input column); rank >= 4 as the plan",
            "nfnets-pytorch 0.1.3 unitwise_norm (field notes)", _jax_rank23_units),
    Variant("rank3_dim1", "units", "rank-3 norms over dim 1 only",
            "rank 3: the norm runs over dim 1 only (one unit per (dim 0, dim 2) pair)",
            "pytorch-optimizer 4.1.0 unit_norm (dim 1 for 2-D and 3-D tensors)",
            _rank3_dim1_units),
    Variant("grad_floor_compared", "grad_norm", "‖G‖ floored at 1e-6 before the comparison",
            "max(‖G‖, 1e-6) is compared with T and divided by: a tiny gradient over a tinier "
            "bound is clipped", "pytorch-optimizer 4.1.0 agc (grad_norm.clamp_min_(1e-6))",
            _floored),
    Variant("bound_eps_added", "bound", "bound λ·(‖W‖ + ε)", "eps added to the weight norm "
            "instead of flooring it", "issue 18's example (a per-tensor AGC)", _plus_eps),
    Variant("bound_no_eps", "bound", "bound λ·‖W‖ (no ε)",
            "no floor: a zero weight unit gets a zero bound", "Composer (mosaicml 0.32.1)",
            _no_eps),
    Variant("scale_grad_floor", "scale", "scale T / max(‖G‖, 1e-6)",
            "the gradient norm floored at 1e-6 in the division only: bounds below 1e-6 "
            "overshoot", "timm 1.0.31, the NFNets reference code, nfnets-pytorch 0.1.3, "
            "optax 0.2.8 (field notes)", _divide_floored),
    Variant("scale_eps_added", "scale", "scale T / (‖G‖ + ε)",
            "eps added to the gradient norm: clipped units land below their bound",
            "issue 18's example (a per-tensor AGC)", _divide_plus_eps),
    Variant("clip_unless_below", "comparison", "clip unless ‖G‖ < T",
            "non-strict: units at the bound and units whose norm is NaN are clipped (NaN "
            "spreads over the unit)", "timm 1.0.31 and optax 0.2.8 (where(‖G‖ < T, G, "
            "clipped))", _not_below),
    Variant("half_norms", "precision", "norms accumulated in half precision",
            "float16 / bfloat16: squares summed in the gradient's dtype (a float16 norm "
            "above ~256 is inf)", "nfnets-pytorch 0.1.3 and optax 0.2.8 (float16 overflows, "
            "field notes)", _half_norms),
)  # fmt: skip
"""Every deviation seen so far, one :class:`Variant` each (grows as new ones are found)."""


def variant(name: str) -> Variant:
    """The catalogue's (or the plan's) variant called ``name``.

    >>> variant("bound_no_eps").label
    'bound λ·‖W‖ (no ε)'
    """
    for v in (*CATALOGUE, *PLAN_RULE):
        if v.name == name:
            return v
    known = ", ".join(v.name for v in CATALOGUE)
    raise ValueError(f"no AGC variant named {name!r}; the catalogue has: {known}")


@dataclass(frozen=True)
class Behaviour:
    """One choice per axis (:data:`AXES` order): what an implementation computes."""

    choices: tuple[Variant, ...]

    def __post_init__(self) -> None:
        axes = tuple(v.axis for v in self.choices)
        if axes != AXES:
            raise ValueError(f"a behaviour needs one choice per axis {AXES}, got {axes}")

    def on(self, axis: str) -> Variant:
        """The choice on ``axis``."""
        return self.choices[AXES.index(axis)]

    @property
    def deviations(self) -> tuple[Variant, ...]:
        """The choices that are not the plan's."""
        return tuple(v for v, plan in zip(self.choices, PLAN_RULE, strict=True) if v != plan)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.deviations)

    def describe(self) -> str:
        """The deviations' phrases, ``; ``-separated (the plan: ``the plan's rule``)."""
        return "; ".join(v.label for v in self.deviations) or "the plan's rule"


PLAN = Behaviour(PLAN_RULE)
"""The plan's rule: :func:`variant_reference` with it is :func:`spec.reference.agc_reference`."""


def behaviour(*names: str) -> Behaviour:
    """The plan with the named deviations (at most one per axis).

    >>> behaviour("per_tensor", "bound_no_eps").names
    ('per_tensor', 'bound_no_eps')
    """
    choices = list(PLAN_RULE)
    taken: dict[str, str] = {}
    for name in names:
        v = variant(name)
        if v.axis in taken:
            raise ValueError(
                f"variants {taken[v.axis]!r} and {name!r} are both on the {v.axis} axis: "
                "a behaviour takes one choice per axis"
            )
        taken[v.axis] = name
        choices[AXES.index(v.axis)] = v
    return Behaviour(tuple(choices))


def behaviours() -> tuple[Behaviour, ...]:
    """Every combination of the plan's and the catalogue's choices, fewest deviations first
    (then in catalogue order).

    >>> every = behaviours()
    >>> every[0] == PLAN, every[1].names
    (True, ('per_tensor',))
    """
    options = [[plan, *(v for v in CATALOGUE if v.axis == plan.axis)] for plan in PLAN_RULE]
    order = {v.name: i for i, v in enumerate(CATALOGUE)}
    found = [Behaviour(tuple(c)) for c in itertools.product(*options)]
    return tuple(
        sorted(found, key=lambda b: (len(b.deviations), [order[v.name] for v in b.deviations]))
    )


def _as_float64(values: Any) -> Array:
    array = np.asarray(values)
    return array.astype(np.complex128 if np.iscomplexobj(array) else np.float64)


def variant_reference(
    weights: Sequence[Any],
    grads: Sequence[Any | None],
    clip_factor: float,
    eps: float,
    rule: Behaviour,
    dtypes: Sequence[str | None] | None = None,
) -> tuple[list[Array | None], list[Array | None]]:
    """What ``rule`` does to the gradients, in float64 (complex128), one unit per row.

    For each parameter, units as ``rule``'s ``units`` choice says; per unit
    ``c = grad_norm(‖G_i‖)``, ``T = clip_factor · bound(‖W_i‖, eps)``; where
    ``comparison(c, T)``, ``G_i <- G_i · scale(T, c, eps)``. ``dtypes[k]`` names parameter
    ``k``'s dtype (only the ``precision`` axis reads it). Returns ``(new_grads, ratios)``:
    the new gradients and, per parameter, ``c / T`` of each entry's unit (an array of the
    gradient's shape), None where the gradient is None.
    """
    if not clip_factor > 0 or not math.isfinite(clip_factor):
        raise ValueError(f"clip_factor must be finite and > 0, got {clip_factor!r}")
    if not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")
    if len(weights) != len(grads):
        raise ValueError(f"{len(weights)} weights but {len(grads)} gradients")
    names: Sequence[str | None] = [None] * len(weights) if dtypes is None else dtypes
    if len(names) != len(weights):
        raise ValueError(f"{len(weights)} weights but {len(names)} dtypes")
    new_grads: list[Array | None] = []
    ratios: list[Array | None] = []
    for weight, grad, dtype in zip(weights, grads, names, strict=True):
        if grad is None:
            new_grads.append(None)
            ratios.append(None)
            continue
        w, g = _as_float64(weight), _as_float64(grad)
        if w.shape != g.shape:
            raise ValueError(f"weight shape {w.shape} differs from gradient shape {g.shape}")
        if g.size == 0:
            new_grads.append(g.copy())
            ratios.append(np.zeros(g.shape))
            continue
        reduced = tuple(rule.on("units").formula(g.ndim))
        kept = tuple(d for d in range(g.ndim) if d not in reduced)
        order = (*kept, *reduced)
        moved = g.transpose(order).shape
        count = math.prod(g.shape[d] for d in kept)
        w_rows = w.transpose(order).reshape(count, -1)
        g_rows = g.transpose(order).reshape(count, -1).copy()
        norms = rule.on("precision").formula
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            compared = rule.on("grad_norm").formula(norms(g_rows, dtype))
            bound = clip_factor * rule.on("bound").formula(norms(w_rows, dtype), eps)
            clipped = rule.on("comparison").formula(compared, bound)
            factor = rule.on("scale").formula(bound, compared, eps)
            g_rows = np.where(clipped[:, None], g_rows * factor[:, None], g_rows)
            ratio = np.broadcast_to((compared / bound)[:, None], g_rows.shape)
        inverse = np.argsort(order)
        new_grads.append(g_rows.reshape(moved).transpose(inverse))
        ratios.append(np.array(ratio).reshape(moved).transpose(inverse))
    return new_grads, ratios
