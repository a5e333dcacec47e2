"""Properties of the optional keyword arguments an AGC may accept (AGC-023, AGC-024).

>>> from conformance.properties import PROPERTIES
>>> names = sorted(p.id for p in PROPERTIES if p.home.endswith("agc.extensions"))
>>> print(*names[:3]); print(*names[3:])
agc.bad_unit_axes_rejected agc.error_if_nonfinite agc.module_unit_axes
agc.unit_dim_callable agc.unit_dim_int agc.unit_dim_per_parameter

The plan's call is ``agc(parameters, clip_factor, eps)``; these properties check the
extensions named in :data:`conformance.domain.EXTENSIONS`, and only for a target that
declares them (``conformance_domain = {"extensions": ["error_if_nonfinite", "unit_dim"]}``;
``"module"``: an ``nn.Module`` passed as ``parameters``, with the axes its modules declare):
a target without them is not wrong, its report says ``not_applicable`` and how to declare.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.domain import Domain, NotApplicable
from conformance.framework import Targets, attempt, conformance_property
from conformance.properties._assertions import assert_bitwise, assert_close, assert_rows_close
from conformance.properties._numeric import (
    Array,
    as64,
    band,
    ratios,
    row_norms,
    slack,
    unit_rows,
)
from conformance.properties.agc._acts import call_agc
from conformance.properties.agc._cases import real
from conformance.properties.agc._seen import before, grad_after
from conformance.strategies.tensors import REAL, AGCCase, ParamCase
from spec.reference import agc_reference

__all__: list[str] = []


def _declared(name: str, make: Any) -> Any:
    """A strategy adapter: ``make(domain)`` where the target declares extension ``name``."""

    def strategy(domain: Domain) -> Any:
        if name not in domain.extensions:
            return NotApplicable(
                f"the target does not declare the optional keyword {name!r} (declare it with "
                f'conformance_domain = {{"extensions": ["{name}"]}} to have it checked)'
            )
        return make(domain)

    return strategy


# --- AGC-023: error_if_nonfinite ----------------------------------------------------------------


def _nonfinite_examples(domain: Domain) -> tuple[AGCCase, ...]:
    """A NaN in the second parameter's gradient, an inf in one unit, finite values, and no
    gradient at all: the first parameter must not be touched before the switch raises, and
    nothing to check is no error."""
    dtypes = domain.only(REAL)
    if not dtypes:
        return ()
    dtype = dtypes[0]
    clean = ParamCase(weight=[[1.0, 0.0], [0.0, 1.0]], grad=[[3.0, 4.0], [0.0, 0.5]], dtype=dtype)
    nan = ParamCase(weight=[1.0, 1.0], grad=[float("nan"), 1.0], dtype=dtype)
    inf = ParamCase(weight=[[1.0], [1.0]], grad=[[float("inf")], [0.5]], dtype=dtype)
    bare = ParamCase(weight=[1.0, 2.0], grad=None, dtype=dtype)
    cases = ((clean, nan), (clean, inf), (clean,), (bare,))
    return tuple(AGCCase(params=ps) for ps in cases)


def _act_switch(targets: Targets, case: AGCCase) -> dict[str, Any]:
    params = case.make_params()
    got = attempt(
        targets.agc,
        list(params),
        clip_factor=case.clip_factor,
        eps=case.eps,
        error_if_nonfinite=True,
    )
    plain = case.make_params()
    targets.agc(list(plain), clip_factor=case.clip_factor, eps=case.eps)
    return {
        "raised": got.raised,
        "grads": [p.grad for p in params],
        "plain": [p.grad for p in plain],
    }


def _must_raise(params: list[torch.Tensor], grads: list[Array | None]) -> bool | None:
    """True where a unit's float64 gradient norm is NaN or inf, False where every norm is
    finite and its square too in the accumulation dtype (float32, float64 for float64 and
    complex128 gradients); None (either way) in between: a sum of squares that overflows
    there may read as an infinite norm (as torch's norms do on a GPU), which AGC-023 allows."""
    ambiguous = False
    for p, g in zip(params, grads, strict=True):
        if g is None:
            continue
        norms = row_norms(unit_rows(g))
        if not np.isfinite(norms).all():
            return True
        wide = p.dtype in (torch.float64, torch.complex128)
        limit = np.sqrt(np.finfo(np.float64 if wide else np.float32).max)
        ambiguous = ambiguous or bool((norms > limit / 2).any())
    return None if ambiguous else False


@conformance_property(
    "AGC-023",
    roles=("agc",),
    strategy=_declared("error_if_nonfinite", real(nonfinite=True, containers=("list",))),
    examples=lambda d: _nonfinite_examples(d) if "error_if_nonfinite" in d.extensions else (),
    act=_act_switch,
)
def error_if_nonfinite(case: AGCCase, seen: dict[str, Any]) -> None:
    """With ``error_if_nonfinite=True``: a NaN / inf gradient norm raises before any gradient
    is modified; finite gradients give the result of the call without the switch (within
    the dtype's rounding)."""
    params, _, grads = before(case)
    must, info = _must_raise(params, grads), seen["raised"]
    if info is not None and info.is_a("TypeError"):
        raise AssertionError(
            f"error_if_nonfinite=True raised {info.name}: {info.message} (the target declares "
            f"the extension; the switch's error is about the values); case {case!r}"
        )
    if must and info is None:
        raise AssertionError(
            f"a non-finite gradient norm did not raise with error_if_nonfinite=True; case {case!r}"
        )
    if info is not None and must is False:
        raise AssertionError(
            f"finite gradients raised {info.name}: {info.message} with error_if_nonfinite=True; "
            f"case {case!r}"
        )
    for k, (p, got, plain) in enumerate(zip(params, seen["grads"], seen["plain"], strict=True)):
        if p.grad is None:
            continue
        if info is not None:
            what = f"param {k}: error_if_nonfinite raised ({info.name}) but the gradient changed"
            assert_bitwise(grad_after({"grad": got}), p.grad, what, case)
        elif must is False:  # the same rule, within the dtype's rounding (another code path)
            what = f"param {k}: error_if_nonfinite=True vs no switch, finite gradients"
            want = as64(plain)
            assert_close(as64(grad_after({"grad": got})), want, slack(want, want, p.dtype), what,
                         case)  # fmt: skip
        else:  # a norm that overflows float32 only: as the call without the switch, bit for bit
            what = f"param {k}: error_if_nonfinite=True vs no switch, norms near overflow"
            assert_bitwise(grad_after({"grad": got}), plain, what, case)


# --- AGC-024: the unit axis ----------------------------------------------------------------------

AXES: tuple[int, ...] = (1, -1, -2, 0)
"""The int unit axes drawn for ``unit_dim`` (valid for every rank >= 2: -2 is the lowest), the
off-default ones first so that examples shrink toward a change of axis."""

DEFAULT = "default"
"""In a per-parameter example: the parameter is left out of the mapping (the callable answers
0), so the default axis applies."""

Axis = int | str | None
"""A parameter's entry in a per-parameter example: an axis, None (excluded) or DEFAULT."""


def _check_axes(case: AGCCase, seen: dict[str, Any], axes: tuple[Axis, ...]) -> None:
    """Each gradient against the float64 reference with its parameter's unit axis (None: left
    alone, bit for bit)."""
    params, weights, grads = before(case)
    dims = [a if isinstance(a, int) else 0 for a in axes]
    expected, _ = agc_reference(weights, grads, case.clip_factor, case.eps, unit_dims=dims)
    rows = zip(params, seen["params"], weights, grads, expected, axes, dims, strict=True)
    for k, (p, facts, w, g, want, entry, axis) in enumerate(rows):
        if g is None or want is None:
            continue
        after = grad_after(facts)
        if entry is None:
            assert_bitwise(after, p.grad, f"param {k}: excluded (unit_dim None), changed", case)
            continue

        def first(a: Array, axis: int = axis) -> Array:  # the unit axis in front
            return a if a.ndim <= 1 else np.moveaxis(a, axis % a.ndim, 0)

        w1, g1, want1 = first(w), first(g), first(want)
        r, _ = ratios(w1, g1, case.clip_factor, case.eps)
        got_rows = unit_rows(first(as64(after)))
        want_rows = unit_rows(want1)
        if got_rows.shape != want_rows.shape:
            raise AssertionError(f"param {k}: gradient shape changed; case {case!r}")
        skip = np.abs(r - 1) < band(p.dtype)
        allowed = slack(unit_rows(g1), want_rows, p.dtype)
        what = f"param {k} (unit axis {entry})"
        assert_rows_close(what, got_rows, want_rows, allowed, skip, case, r)


def _call(targets: Targets, case: AGCCase, params: list[torch.Tensor], unit_dim: Any) -> Any:
    """Act helper: one call with ``unit_dim`` on ``params`` (fresh parameters of ``case``)."""
    args = {"clip_factor": case.clip_factor, "eps": case.eps, "unit_dim": unit_dim}
    return call_agc(targets.agc, case, params=params, **args)


def _vector_and_matrix(domain: Domain) -> AGCCase | None:
    """A vector whose one unit is clipped as a whole (element by element, its large entry
    would land on a smaller bound) beside a matrix clipped differently by rows (row 0 to
    0.01 / sqrt(2) per entry) and by columns (each column to 0.01)."""
    dtypes = domain.only(REAL)
    if not dtypes or domain.max_rank < 2 or not domain.allows_clip_factor(0.01):
        return None
    vector = ParamCase(weight=[1.0, 1.0], grad=[10.0, 0.0], dtype=dtypes[0])
    matrix = ParamCase(
        weight=[[1.0, 0.0], [0.0, 1.0]], grad=[[1.0, 1.0], [0.0, 0.0]], dtype=dtypes[0]
    )
    return AGCCase(params=(vector, matrix))


def _int_cases(domain: Domain) -> Any:
    cases = real(containers=("list",), min_rank=2)(domain)
    return cases if isinstance(cases, NotApplicable) else st.tuples(cases, st.sampled_from(AXES))


def _int_examples(domain: Domain) -> tuple[tuple[AGCCase, int], ...]:
    case = _vector_and_matrix(domain) if "unit_dim" in domain.extensions else None
    return () if case is None else ((case, 1), (case, -1), (case, -2))


def _act_int(targets: Targets, example: tuple[AGCCase, int]) -> dict[str, Any]:
    case, axis = example
    return _call(targets, case, case.make_params(), axis)


@conformance_property(
    "AGC-024",
    roles=("agc",),
    strategy=_declared("unit_dim", _int_cases),
    examples=_int_examples,
    act=_act_int,
)
def unit_dim_int(example: tuple[AGCCase, int], seen: dict[str, Any]) -> None:
    """``unit_dim=d`` (an int): every rank >= 2 gradient is clipped per slice along axis d,
    as the float64 reference with that axis; rank <= 1 stays one unit."""
    case, axis = example
    _check_axes(case, seen, tuple(axis for _ in case.params))


def _per_parameter_cases(domain: Domain) -> Any:
    cases = real(containers=("list",), min_params=2)(domain)
    if isinstance(cases, NotApplicable):
        return cases

    def with_axes(case: AGCCase) -> Any:
        per = [
            st.sampled_from((None, DEFAULT, *range(1, p.ndim), 0))
            if p.ndim >= 2
            else st.sampled_from((0, DEFAULT, None))
            for p in case.params
        ]
        return st.tuples(st.just(case), st.tuples(*per))

    return cases.flatmap(with_axes)


def _per_parameter_examples(domain: Domain) -> tuple[tuple[AGCCase, tuple[Axis, ...]], ...]:
    case = _vector_and_matrix(domain) if "unit_dim" in domain.extensions else None
    return () if case is None else ((case, (0, 1)), (case, (DEFAULT, 1)), (case, (None, 1)))


def _act_mapping(targets: Targets, example: tuple[AGCCase, tuple[Axis, ...]]) -> Any:
    case, axes = example
    params = case.make_params()
    mapping = {p: a for p, a in zip(params, axes, strict=True) if a != DEFAULT}
    return _call(targets, case, params, mapping)


def _act_callable(targets: Targets, example: tuple[AGCCase, tuple[Axis, ...]]) -> Any:
    case, axes = example
    params = case.make_params()
    answers = {id(p): (0 if a == DEFAULT else a) for p, a in zip(params, axes, strict=True)}
    return _call(targets, case, params, lambda t: answers[id(t)])


def _per_parameter_property(act: Any) -> Any:
    """The declaration the two per-parameter properties share (their acts differ)."""
    return conformance_property(
        "AGC-024",
        roles=("agc",),
        strategy=_declared("unit_dim", _per_parameter_cases),
        examples=_per_parameter_examples,
        act=act,
    )


@_per_parameter_property(_act_mapping)
def unit_dim_per_parameter(example: tuple[AGCCase, tuple[Axis, ...]], seen: dict[str, Any]) -> None:
    """``unit_dim={parameter: axis or None}``: each parameter clipped along its own axis, one
    left out along the default axis 0; one mapped to None is left alone bit for bit (rank
    <= 1: one unit whatever the axis)."""
    case, axes = example
    _check_axes(case, seen, axes)


@_per_parameter_property(_act_callable)
def unit_dim_callable(example: tuple[AGCCase, tuple[Axis, ...]], seen: dict[str, Any]) -> None:
    """``unit_dim=fn`` (``parameter -> axis or None``): as the mapping with the same answers."""
    case, axes = example
    _check_axes(case, seen, axes)


# --- AGC-024: a module's declared unit axes ------------------------------------------------------

DECLARED = "declared"
"""A module example whose parameters sit in a module class declaring ``AGC_UNIT_DIMS``."""

TRANSPOSED = "transposed"
"""A module example whose one parameter is the weight of an ``nn.ConvTranspose2d``: axis 1
without a declaration."""

ModuleExample = tuple[AGCCase, tuple[Axis, ...], str]


def _declaring(params: list[torch.Tensor], axes: tuple[Axis, ...]) -> torch.nn.Module:
    """A module holding ``params`` as ``p0, p1, ...`` one level down (under ``inner``), whose
    class declares the axes that are not DEFAULT, and a declared slot ``absent`` = None."""
    declared = {f"p{k}": a for k, a in enumerate(axes) if a != DEFAULT}
    declared["absent"] = 0  # a declared parameter slot that holds None (bias=False): skipped
    inner = type("Declared", (torch.nn.Module,), {"AGC_UNIT_DIMS": declared})()
    for k, p in enumerate(params):
        inner.register_parameter(f"p{k}", p)
    inner.register_parameter("absent", None)
    outer = torch.nn.Module()
    outer.add_module("inner", inner)
    return outer


def _transposed(params: list[torch.Tensor]) -> torch.nn.Module:
    (weight,) = params
    conv = torch.nn.ConvTranspose2d(weight.shape[0], weight.shape[1], 1, bias=False)
    conv.weight = weight
    return torch.nn.Sequential(conv)


def _module_cases(domain: Domain) -> Any:
    cases = _per_parameter_cases(domain)
    if isinstance(cases, NotApplicable):
        return cases
    return cases.map(lambda example: (*example, DECLARED))


def _module_examples(domain: Domain) -> tuple[ModuleExample, ...]:
    """The vector-and-matrix case with the matrix declared along axis 1 (and once left
    undeclared); a ConvTranspose2d weight (in 2, out 2) clipped differently along its output
    axis 1, its input axis 0 and as one unit."""
    case = _vector_and_matrix(domain) if "module" in domain.extensions else None
    if case is None or domain.max_rank < 4:
        return ()
    square = ParamCase(
        weight=[[[[1.0]], [[0.0]]], [[[0.0]], [[10.0]]]],
        grad=[[[[1.0]], [[1.0]]], [[[0.0]], [[0.0]]]],
        dtype=case.params[0].dtype,
    )
    return (
        (case, (DEFAULT, 1), DECLARED),
        (case, (None, DEFAULT), DECLARED),
        (AGCCase(params=(square,)), (1,), TRANSPOSED),
    )


def _act_module(targets: Targets, example: ModuleExample) -> dict[str, Any]:
    case, axes, kind = example
    params = case.make_params()
    module = _declaring(params, axes) if kind == DECLARED else _transposed(params)
    args = {"clip_factor": case.clip_factor, "eps": case.eps}
    return call_agc(targets.agc, case, params=params, passed=module, **args)


@conformance_property(
    "AGC-024",
    roles=("agc",),
    strategy=_declared("module", _module_cases),
    examples=_module_examples,
    act=_act_module,
)
def module_unit_axes(example: ModuleExample, seen: dict[str, Any]) -> None:
    """An ``nn.Module`` as ``parameters``: each parameter clipped along the axis its module
    declares (``AGC_UNIT_DIMS``; axis 1 for a ``ConvTranspose2d`` weight), an undeclared one
    along dim 0, one declared None left alone bit for bit."""
    case, axes, _ = example
    _check_axes(case, seen, axes)


_BAD_AXES: dict[str, tuple[str, str]] = {
    "unit_dim": ("unit_dim", "unit_dim=2 for a rank-2 parameter"),
    "unit_dim_bool": ("unit_dim", "unit_dim=True (a bool, not an axis)"),
    "unknown": ("module", "AGC_UNIT_DIMS names 'missing', which is not a parameter of its module"),
    "range": ("module", "AGC_UNIT_DIMS gives axis 2 to a rank-2 parameter"),
    "shared": ("module", "one parameter shared by two modules declared with axes 0 and 1"),
}
"""kind -> (the extension that makes it applicable, what is wrong)."""

_REFUSALS = {"unit_dim": ("ValueError", "TypeError", "IndexError"), "module": ("ValueError",)}
"""What a bad axis may raise, per extension: a bad ``unit_dim`` Python's errors for a bad value,
type or index; a bad declaration ``ValueError`` (the ``module`` extension's protocol)."""


def _bad_examples(domain: Domain) -> tuple[tuple[str, str], ...]:
    """Each bad axis whose extension the target declares, on a float32 (else float64)
    identity weight."""
    dtypes = domain.only(REAL)
    if not dtypes or domain.max_rank < 2:
        return ()
    return tuple((k, dtypes[0]) for k, (ext, _) in _BAD_AXES.items() if ext in domain.extensions)


def _bad_strategy(domain: Domain) -> Any:
    found = _bad_examples(domain)
    if found:
        return st.sampled_from(found)
    return NotApplicable(
        "the target declares neither optional keyword 'unit_dim' nor 'module' (declare them "
        'with conformance_domain = {"extensions": ["unit_dim", "module"]} to have them checked)'
        if not {"unit_dim", "module"} & set(domain.extensions)
        else "float32 and float64 or rank 2 are outside the target's domain"
    )


def _bad_call(kind: str, weight: torch.Tensor) -> tuple[Any, dict[str, Any]]:
    """(what to pass as parameters, extra keywords) for a bad axis of ``kind``."""
    if kind.startswith("unit_dim"):
        return [weight], {"unit_dim": True if kind == "unit_dim_bool" else 2}
    if kind == "shared":
        first, second = _declaring([weight], (0,)), _declaring([weight], (1,))
        return torch.nn.Sequential(first, second), {}
    module = _declaring([weight], (2,) if kind == "range" else (DEFAULT,))
    if kind == "unknown":
        setattr(type(module.inner), "AGC_UNIT_DIMS", {"missing": 0})  # noqa: B010
    return module, {}


def _act_bad(targets: Targets, example: tuple[str, str]) -> dict[str, Any]:
    kind, dtype = example
    weight = torch.nn.Parameter(torch.eye(2, dtype=getattr(torch, dtype)))
    weight.grad = torch.full((2, 2), 100.0, dtype=weight.dtype)
    passed, extra = _bad_call(kind, weight)
    got = attempt(targets.agc, passed, clip_factor=0.01, eps=1e-3, **extra)
    return {"raised": got.raised, "grad": weight.grad}


@conformance_property(
    "AGC-024",
    roles=("agc",),
    strategy=_bad_strategy,
    examples=_bad_examples,
    act=_act_bad,
)
def bad_unit_axes_rejected(example: tuple[str, str], seen: dict[str, Any]) -> None:
    """A ``unit_dim`` out of range or not an int: ``ValueError``, ``TypeError`` or
    ``IndexError``; a module's declaration out of range, naming no parameter of its module, or
    giving a shared parameter two axes: ``ValueError``; each before any gradient is modified."""
    kind, _ = example
    (extension, what), info = _BAD_AXES[kind], seen["raised"]
    if info is None:
        raise AssertionError(f"{what}: accepted without error; example {example!r}")
    if not info.is_a(*_REFUSALS[extension]):
        allowed = " or ".join(_REFUSALS[extension])
        raise AssertionError(f"{what}: raised {info.name}, not {allowed}: {info.message}")
    grad = grad_after({"grad": seen["grad"]})
    assert_bitwise(grad, torch.full_like(grad, 100.0), f"{what}: gradient modified", example)
