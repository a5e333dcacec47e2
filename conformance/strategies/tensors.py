"""Strategies for gradient clipping: parameters with gradients, as rebuildable example objects.

>>> from hypothesis import given, settings
>>> from conformance.strategies.tensors import agc_cases
>>> @settings(max_examples=5)
... @given(agc_cases())
... def check(case):
...     params = case.make_params()
...     assert len(params) == len(case.params)
>>> check()

An :class:`AGCCase` holds plain Python values (nested lists from ``.tolist()``, a dtype
name, a layout flag) or, for large tensors, a :class:`SeededParam` generated from a seed,
so its ``repr`` is Python that rebuilds the exact case after ``from conformance.strategies
import *``; :meth:`AGCCase.make_params` builds fresh leaf tensors with their ``.grad``
each time it is called.

The cases are made to separate correct from almost-correct clipping: every unit of a
tensor gets its own decade of magnitude (so one norm per tensor and one norm per unit
disagree), units of all-zero weights or gradients are common, units are put at ratios
1 + delta and 1 - delta of their bound (delta from 2e-4 to 5e-2, both sides in one
tensor), magnitudes reach into each dtype's subnormal range and towards its overflow,
clip factors and eps span decades, gradients may be None, transposed or strided views,
and parameters come as a list, tuple, one-shot generator or single tensor.
:data:`LARGE_CASES` hold tensors of 2**17 elements beside small ones (larger than every
size threshold of the bundled implementation), run as explicit examples. Everything
shrinks toward one small float32 tensor of modest values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
from hypothesis import strategies as st

from conformance.domain import DTYPES, Domain
from spec.vocabulary import CLIP_ALGORITHMS, FULL_DTYPES

__all__ = [
    "CLIP_ALGORITHMS",
    "DTYPES",
    "HUGE_CASES",
    "LARGE_CASES",
    "LARGE_HIGH_RANK",
    "AGCCase",
    "BadAGCArgument",
    "ClipCase",
    "LocalityCase",
    "ParamCase",
    "SeededParam",
    "agc_cases",
    "as_rank2",
    "bad_agc_arguments",
    "clip_cases",
    "lift_small_weights",
    "locality_cases",
    "param_cases",
    "plan_band",
    "unknown_algorithm_cases",
]

REAL: tuple[str, ...] = FULL_DTYPES
"""The plain dtypes every core property draws from (float32, float64)."""

Layout = Literal["contiguous", "transposed", "strided"]
Container = Literal["list", "tuple", "generator", "tensor"]
Bounds = Literal["plan", "tiny"]

_EXPONENTS: dict[str, tuple[int, int]] = {
    # decades of magnitude per unit: into the subnormal range, towards overflow, but the
    # squares of a unit stay finite in the dtype a norm is accumulated in (float32 / float64)
    "float16": (-7, 3),
    "bfloat16": (-30, 15),
    "float32": (-18, 17),
    "complex64": (-18, 17),
    "float64": (-60, 60),
    "complex128": (-60, 60),
}
_MAX_SIDE = {0: 1, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2}
_CLIP_FACTORS = (0.01, 0.1, 1.0, 0.001, 0.05, 0.5, 2.0, 1e-4, 10.0)
_EPS = (1e-3, 1e-6, 1e-2, 0.1, 1e-8, 1.0)
_FLOOR = 1e-6
"""Plan-tier bounds clip_factor * eps are at least this (AGC-033 draws below it)."""
_FILL = 7.0
"""Value of the gaps of a strided gradient's buffer (must never change)."""
_UNIT_ROUNDOFF = {"float16": 2.0**-11, "bfloat16": 2.0**-8}


def plan_band(dtype: str) -> float:
    """Half-width of the band around ratio 1 where a unit may go either way at plan tier.

    Norms taken in float32 / float64 round at 1e-7 / 1e-16: a band of 1e-4 / 1e-9 is ample.
    For float16 and bfloat16 a computation in the working dtype rounds the norms, the bound
    and the comparison at its unit roundoff: 8 of them.
    """
    if dtype in _UNIT_ROUNDOFF:
        return 8 * _UNIT_ROUNDOFF[dtype]
    return 1e-9 if dtype in ("float64", "complex128") else 1e-4


def _py(value: Any) -> str:
    """Python source for nested lists of floats / complex numbers, non-finite values included."""
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, complex):
        return f"complex({_py(value.real)}, {_py(value.imag)})"
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "float('nan')"
        return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype name {name!r}; known: {DTYPES}")
    return dtype


def _layout(values: torch.Tensor, layout: str) -> torch.Tensor:
    """``values`` as a fresh gradient in ``layout`` (a view for 'transposed' / 'strided')."""
    if layout == "transposed" and values.ndim >= 2:
        order = tuple(reversed(range(values.ndim)))
        return values.permute(order).contiguous().permute(order)
    if layout == "strided" and values.ndim >= 1:
        shape = (*values.shape[:-1], 2 * values.shape[-1])
        base = torch.full(shape, _FILL, dtype=values.dtype)
        base[..., ::2] = values
        return base[..., ::2]
    return values


@dataclass(frozen=True, repr=False)
class ParamCase:
    """One parameter: weight values, gradient values (or None), dtype name, gradient layout."""

    weight: Any
    grad: Any | None
    dtype: str = "float32"
    layout: Layout = "contiguous"

    def __repr__(self) -> str:
        return (
            f"ParamCase(weight={_py(self.weight)}, grad={_py(self.grad)}, "
            f"dtype={self.dtype!r}, layout={self.layout!r})"
        )

    @property
    def torch_dtype(self) -> torch.dtype:
        return _dtype(self.dtype)

    @property
    def has_grad(self) -> bool:
        return self.grad is not None

    def weight_tensor(self) -> torch.Tensor:
        """A fresh tensor of the weight values."""
        return torch.tensor(self.weight, dtype=self.torch_dtype)

    def grad_values(self) -> torch.Tensor | None:
        """A fresh contiguous tensor of the gradient values (None: no gradient)."""
        return None if self.grad is None else torch.tensor(self.grad, dtype=self.torch_dtype)

    def grad_tensor(self) -> torch.Tensor | None:
        """A fresh gradient tensor in this case's layout (a view for 'transposed'/'strided')."""
        values = self.grad_values()
        return None if values is None else _layout(values, self.layout)

    def make(self) -> torch.Tensor:
        """A fresh leaf parameter with ``.grad`` set."""
        param = torch.nn.Parameter(self.weight_tensor())
        param.grad = self.grad_tensor()
        return param

    @property
    def ndim(self) -> int:
        return len(torch.tensor(self.weight).shape)

    def with_values(self, weight: torch.Tensor, grad: torch.Tensor | None) -> ParamCase:
        """A contiguous parameter case of the same dtype holding these values."""
        return ParamCase(weight.tolist(), None if grad is None else grad.tolist(), self.dtype)


@dataclass(frozen=True)
class SeededParam:
    """A large parameter generated from a seed: units of their own decades, zero units, and
    units at ratios 1 +- delta of their bound (for ``clip_factor`` and ``eps``).

    >>> p = SeededParam((4, 8), "float32", seed=1, clip_factor=0.01, eps=1e-3)
    >>> p.make().grad.shape
    torch.Size([4, 8])
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    seed: int = 0
    clip_factor: float = 0.01
    eps: float = 1e-3
    layout: Layout = "contiguous"

    @property
    def torch_dtype(self) -> torch.dtype:
        return _dtype(self.dtype)

    @property
    def has_grad(self) -> bool:
        return True

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _values(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, grad) in float64 (computed once per process for each distinct case)."""
        return _seeded_values(self)

    def _draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed)
        units = self.shape[0] if len(self.shape) >= 2 else 1
        size = math.prod(self.shape) // units
        w = torch.randn(units, size, generator=g, dtype=torch.float64)
        d = torch.randn(units, size, generator=g, dtype=torch.float64)
        w = w * 10.0 ** torch.randint(-4, 3, (units, 1), generator=g).double()
        w[:: max(units // 3, 2)] = 0.0  # zero-weight units: the eps guard
        w = w.to(self.torch_dtype).double()
        bound = self.clip_factor * w.norm(dim=1, keepdim=True).clamp(min=self.eps)
        delta = 10.0 ** (-3.7 + 2.4 * torch.rand(units, 1, generator=g, dtype=torch.float64))
        modes = torch.arange(units).remainder(5).view(-1, 1)
        free = 10.0 ** torch.randint(-3, 4, (units, 1), generator=g).double()
        ratio = torch.where(modes == 1, 1 + delta, torch.where(modes == 2, 1 - delta, free))
        grad = d / d.norm(dim=1, keepdim=True) * bound * ratio
        grad[modes.view(-1) == 4] = 0.0  # zero-gradient units
        return w.reshape(self.shape), grad.reshape(self.shape)

    def weight_tensor(self) -> torch.Tensor:
        return self._values()[0].to(self.torch_dtype, copy=True)

    def grad_values(self) -> torch.Tensor:
        return self._values()[1].to(self.torch_dtype, copy=True)

    def grad_tensor(self) -> torch.Tensor:
        return _layout(self.grad_values(), self.layout)

    def make(self) -> torch.Tensor:
        param = torch.nn.Parameter(self.weight_tensor())
        param.grad = _layout(self.grad_values(), self.layout)
        return param

    def with_values(self, weight: torch.Tensor, grad: torch.Tensor | None) -> ParamCase:
        return ParamCase(weight.tolist(), None if grad is None else grad.tolist(), self.dtype)


@functools.lru_cache(maxsize=256)
def _seeded_values(param: SeededParam) -> tuple[torch.Tensor, torch.Tensor]:
    weight, grad = param._draw()
    weight.requires_grad_(False)
    return weight, grad


AnyParam = ParamCase | SeededParam


@dataclass(frozen=True)
class AGCCase:
    """Parameters with gradients, clip arguments, and how the parameters are passed."""

    params: tuple[AnyParam, ...]
    clip_factor: float = 0.01
    eps: float = 1e-3
    container: Container = "list"

    def make_params(self) -> list[torch.Tensor]:
        """Fresh parameters (new tensors on every call)."""
        return [p.make() for p in self.params]

    def wrap(self, params: Sequence[torch.Tensor]) -> Any:
        """``params`` as this case passes them: list, tuple, one-shot generator or one tensor."""
        if self.container == "tensor" and len(params) == 1:
            return params[0]
        if self.container == "tuple":
            return tuple(params)
        if self.container == "generator":
            return (p for p in params)
        return list(params)

    def with_params(self, params: Sequence[AnyParam]) -> AGCCase:
        return replace(self, params=tuple(params))


@dataclass(frozen=True)
class LocalityCase:
    """A case plus one gradient unit to rescale by ``factor`` (unit ``unit`` of ``param``)."""

    case: AGCCase
    param: int
    unit: int
    factor: float


@dataclass(frozen=True, repr=False)
class BadAGCArgument:
    """A case and one argument (``clip_factor`` or ``eps``) replaced by an invalid value: a
    number <= 0, NaN or infinite, or no real number at all (a bool, a string, None)."""

    case: AGCCase
    name: Literal["clip_factor", "eps"]
    value: float | bool | str | None

    def __repr__(self) -> str:
        return f"BadAGCArgument(case={self.case!r}, name={self.name!r}, value={_py(self.value)})"

    @property
    def is_number(self) -> bool:
        """Whether the bad value is a number (a float out of range), not a wrong type."""
        return isinstance(self.value, float)

    def kwargs(self) -> dict[str, Any]:
        values: dict[str, Any] = {"clip_factor": self.case.clip_factor, "eps": self.case.eps}
        values[self.name] = self.value
        return values


@dataclass(frozen=True)
class ClipCase:
    """A call of the clipping dispatch: ``fn(parameters, algorithm, value)``."""

    case: AGCCase
    algorithm: str
    value: float | None


# --- drawing ---------------------------------------------------------------------------------


def _mantissas(draw: st.DrawFn, n: int) -> list[int]:
    """n integers in [-16, 16] from one draw of bytes (fast; shrinks toward zeros)."""
    raw = draw(st.binary(min_size=n, max_size=n), label="mantissas")
    return [v if v <= 16 else v - 33 for v in (b % 33 for b in raw)]


def _values(draw: st.DrawFn, n: int, scale: float, is_complex: bool) -> list[Any]:
    if scale == 0.0:
        return [complex(0.0, 0.0) if is_complex else 0.0] * n
    real = _mantissas(draw, n)
    if not is_complex:
        return [m / 16 * scale for m in real]
    imag = _mantissas(draw, n)
    return [complex(a / 16 * scale, b / 16 * scale) for a, b in zip(real, imag, strict=True)]


def _unit_scale(draw: st.DrawFn, dtype: str, what: str) -> float:
    lo, hi = _EXPONENTS[dtype]
    if draw(st.integers(0, 5), label=f"{what} zero unit?") == 5:
        return 0.0
    return float(10.0 ** draw(st.integers(max(lo, -3), min(hi, 3)) | st.integers(lo, hi)))


def _near_bound(
    draw: st.DrawFn, weight: list[Any], n: int, dtype: str, side: int, bounds: tuple[float, float]
) -> list[Any]:
    """A gradient unit of norm (1 + side * delta) * bound, delta in [2e-4, 5e-2] (wider than the
    dtype's band), for the weight unit as rounded to the dtype."""
    clip_factor, eps = bounds
    low = max(2e-4, 3 * plan_band(dtype))
    high = max(5e-2, 4 * low)
    exponent = draw(st.floats(math.log10(low), math.log10(high)), label="delta decade")
    delta = 10.0**exponent
    is_complex = dtype.startswith("complex")
    wide = torch.complex128 if is_complex else torch.float64
    w = torch.tensor(weight, dtype=_dtype(dtype)).to(wide)
    bound = clip_factor * max(float(torch.linalg.vector_norm(w)), eps)
    direction = torch.tensor(_values(draw, n, 1.0, is_complex), dtype=wide)
    if float(torch.linalg.vector_norm(direction)) == 0.0:
        direction[0] = 1.0
    grad = direction / torch.linalg.vector_norm(direction) * bound * (1 + side * delta)
    return list(grad.tolist())


@st.composite
def param_cases(
    draw: st.DrawFn,
    dtypes: Sequence[str] = DTYPES,
    *,
    min_rank: int = 0,
    max_rank: int = 5,
    none_grads: bool = True,
    layouts: Sequence[Layout] = ("contiguous", "transposed", "strided"),
    nonfinite: bool = False,
    bounds: tuple[float, float] = (0.01, 1e-3),
) -> ParamCase:
    """One parameter whose units (dim-0 slices; the whole tensor at rank <= 1) differ wildly;
    some units sit just above or just below their bound (for ``bounds`` = (clip_factor, eps)).

    With ``nonfinite=True`` one to three gradient entries become NaN, inf or -inf.
    """
    dtype = draw(st.sampled_from(list(dtypes)), label="dtype")
    rank = draw(st.integers(min_rank, max_rank), label="rank")
    shape = [draw(st.integers(1, _MAX_SIDE[rank]), label="side") for _ in range(rank)]
    n_units = shape[0] if rank >= 2 else 1
    unit_size = math.prod(shape) // n_units
    is_complex = dtype.startswith("complex")
    both = n_units >= 2 and draw(st.integers(0, 2), label="both sides?") == 0
    weight: list[Any] = []
    grad: list[Any] = []
    for i in range(n_units):
        w = _values(draw, unit_size, _unit_scale(draw, dtype, "weight"), is_complex)
        mode = (i % 2) + 1 if both and i < 2 else draw(st.integers(0, 4), label="grad mode")
        if mode in (1, 2):  # just above / just below the bound
            g = _near_bound(draw, w, unit_size, dtype, 1 if mode == 1 else -1, bounds)
        else:
            g = _values(draw, unit_size, _unit_scale(draw, dtype, "grad"), is_complex)
        weight += w
        grad += g
    if nonfinite:
        for _ in range(draw(st.integers(1, 3), label="non-finite entries")):
            index = draw(st.integers(0, len(grad) - 1))
            bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
            grad[index] = complex(bad, grad[index].imag) if is_complex else bad
    torch_dtype = _dtype(dtype)
    w_values = torch.tensor(weight, dtype=torch_dtype).reshape(shape).tolist()
    g_values: Any = torch.tensor(grad, dtype=torch_dtype).reshape(shape).tolist()
    if none_grads and not nonfinite and draw(st.integers(0, 7), label="grad None?") == 7:
        g_values = None
    layout = draw(st.sampled_from(list(layouts)), label="layout")
    return ParamCase(weight=w_values, grad=g_values, dtype=dtype, layout=layout)


def _bounds(draw: st.DrawFn, domain: Domain, bounds: Bounds) -> tuple[float, float]:
    """(clip_factor, eps) with clip_factor * eps >= 1e-6 (plan) or below it (tiny)."""
    pairs = [
        (c, e)
        for c in _CLIP_FACTORS
        for e in _EPS
        if domain.allows_clip_factor(c) and ((c * e >= _FLOOR) == (bounds == "plan"))
    ]
    if not pairs:  # a domain whose clip factors are all tiny or all large: its own extremes
        low, high = domain.clip_factor
        factor = min(high, max(low * 2, 1e-2)) if math.isfinite(high) else max(low * 2, 1e-2)
        eps = 1.0 if bounds == "plan" else _FLOOR * 1e-3 / factor
        return factor, eps
    return draw(st.sampled_from(pairs), label="clip_factor, eps")


@st.composite
def agc_cases(
    draw: st.DrawFn,
    dtypes: Sequence[str] = DTYPES,
    *,
    min_params: int = 1,
    max_params: int = 4,
    min_rank: int = 0,
    max_rank: int = 5,
    none_grads: bool = True,
    layouts: Sequence[Layout] = ("contiguous", "transposed", "strided"),
    containers: Sequence[Container] = ("list", "generator", "tuple"),
    nonfinite: bool = False,
    domain: Domain | None = None,
    bounds: Bounds = "plan",
    some_grad: bool = False,
) -> AGCCase:
    """Parameters with gradients plus clip_factor, eps and a container (see the module doc).

    ``domain`` narrows the dtypes, ranks and clip factors; ``bounds`` 'plan' keeps
    clip_factor * eps >= 1e-6, 'tiny' goes below; ``some_grad`` makes the first parameter
    always have a gradient.
    """
    domain = domain or Domain()
    dtypes = domain.only(tuple(dtypes)) or tuple(dtypes)
    max_rank = max(min(max_rank, domain.max_rank), min_rank)
    clip_factor, eps = _bounds(draw, domain, bounds)
    count = draw(st.integers(min_params, max_params), label="parameters")
    params = [
        draw(
            param_cases(
                dtypes,
                min_rank=min_rank,
                max_rank=max_rank,
                none_grads=none_grads and not (some_grad and i == 0),
                layouts=layouts,
                nonfinite=nonfinite and i == 0,
                bounds=(clip_factor, eps),
            )
        )
        for i in range(count)
    ]
    choices = [c for c in containers if c != "tensor" or count == 1]
    return AGCCase(
        params=tuple(params),
        clip_factor=clip_factor,
        eps=eps,
        container=draw(st.sampled_from(choices), label="container"),
    )


def _large(seed: int, dtype: str = "float32") -> AGCCase:
    factor, eps = 0.01, 1e-3
    small = ParamCase([[0.5, -1.0], [0.0, 0.0]], [[3.0, 4.0], [1e-6, 0.0]], dtype)
    return AGCCase(
        params=(
            SeededParam((64, 2048), dtype, seed, factor, eps),
            small,
            SeededParam((1 << 17,), dtype, seed + 1, factor, eps),
        ),
        clip_factor=factor,
        eps=eps,
    )


def lift_small_weights(case: Any) -> AGCCase | None:
    """The case with every weight unit of norm below eps replaced by one of norm just above
    eps: the same bounds and ratios, but no unit takes the eps floor (None if none did).

    >>> c = AGCCase((ParamCase([0.0, 0.0], [1.0, 0.0]),), clip_factor=0.01, eps=1e-3)
    >>> lift_small_weights(c).params[0].weight[0] > 1e-3
    True
    """
    if not isinstance(case, AGCCase):
        return None
    lifted, changed = [], False
    for p in case.params:
        weight = p.weight_tensor()
        wide = torch.complex128 if weight.is_complex() else torch.float64
        rows = weight.to(wide).reshape(weight.shape[0] if weight.ndim >= 2 else 1, -1)
        small = torch.linalg.vector_norm(rows, dim=1) < case.eps
        if not bool(small.any()) or rows.shape[1] == 0:
            lifted.append(p)
            continue
        rows = rows.clone()
        rows[small] = 0
        rows[small, 0] = case.eps * (1 + 1e-5)
        new = rows.reshape(weight.shape).to(weight.dtype)
        grad = p.grad_values()
        values = None if grad is None else grad.tolist()
        lifted.append(ParamCase(new.tolist(), values, p.dtype, p.layout))
        changed = True
    return case.with_params(lifted) if changed else None


def as_rank2(case: Any) -> AGCCase | None:
    """The case with every rank 0 / rank 1 parameter reshaped to (1, n): one unit along dim 0,
    the same unit as before, so the same expected result (None if there was none).

    >>> as_rank2(AGCCase((ParamCase([1.0, 2.0], [3.0, 4.0]),))).params[0].weight
    [[1.0, 2.0]]
    """
    if not isinstance(case, AGCCase) or all(p.ndim >= 2 for p in case.params):
        return None
    out: list[AnyParam] = []
    for p in case.params:
        if p.ndim >= 2:
            out.append(p)
            continue
        weight = p.weight_tensor().reshape(1, -1)
        grad = p.grad_values()
        values = None if grad is None else grad.reshape(1, -1).tolist()
        out.append(ParamCase(weight.tolist(), values, p.dtype, "contiguous"))
    return case.with_params(out)


LARGE_CASES: tuple[AGCCase, ...] = (_large(1),)
"""Explicit examples of every core AGC property: tensors of 2**17 elements beside a small one,
in one call (rank 2 and rank 1), with units on both sides of their bounds."""

HUGE_CASES: tuple[AGCCase, ...] = (
    AGCCase(
        params=(
            SeededParam((1040, 1024), "float32", 7),
            *(SeededParam((128, 128), "float32", 100 + i) for i in range(66)),
        )
    ),
)
"""One call above every size threshold of the bundled implementation: a 1,064,960-element tensor
(more than one 2**20 block of rows) beside 66 tensors of 2**14 elements (1,081,344 together,
more than one 2**20 pack); the reference check runs it."""

LARGE_HIGH_RANK: tuple[AGCCase, ...] = (
    AGCCase(params=(SeededParam((16, 8, 32, 32), "float32", 3, 0.01, 1e-3),)),
)
"""A rank-4 tensor of 2**17 elements, for the high-rank properties."""


@st.composite
def locality_cases(draw: st.DrawFn, domain: Domain | None = None) -> LocalityCase:
    """A case with a rank >= 2 parameter and one of its units to rescale (clause AGC-008)."""
    case = draw(
        agc_cases(REAL, min_rank=2, max_rank=4, none_grads=False, max_params=3, domain=domain)
    )
    param = draw(st.integers(0, len(case.params) - 1), label="param")
    units = len(case.params[param].weight)  # type: ignore[union-attr]
    unit = draw(st.integers(0, units - 1), label="unit")
    factor = draw(st.sampled_from([1000.0, 0.001, 0.0, 16.0, -1.0]), label="factor")
    return LocalityCase(case=case, param=param, unit=unit, factor=factor)


_BAD_ARGUMENTS: tuple[float | bool | str | None, ...] = (
    0.0, -1.0, -1e-3, math.nan, math.inf, -math.inf, -0.0, True, "0.01", None,
)  # fmt: skip


@st.composite
def bad_agc_arguments(draw: st.DrawFn) -> BadAGCArgument:
    """A small case and clip_factor or eps set to 0, a negative number, NaN or +-inf, or to
    what is no real number: True (which Python multiplies as 1), a string, None."""
    case = draw(agc_cases(("float32",), max_params=2, max_rank=2, none_grads=False))
    name: Literal["clip_factor", "eps"] = draw(st.sampled_from(["clip_factor", "eps"]))
    value = draw(st.sampled_from(_BAD_ARGUMENTS))
    return BadAGCArgument(case=case, name=name, value=value)


@st.composite
def clip_cases(
    draw: st.DrawFn,
    algorithms: Sequence[str] = CLIP_ALGORITHMS,
    dtypes: Sequence[str] = DTYPES,
    *,
    values: st.SearchStrategy[float | None] | None = None,
    domain: Domain | None = None,
) -> ClipCase:
    """A dispatch call with an allowed algorithm; by default a value > 0. At least one parameter
    has a gradient (torch's own clip functions, which the plan's dispatch calls, fail on a list
    without any in some torch versions)."""
    case = draw(agc_cases(dtypes, max_params=3, max_rank=3, domain=domain, some_grad=True))
    algorithm = draw(st.sampled_from(list(algorithms)), label="algorithm")
    positive = st.sampled_from([1.0, 0.01, 0.1, 10.0, 1e-4, 1000.0])
    value = draw(positive if values is None else values, label="value")
    return ClipCase(case=case, algorithm=algorithm, value=value)


@st.composite
def unknown_algorithm_cases(draw: st.DrawFn) -> ClipCase:
    """A dispatch call naming an algorithm outside 'norm', 'value', 'agc' (clause AGC-030)."""
    case = draw(agc_cases(("float32",), max_params=2, max_rank=2, none_grads=False))
    near = ["bogus", "NORM", "Agc", "norm ", " value", "", "l2", "adaptive", "clip"]
    algorithm = draw(
        st.one_of(
            st.sampled_from(near),
            st.text(max_size=6).filter(lambda s: s not in CLIP_ALGORITHMS),
        ),
        label="algorithm",
    )
    value = draw(st.sampled_from([1.0, 0.01, None, 0.0, -1.0]), label="value")
    return ClipCase(case=case, algorithm=algorithm, value=value)
