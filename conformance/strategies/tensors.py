"""Strategies for gradient clipping: parameters with gradients, as rebuildable example objects.

>>> from hypothesis import given, settings
>>> from conformance.strategies.tensors import agc_cases
>>> @settings(max_examples=5)
... @given(agc_cases())
... def check(case):
...     params = case.make_params()
...     assert len(params) == len(case.params)
>>> check()

An :class:`AGCCase` holds plain Python values (nested lists from ``.tolist()``,
a dtype name, a layout flag), so its ``repr`` is Python that rebuilds the exact
case after ``from conformance.strategies import *``; :meth:`AGCCase.make_params`
builds fresh leaf tensors with their ``.grad`` each time it is called.

The cases are made to separate correct from almost-correct clipping: every
unit of a tensor gets its own decade of magnitude (so one norm per tensor and
one norm per unit disagree), units of all-zero weights or gradients are
common, magnitudes run from tiny to huge within each dtype's safe range, clip
factors and eps span decades, gradients may be None, transposed or strided
views, and parameters come as a list, tuple, one-shot generator or single
tensor. Everything shrinks toward one small float32 tensor of modest values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
from hypothesis import strategies as st

__all__ = [
    "CLIP_ALGORITHMS",
    "DTYPES",
    "AGCCase",
    "BadAGCArgument",
    "ClipCase",
    "LocalityCase",
    "ParamCase",
    "agc_cases",
    "bad_agc_arguments",
    "clip_cases",
    "locality_cases",
    "param_cases",
    "unknown_algorithm_cases",
]

DTYPES: tuple[str, ...] = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")
"""Gradient dtypes the AGC clauses cover (AGC-015), simplest first."""

CLIP_ALGORITHMS: tuple[str, ...] = ("norm", "value", "agc")

Layout = Literal["contiguous", "transposed", "strided"]
Container = Literal["list", "tuple", "generator", "tensor"]

_EXPONENTS: dict[str, tuple[int, int]] = {
    # decades of magnitude per unit: wide, but squares of a unit stay finite in float32 / float64
    "float16": (-3, 3),
    "bfloat16": (-8, 8),
    "float32": (-12, 12),
    "complex64": (-12, 12),
    "float64": (-30, 30),
    "complex128": (-30, 30),
}
_MAX_SIDE = {0: 1, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2}
_CLIP_FACTORS = (0.01, 0.1, 1.0, 0.001, 0.05, 0.5, 2.0, 1e-4, 10.0)
_EPS = (1e-3, 1e-6, 1e-2, 0.1, 1e-8, 1.0)
_FILL = 7.0
"""Value of the gaps of a strided gradient's buffer (must never change)."""


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

    def weight_tensor(self) -> torch.Tensor:
        """A fresh tensor of the weight values."""
        return torch.tensor(self.weight, dtype=self.torch_dtype)

    def grad_tensor(self) -> torch.Tensor | None:
        """A fresh gradient tensor in this case's layout (a view for 'transposed'/'strided')."""
        if self.grad is None:
            return None
        values = torch.tensor(self.grad, dtype=self.torch_dtype)
        if self.layout == "transposed" and values.ndim >= 2:
            order = tuple(reversed(range(values.ndim)))
            return values.permute(order).contiguous().permute(order)
        if self.layout == "strided" and values.ndim >= 1:
            shape = (*values.shape[:-1], 2 * values.shape[-1])
            base = torch.full(shape, _FILL, dtype=self.torch_dtype)
            base[..., ::2] = values
            return base[..., ::2]
        return values

    def make(self) -> torch.Tensor:
        """A fresh leaf parameter with ``.grad`` set."""
        param = torch.nn.Parameter(self.weight_tensor())
        param.grad = self.grad_tensor()
        return param

    @property
    def ndim(self) -> int:
        return len(torch.tensor(self.weight).shape)


@dataclass(frozen=True)
class AGCCase:
    """Parameters with gradients, clip arguments, and how the parameters are passed."""

    params: tuple[ParamCase, ...]
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

    def with_params(self, params: Sequence[ParamCase]) -> AGCCase:
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
    """A case and one argument (``clip_factor`` or ``eps``) replaced by an invalid value."""

    case: AGCCase
    name: Literal["clip_factor", "eps"]
    value: float

    def __repr__(self) -> str:
        return f"BadAGCArgument(case={self.case!r}, name={self.name!r}, value={_py(self.value)})"

    def kwargs(self) -> dict[str, float]:
        values = {"clip_factor": self.case.clip_factor, "eps": self.case.eps}
        values[self.name] = self.value
        return values


@dataclass(frozen=True)
class ClipCase:
    """A call of the clipping dispatch: ``fn(parameters, algorithm, value)``."""

    case: AGCCase
    algorithm: str
    value: float | None


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
    return float(10.0 ** draw(st.integers(lo, hi), label=f"{what} decade"))


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
) -> ParamCase:
    """One parameter whose units (dim-0 slices; the whole tensor at rank <= 1) differ wildly.

    With ``nonfinite=True`` one to three gradient entries become NaN, inf or -inf.
    """
    dtype = draw(st.sampled_from(list(dtypes)), label="dtype")
    rank = draw(st.integers(min_rank, max_rank), label="rank")
    shape = [draw(st.integers(1, _MAX_SIDE[rank]), label="side") for _ in range(rank)]
    n_units = shape[0] if rank >= 2 else 1
    unit_size = math.prod(shape) // n_units
    is_complex = dtype.startswith("complex")
    weight: list[Any] = []
    grad: list[Any] = []
    for _ in range(n_units):
        weight += _values(draw, unit_size, _unit_scale(draw, dtype, "weight"), is_complex)
        grad += _values(draw, unit_size, _unit_scale(draw, dtype, "grad"), is_complex)
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
    containers: Sequence[Container] = ("list", "generator", "tuple", "tensor"),
    nonfinite: bool = False,
) -> AGCCase:
    """Parameters with gradients plus clip_factor, eps and a container (see the module doc)."""
    count = draw(st.integers(min_params, max_params), label="parameters")
    params = [
        draw(
            param_cases(
                dtypes,
                min_rank=min_rank,
                max_rank=max_rank,
                none_grads=none_grads,
                layouts=layouts,
                nonfinite=nonfinite and i == 0,
            )
        )
        for i in range(count)
    ]
    choices = [c for c in containers if c != "tensor" or count == 1]
    return AGCCase(
        params=tuple(params),
        clip_factor=draw(st.sampled_from(_CLIP_FACTORS), label="clip_factor"),
        eps=draw(st.sampled_from(_EPS), label="eps"),
        container=draw(st.sampled_from(choices), label="container"),
    )


@st.composite
def locality_cases(draw: st.DrawFn, dtypes: Sequence[str] = DTYPES) -> LocalityCase:
    """A case with a rank >= 2 parameter and one of its units to rescale (clause AGC-008)."""
    case = draw(agc_cases(dtypes, min_rank=2, max_rank=4, none_grads=False, max_params=3))
    param = draw(st.integers(0, len(case.params) - 1), label="param")
    units = len(case.params[param].weight)
    unit = draw(st.integers(0, units - 1), label="unit")
    factor = draw(st.sampled_from([1000.0, 0.001, 0.0, 16.0, -1.0]), label="factor")
    return LocalityCase(case=case, param=param, unit=unit, factor=factor)


@st.composite
def bad_agc_arguments(draw: st.DrawFn) -> BadAGCArgument:
    """A small case and clip_factor or eps set to 0, a negative number, NaN or +-inf."""
    case = draw(agc_cases(("float32",), max_params=2, max_rank=2, none_grads=False))
    name: Literal["clip_factor", "eps"] = draw(st.sampled_from(["clip_factor", "eps"]))
    value = draw(st.sampled_from([0.0, -1.0, -1e-3, math.nan, math.inf, -math.inf, -0.0]))
    return BadAGCArgument(case=case, name=name, value=value)


@st.composite
def clip_cases(
    draw: st.DrawFn,
    algorithms: Sequence[str] = CLIP_ALGORITHMS,
    dtypes: Sequence[str] = DTYPES,
    *,
    values: st.SearchStrategy[float | None] | None = None,
) -> ClipCase:
    """A dispatch call with an allowed algorithm; by default a value > 0."""
    case = draw(agc_cases(dtypes, max_params=3, max_rank=3))
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
