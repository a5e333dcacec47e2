"""Properties of what AGC must leave exact and how exact its result is (AGC-004, AGC-011,
AGC-012, AGC-017, AGC-032): bitwise-untouched units and weights, gradients clipped in place,
the float64 reference.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.home.endswith("agc.exactness")})
['AGC-004', 'AGC-011', 'AGC-012', 'AGC-017', 'AGC-032']

The judge compares the target's gradients with :func:`spec.reference.agc_reference` on
the judge's float64 copy of the same parameters; units whose ratio ||G_i||/bound_i lies
within :func:`~conformance.properties._numeric.band` of 1 may go either way. Each
clause's properties for the other dtypes (float16, bfloat16, complex) sit beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.domain import Domain
from conformance.framework import Root, conformance_property
from conformance.properties._assertions import assert_bitwise, assert_rows_close
from conformance.properties._numeric import as64, band, ratios, slack, unit_rows
from conformance.properties.agc._acts import act_once
from conformance.properties.agc._cases import COMPLEX, HALF, large, of, real
from conformance.properties.agc._seen import before, grad_after
from conformance.strategies.tensors import HUGE_CASES, AGCCase, ParamCase
from spec.reference import agc_reference

__all__ = ["matches_reference"]


# --- AGC-004: units at or below their bound keep every bit -----------------------------------


def _bitwise(case: AGCCase, seen: dict[str, Any]) -> None:
    params, weights, _ = before(case)
    for k, (p, facts, w) in enumerate(zip(params, seen["params"], weights, strict=True)):
        g0 = p.grad
        if g0 is None:
            continue
        r, _ = ratios(w, as64(g0), case.clip_factor, case.eps)
        new = grad_after(facts)
        if new.shape != g0.shape:
            raise AssertionError(f"param {k}: gradient shape {tuple(new.shape)}; case {case!r}")
        old_units = [g0] if g0.ndim <= 1 else list(g0.unbind(0))
        new_units = [new] if g0.ndim <= 1 else list(new.unbind(0))
        for i, (a, b) in enumerate(zip(old_units, new_units, strict=True)):
            if r[i] <= 1 - band(p.dtype):
                what = f"param {k} unit {i}: ratio {r[i]:.6g} <= 1, so the gradient keeps its bits"
                assert_bitwise(b, a, what, case)


@conformance_property(
    "AGC-004",
    roles=("agc",),
    strategy=real(),
    act=act_once,
    examples=large,
    root=Root(rank=90),
)
def unclipped_units_bitwise(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| <= bound_i (outside the rounding band) keep every bit (float32/64)."""
    _bitwise(case, seen)


@conformance_property(
    "AGC-004",
    roles=("agc",),
    strategy=of((*HALF, *COMPLEX), "float16, bfloat16 and complex gradients"),
    act=act_once,
)
def unclipped_units_bitwise_other_dtypes(case: AGCCase, seen: dict[str, Any]) -> None:
    """The same in float16, bfloat16, complex64 and complex128 (those in the domain)."""
    _bitwise(case, seen)


# --- AGC-011, AGC-012: weights untouched, gradients written in place --------------------------


@conformance_property(
    "AGC-011",
    roles=("agc",),
    strategy=real(),
    act=act_once,
    examples=large,
    root=Root(rank=10),
)
def weights_untouched(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameter values are bit-for-bit the same after the call."""
    params, _, _ = before(case)
    for k, (p, facts) in enumerate(zip(params, seen["params"], strict=True)):
        assert_bitwise(facts["weight"], p.detach(), f"param {k}: the weights were modified", case)


@conformance_property(
    "AGC-012",
    roles=("agc",),
    strategy=real(layouts=("contiguous",)),
    act=act_once,
    examples=large,
)
def grad_storage_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Each .grad is the same object on the same storage with the same shape and strides."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad:
            continue
        grad_after(facts)
        if not (facts["same_object"] and facts["same_storage"]):
            raise AssertionError(
                f"param {k}: .grad was replaced, not written in place; case {case!r}"
            )
        if facts["layout"] != facts["layout_before"]:
            (s0, t0), (s1, t1) = facts["layout_before"], facts["layout"]
            raise AssertionError(
                f"param {k}: .grad shape/strides changed {s0}/{t0} -> {s1}/{t1}; case {case!r}"
            )


# --- AGC-017, AGC-032: the float64 reference ------------------------------------------------


def _reference(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    params, weights, grads = before(case)
    expected, _ = agc_reference(weights, grads, case.clip_factor, case.eps)
    rows = zip(params, seen["params"], weights, grads, expected, strict=True)
    for k, (p, facts, w, g, want) in enumerate(rows):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        got_rows, want_rows = unit_rows(as64(grad_after(facts))), unit_rows(want)
        old_rows = unit_rows(g)
        if got_rows.shape != want_rows.shape:
            raise AssertionError(f"param {k}: gradient shape changed; case {case!r}")
        skip = np.abs(r - 1) < band(p.dtype, tier)  # may go either way
        allowed = slack(old_rows, want_rows, p.dtype, tier)
        assert_rows_close(f"param {k}", got_rows, want_rows, allowed, skip, case, r)


def _huge(domain: Domain) -> tuple[AGCCase, ...]:
    """The large examples and the one above every size threshold (float32, factor 0.01)."""
    cases = large(domain)
    return (*cases, *HUGE_CASES) if cases and domain.max_rank >= 2 else cases


@conformance_property("AGC-017", roles=("agc",), strategy=real(), act=act_once, examples=_huge)
def matches_reference(case: AGCCase, seen: dict[str, Any]) -> None:
    """float32/64: the result equals spec.reference.agc_reference within rounding."""
    _reference(case, seen)


@conformance_property(
    "AGC-017", roles=("agc",), strategy=of(HALF, "float16 and bfloat16 gradients"), act=act_once
)
def matches_reference_half(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: the reference within the rounding of a computation in that dtype."""
    _reference(case, seen)


def _tiny_factors(domain: Domain) -> tuple[AGCCase, ...]:
    """Zero weights and large gradients: factors far below the half dtypes' normal range."""
    grads = {"float16": ([62.5, 0.0], [12.5, -3.0]), "bfloat16": ([3e4, 0.0], [7e3, 1.0])}
    cases = []
    for dtype in domain.only(HALF):
        params = tuple(ParamCase([0.0, 0.0], g, dtype) for g in grads[dtype])
        cases.append(AGCCase(params=params, clip_factor=0.01, eps=1e-3))
    return tuple(cases)


@conformance_property(
    "AGC-032",
    roles=("agc",),
    strategy=of(("float64",), "float64 gradients"),
    act=act_once,
)
def float64_accuracy(case: AGCCase, seen: dict[str, Any]) -> None:
    """float64: the reference to 1e-10 relative (norms, bound and factor in float64)."""
    _reference(case, seen, tier="strict")


@conformance_property(
    "AGC-032",
    roles=("agc",),
    strategy=of(HALF, "float16 and bfloat16 gradients"),
    act=act_once,
    examples=_tiny_factors,
)
def half_precision_accuracy(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: the reference within the rounding of the final cast (norms and factors
    computed in float32), tiny factors included."""
    _reference(case, seen, tier="strict")
