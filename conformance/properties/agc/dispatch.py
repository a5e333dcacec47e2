"""Properties of the clipping dispatch clauses (AGC-026 to AGC-030), against the ``clip`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("agc.dispatch"))
['AGC-026', 'AGC-027', 'AGC-027', 'AGC-028', 'AGC-029', 'AGC-030', 'AGC-038']

The ``clip`` role's canonical call is ``targets.clip(parameters, algorithm,
value)`` with an algorithm of ``spec.CLIP_ALGORITHMS``, clipping ``.grad`` in place; its
return value is inspected only for a target that declares the ``statistics`` extension
(AGC-038).
The act calls the target on fresh parameters and sends back the gradients; in the
judge, torch's own ``clip_grad_norm_`` / ``clip_grad_value_`` (on the judge's copy of
the same parameters) and :func:`spec.reference.agc_reference` give the expected ones.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.domain import Domain, NotApplicable
from conformance.framework import Targets, attempt, conformance_property
from conformance.properties._assertions import (
    assert_bitwise,
    assert_close,
    assert_rows_close,
    brief,
    worst,
)
from conformance.properties._numeric import as64, atol, band, grads64, ratios, rtol, unit_rows
from conformance.properties.agc.sync import units_over_bound
from conformance.strategies.near_miss import annotated_values, near_miss_names, near_misses
from conformance.strategies.tensors import (
    REAL,
    AGCCase,
    ClipCase,
    ParamCase,
    clip_cases,
    unknown_algorithm_cases,
)
from spec.reference import agc_reference
from spec.vocabulary import CLIP_ALGORITHMS, COMPLEX_DTYPES, HALF_DTYPES

__all__: list[str] = []

ALGORITHMS: tuple[str, ...] = CLIP_ALGORITHMS
"""The dispatch's algorithms, as the contract names them (``spec.CLIP_ALGORITHMS``)."""
OTHER: tuple[str, ...] = (*HALF_DTYPES, *COMPLEX_DTYPES)
"""The dtypes beside float32 / float64: half precision and complex."""


def _cases(
    algorithms: tuple[str, ...] = ALGORITHMS,
    dtypes: tuple[str, ...] = REAL,
    what: str = "float32 and float64 gradients",
    **kw: Any,
) -> Callable[[Domain], Any]:
    """Dispatch cases of these dtypes inside the domain (not applicable when none is)."""

    def make(domain: Domain) -> Any:
        inside = domain.only(dtypes)
        if not inside:
            return NotApplicable(f"{what} ({', '.join(dtypes)}) are outside the target's domain")
        return clip_cases(algorithms, inside, domain=domain, **kw)

    return make


def _after(g: Any) -> torch.Tensor:
    if g is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    return g


def _act_clip(targets: Targets, ex: ClipCase) -> dict[str, Any]:
    params = ex.case.make_params()
    targets.clip(ex.case.wrap(params), ex.algorithm, ex.value)
    return {"grads": [p.grad for p in params]}


def _act_may_raise(targets: Targets, ex: ClipCase) -> dict[str, Any]:
    params = ex.case.make_params()
    got = attempt(targets.clip, ex.case.wrap(params), ex.algorithm, ex.value)
    return {"raised": got.raised, "grads": [p.grad for p in params]}


def _algorithm_annotation(fn: Any) -> dict[str, Any]:
    """The annotation of the dispatch's second parameter (the algorithm), as data."""
    signature = attempt(inspect.signature, fn)
    if not signature.ok:
        return {"annotation": None, "literal": None, "none": False}
    params = [
        p
        for p in signature.value.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) < 2 or params[1].annotation is inspect.Parameter.empty:
        return {"annotation": None, "literal": None, "none": False}
    annotation = params[1].annotation
    if isinstance(annotation, str):  # postponed annotations: resolve them as get_type_hints does
        hints = attempt(typing.get_type_hints, fn)
        annotation = hints.value.get(params[1].name) if hints.ok else None
    return {"annotation": repr(annotation), **annotated_values(annotation)}


def _act_unknown(targets: Targets, ex: ClipCase) -> dict[str, Any]:
    return {**_act_may_raise(targets, ex), **_algorithm_annotation(targets.clip)}


_NEAR_CASE = AGCCase(
    params=(ParamCase(weight=[[1.0, -2.0], [0.5, 0.25]], grad=[[4.0, -3.0], [0.5, 8.0]]),)
)
NEAR_MISSES: tuple[ClipCase, ...] = tuple(
    ClipCase(case=_NEAR_CASE, algorithm=name, value=1.0) for name in near_misses(ALGORITHMS)
)
"""A dispatch call (value 1.0, gradients above every bound) with each near miss of the
algorithm names (``'none'``, ``'off'``, ``'AGC'``, ``' norm'``, ...): AGC-030's explicit
examples, run on every profile."""
UNKNOWN = st.one_of(
    st.tuples(unknown_algorithm_cases(), near_miss_names(ALGORITHMS)).map(
        lambda pair: replace(pair[0], algorithm=pair[1])
    ),
    unknown_algorithm_cases(),
)
"""Unknown algorithms: the near misses beside random names, each on drawn parameters."""


def _compare(
    got: list[Any], want: list[torch.Tensor], scale: float, what: str, ex: ClipCase
) -> None:
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        if b.grad is None:
            continue
        x, y = as64(_after(a)), as64(b.grad)
        limit = scale * rtol(b.dtype) * np.abs(y) + atol(b.dtype)
        assert_close(x, y, limit, f"{what}: param {k}", ex)


def _unchanged(ex: ClipCase, grads: list[Any], why: str) -> None:
    for k, (p, g) in enumerate(zip(ex.case.make_params(), grads, strict=True)):
        if p.grad is not None:
            assert_bitwise(_after(g), p.grad, f"param {k}: {why}", ex)


@conformance_property(
    "AGC-026",
    roles=("clip",),
    strategy=_cases(values=st.sampled_from([None, 0.0, -1.0, -1e-3, -0.0])),
    act=_act_clip,
)
def no_clipping_at_nonpositive(ex: ClipCase, seen: dict[str, Any]) -> None:
    """Value None or <= 0: every gradient keeps every bit, for each allowed algorithm."""
    _unchanged(ex, seen["grads"], f"value {ex.value!r} must not clip")


def _norm_matches(ex: ClipCase, seen: dict[str, Any]) -> None:
    """torch takes each tensor's norm, and so the factor, in that tensor's own dtype (half
    gradients get a half-precision factor, subnormal for tiny values); an implementation
    that takes the norm more precisely conforms too. So each gradient must match torch's
    result, or the same rule evaluated in float64, within its dtype's tolerance.
    """
    assert ex.value is not None
    ref = ex.case.make_params()
    exact = grads64(ref)
    torch.nn.utils.clip_grad_norm_(ref, max_norm=ex.value)
    total = float(np.sqrt(sum(float(np.sum(np.abs(g) ** 2)) for g in exact if g is not None)))
    factor = min(1.0, ex.value / (total + 1e-6))
    # torch's factor is only as precise as the coarsest gradient dtype present.
    coarse = max((rtol(p.grad.dtype) for p in ref if p.grad is not None), default=0.0)
    for k, (a, b, g) in enumerate(zip(seen["grads"], ref, exact, strict=True)):
        if b.grad is None or g is None:
            continue
        x, y, z = as64(_after(a)), as64(b.grad), g * factor
        tol, floor = 4.0 * max(rtol(b.dtype), coarse), atol(b.dtype)
        if x.shape != y.shape:
            raise AssertionError(f"'norm': param {k}: shape {x.shape}, not {y.shape}; case {ex!r}")
        off_torch = worst(x, y, tol * np.abs(y) + floor)
        off_rule = worst(x, z, 4.0 * rtol(b.dtype) * np.abs(z) + floor)
        if off_torch is not None and off_rule is not None:
            raise AssertionError(
                f"'norm': param {k}: vs clip_grad_norm_, {off_torch}; vs the float64 rule, "
                f"{off_rule}; got {brief(x)}, clip_grad_norm_ gives {brief(y)}, the float64 "
                f"rule {brief(z)}; case {ex!r}"
            )


def _tiny_norm_examples(domain: Domain) -> tuple[ClipCase, ...]:
    """A total norm of 2e-4 clipped to 1e-4: torch's 1e-6 added to the norm moves the factor
    by 0.5 %, another constant (0, 1e-5, 1e-7) by a different amount."""
    if "float32" not in domain.dtypes:
        return ()
    grads = ParamCase(weight=[1.0, 1.0], grad=[1.2e-4, 1.6e-4], dtype="float32")
    return (ClipCase(case=AGCCase(params=(grads,)), algorithm="norm", value=1e-4),)


@conformance_property(
    "AGC-027",
    roles=("clip",),
    strategy=_cases(("norm",)),
    examples=_tiny_norm_examples,
    act=_act_clip,
)
def norm_matches_torch(ex: ClipCase, seen: dict[str, Any]) -> None:
    """'norm' gives the gradients of torch.nn.utils.clip_grad_norm_(max_norm=value)."""
    _norm_matches(ex, seen)


@conformance_property(
    "AGC-027",
    roles=("clip",),
    strategy=_cases(("norm",), OTHER, "float16, bfloat16 and complex gradients"),
    act=_act_clip,
)
def norm_matches_torch_other_dtypes(ex: ClipCase, seen: dict[str, Any]) -> None:
    """The same for float16, bfloat16, complex64 and complex128 gradients (in the domain)."""
    _norm_matches(ex, seen)


@conformance_property("AGC-028", roles=("clip",), strategy=_cases(("value",), REAL), act=_act_clip)
def value_matches_torch(ex: ClipCase, seen: dict[str, Any]) -> None:
    """'value' gives the gradients of torch.nn.utils.clip_grad_value_(clip_value=value)."""
    assert ex.value is not None
    ref = ex.case.make_params()
    if any(p.grad is not None for p in ref):  # torch fails on a list without gradients
        torch.nn.utils.clip_grad_value_(ref, clip_value=ex.value)
    _compare(seen["grads"], ref, 1.0, "'value' vs clip_grad_value_", ex)


@conformance_property("AGC-029", roles=("clip",), strategy=_cases(("agc",)), act=_act_clip)
def agc_matches_reference(ex: ClipCase, seen: dict[str, Any]) -> None:
    """'agc' gives unit-wise AGC with clip_factor=value and eps=1e-3 (float64 reference)."""
    assert ex.value is not None
    params = ex.case.make_params()
    weights = [as64(p) for p in params]
    before = grads64(params)
    expected, _ = agc_reference(weights, before, ex.value, 1e-3)
    rows = zip(params, seen["grads"], weights, before, expected, strict=True)
    for k, (p, got, w, g, want) in enumerate(rows):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, ex.value, 1e-3)
        got_rows, want_rows = unit_rows(as64(_after(got))), unit_rows(want)
        near = np.abs(r - 1) < band(p.dtype)  # may go either way: the band's slack too
        tol = rtol(p.dtype) + np.where(near, band(p.dtype), 0.0)
        allowed = tol[:, None] * np.abs(want_rows) + atol(p.dtype)
        none = np.zeros(len(r), dtype=bool)
        assert_rows_close(f"'agc' param {k}", got_rows, want_rows, allowed, none, ex, r)


@conformance_property(
    "AGC-030", roles=("clip",), strategy=UNKNOWN, examples=NEAR_MISSES, act=_act_unknown
)
def unknown_algorithm_rejected(ex: ClipCase, seen: dict[str, Any]) -> None:
    """An unknown algorithm raises ValueError naming it and 'norm', 'value', 'agc'; no clipping."""
    literal = seen["literal"]
    if literal is not None:  # the annotation enumerates the names: exactly the plan's three
        admitted = [*literal, *([None] if seen["none"] else [])]
        if sorted(map(repr, admitted)) != sorted(map(repr, ALGORITHMS)):
            raise AssertionError(
                f"the dispatch's algorithm parameter is annotated {seen['annotation']}, which "
                f"admits {admitted}, not exactly {list(ALGORITHMS)}"
            )
    info = seen["raised"]
    if info is None:
        raise AssertionError(f"algorithm {ex.algorithm!r} was accepted; case {ex!r}")
    if not info.is_a("ValueError"):
        raise AssertionError(
            f"algorithm {ex.algorithm!r} raised {info.name}, not ValueError: {info.message}"
        )
    text = info.message
    names_it = repr(ex.algorithm) in text or (ex.algorithm.strip() != "" and ex.algorithm in text)
    lists_allowed = all(a in text for a in ALGORITHMS)
    if not (names_it and lists_allowed):
        raise AssertionError(
            f"the error for algorithm {ex.algorithm!r} must name it and the allowed "
            f"values; it says: {text}"
        )
    _unchanged(ex, seen["grads"], "modified before the error")


# --- AGC-038: the statistics returned --------------------------------------------------------

STATISTICS = ("grad_norm_before", "grad_norm_after", "units_clipped")
"""The attributes of a dispatch's result that AGC-038 reads."""


def _statistics_cases(domain: Domain) -> Any:
    if "statistics" not in domain.extensions:
        return NotApplicable(
            "the target does not declare that it returns statistics (declare it with "
            'conformance_domain = {"extensions": ["statistics"]} to have them checked)'
        )
    return _cases()(domain)


def _act_statistics(targets: Targets, ex: ClipCase) -> dict[str, Any]:
    params = ex.case.make_params()
    out = targets.clip(ex.case.wrap(params), ex.algorithm, ex.value)
    stats: dict[str, Any] = {}
    for name in STATISTICS:
        got = attempt(lambda n=name: float(getattr(out, n)))
        info = got.raised
        stats[name] = got.value if info is None else f"{info.name}: {info.message}"
    return {"grads": [p.grad for p in params], "stats": stats}


def _global_norm(grads: list[Any]) -> tuple[float, float]:
    """(the float64 L2 norm of all ``grads``, its allowed error for a float32 accumulation)."""
    arrays = [as64(g) for g in grads if g is not None]
    total = float(np.sqrt(sum(float(np.sum(np.abs(a) ** 2)) for a in arrays)))
    size = sum(a.size for a in arrays)
    return total, 1e-5 * total + np.sqrt(max(size, 1)) * 2.0**-63


def _expected_count(ex: ClipCase, before: float) -> tuple[int, int]:
    """``(sure, either)`` of units_clipped, as :func:`units_over_bound` for 'agc'."""
    value = ex.value
    assert value is not None and value > 0
    if ex.algorithm == "norm":
        if abs(before - value) <= 1e-5 * value:
            return 0, 1
        return int(before > value), 0
    if ex.algorithm == "value":
        entries = np.concatenate(
            [np.abs(as64(p.grad)).ravel() for p in ex.case.make_params() if p.grad is not None]
        )
        near = np.abs(entries - value) <= 1e-5 * value
        return int(np.sum((entries > value) & ~near)), int(np.sum(near))
    return units_over_bound(replace(ex.case, clip_factor=value, eps=1e-3))


def _statistics_examples(domain: Domain) -> tuple[ClipCase, ...]:
    """Each algorithm on two parameters whose gradients it clips (value 1: global norm 13,
    entries up to 12, AGC bounds 0.03 and 0.01) and leaves alone (value 1000)."""
    if "statistics" not in domain.extensions or "float32" not in domain.dtypes:
        return ()
    case = AGCCase(
        params=(
            ParamCase(weight=[[3.0, 0.0], [0.0, 0.0]], grad=[[3.0, 0.0], [4.0, 0.0]]),
            ParamCase(weight=[1.0, 0.0], grad=[0.0, 12.0]),
        )
    )
    return tuple(
        ClipCase(case=case, algorithm=a, value=v) for a in ALGORITHMS for v in (1.0, 1000.0)
    )


@conformance_property(
    "AGC-038",
    roles=("clip",),
    strategy=_statistics_cases,
    examples=_statistics_examples,
    act=_act_statistics,
)
def dispatch_statistics(ex: ClipCase, seen: dict[str, Any]) -> None:
    """A dispatch declaring ``statistics`` returns the global gradient norm before and after
    the call and the number of units clipped by the algorithm."""
    stats = seen["stats"]
    unread = {n: v for n, v in stats.items() if isinstance(v, str)}
    assert not unread, f"statistics that could not be read as numbers: {unread}; case {ex!r}"
    params = ex.case.make_params()
    before, slack_before = _global_norm([p.grad for p in params])
    kept = zip(params, seen["grads"], strict=True)
    after, slack_after = _global_norm([_after(g) for p, g in kept if p.grad is not None])
    if np.isfinite(before) and before < 1e19:  # a float32 accumulation may overflow above it
        for name, want, slack in (
            ("grad_norm_before", before, slack_before),
            ("grad_norm_after", after, slack_after),
        ):
            got = stats[name]
            assert abs(got - want) <= slack, (
                f"{name} = {got!r}; the float64 norm of the gradients "
                f"{'before' if name.endswith('before') else 'after'} the call is {want!r} "
                f"(allowed {slack:.3g}); case {ex!r}"
            )
    sure, either = _expected_count(ex, before)
    count = stats["units_clipped"]
    if not sure <= count <= sure + either:
        within = f"{sure}" if not either else f"{sure} to {sure + either}"
        raise AssertionError(
            f"units_clipped = {count:g} for {ex.algorithm!r} at value {ex.value!r}; the float64 "
            f"reference clips {within}; case {ex!r}"
        )
