"""Properties of the unit-wise rule (AGC-001 to AGC-003, AGC-005 to AGC-010, AGC-033): the
bound, the units and their axes, locality, the eps guard.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.home.endswith("agc.rule")})[:3]
['AGC-001', 'AGC-002', 'AGC-003']

Each act (:mod:`._acts`) builds fresh parameters from its example, calls the ``agc``
target and sends back every gradient; the judge rebuilds the same parameters from the
example and compares in float64 arithmetic. Unit i of a parameter (dim-0 slice for rank
>= 2, the whole tensor for rank <= 1) is clipped when ||G_i|| > bound_i = clip_factor *
max(||W_i||, eps). Plan-tier properties draw bounds clip_factor * eps >= 1e-6 and, for
float16 / bfloat16, allow the rounding of a computation in that dtype
(:func:`~conformance.properties._numeric.slack`); units whose ratio ||G_i||/bound_i lies
within :func:`~conformance.properties._numeric.band` of 1 may go either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.domain import Domain, NotApplicable
from conformance.framework import Root, Targets, conformance_property
from conformance.properties._assertions import (
    assert_at_most,
    assert_close,
    assert_rows_close,
    brief,
)
from conformance.properties._numeric import as64, band, ratios, slack, unit_rows
from conformance.properties.agc._acts import act_once, call_agc
from conformance.properties.agc._cases import HALF, large, of, real
from conformance.properties.agc._seen import before, grad_after, units
from conformance.strategies.tensors import (
    LARGE_HIGH_RANK,
    REAL,
    AGCCase,
    LocalityCase,
    ParamCase,
    as_rank2,
    lift_small_weights,
    locality_cases,
)

__all__: list[str] = []


def _rule(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    """Every unit outside the band: above its bound -> G_i / ratio; below -> unchanged."""
    _, weights, grads = before(case)
    for k, (facts, w, g) in enumerate(zip(seen["params"], weights, grads, strict=True)):
        if g is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        old, new = unit_rows(g), unit_rows(as64(grad_after(facts)))
        if new.shape != old.shape:
            raise AssertionError(
                f"param {k}: gradient shape changed to {tuple(grad_after(facts).shape)}; "
                f"case {case!r}"
            )
        m = band(facts["dtype"], tier)
        above = r >= 1 + m
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(above[:, None], old / np.where(above, r, 1.0)[:, None], old)
        skip = ~above & (r > 1 - m)
        allowed = slack(old, want, facts["dtype"], tier)
        assert_rows_close(f"param {k}", new, want, allowed, skip, case, r)


@conformance_property(
    "AGC-001",
    roles=("agc",),
    strategy=real(max_rank=3),
    act=act_once,
    examples=large,
    root=Root(rank=70),
    rule=True,
)
def unit_rule(case: AGCCase, seen: dict[str, Any]) -> None:
    """Above the bound -> G_i * bound_i / ||G_i||; at or below -> unchanged (float32/64)."""
    _rule(case, seen)


# --- AGC-002: the default axis is dim 0 ------------------------------------------------------


def _split_rows(p: Any) -> list[ParamCase]:
    """The dim-0 slices of a rank >= 2 parameter, each as a flat rank-1 parameter."""
    weight, grad = p.weight_tensor(), p.grad_values()
    return [
        ParamCase(
            weight[i].reshape(-1).tolist(),
            None if grad is None else grad[i].reshape(-1).tolist(),
            p.dtype,
        )
        for i in range(weight.shape[0])
    ]


def _act_rows(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    rows: list[Any] = []
    for spec_p in case.params:
        if not spec_p.has_grad or spec_p.ndim < 2:
            rows.append(None)
            continue
        alone = AGCCase(
            params=tuple(_split_rows(spec_p)), clip_factor=case.clip_factor, eps=case.eps
        )
        parts = alone.make_params()
        targets.agc(parts, clip_factor=case.clip_factor, eps=case.eps)
        rows.append([q.grad for q in parts])
    return {**seen, "rows": rows}


def _axis(case: AGCCase, seen: dict[str, Any]) -> None:
    for k, (p, facts, rows) in enumerate(
        zip(case.params, seen["params"], seen["rows"], strict=True)
    ):
        if rows is None:
            continue
        want = np.stack([as64(grad_after({"grad": g})) for g in rows])
        got = unit_rows(as64(grad_after(facts)))
        old = unit_rows(as64(grad_after({"grad": p.grad_values()})))
        allowed = 2 * slack(old, want, p.torch_dtype)
        assert_close(got, want, allowed, f"param {k} vs its rows", case)


def _large_rank2(domain: Domain) -> tuple[AGCCase, ...]:
    cases = large(domain)
    return tuple(c.with_params([p for p in c.params if p.ndim >= 2][:1]) for c in cases)


def _large_high_rank(domain: Domain) -> tuple[AGCCase, ...]:
    if domain.max_rank < 4 or not large(domain):
        return ()
    return LARGE_HIGH_RANK


@conformance_property(
    "AGC-002",
    roles=("agc",),
    strategy=real(min_rank=2, max_rank=3, max_params=3),
    act=_act_rows,
    examples=_large_rank2,
    root=Root(rank=40),
)
def default_axis_is_dim0(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 2 and 3: the result equals clipping each dim-0 slice alone as a flat vector."""
    _axis(case, seen)


@conformance_property(
    "AGC-002",
    roles=("agc",),
    strategy=real(min_rank=4, max_rank=5, max_params=2),
    act=_act_rows,
    max_examples=10,
    examples=_large_high_rank,
)
def default_axis_high_ranks(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 4 and 5: the result equals clipping each dim-0 slice alone as a flat vector."""
    _axis(case, seen)


@conformance_property(
    "AGC-003",
    roles=("agc",),
    strategy=real(max_rank=1),
    act=act_once,
    root=Root(rank=60, condition=as_rank2),
)
def rank_le1_is_one_unit(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 0/1: one norm over the whole tensor decides, and the whole tensor is rescaled."""
    _rule(case, seen)


# --- AGC-005 to AGC-007: clipped units, directions, a second call -----------------------------


def _on_bound(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    for k, i, r, bound, old, new, dtype in units(case, seen):
        if r < 1 + band(dtype, tier):
            continue
        want = old / r
        norm = float(np.linalg.norm(new))
        allowed = float(np.linalg.norm(slack(old, want, dtype, tier))) * 2 + 2e-12 * bound
        what = f"param {k} unit {i}: ratio {r:.6g} > 1, so the norm must become the bound"
        assert_close(norm, bound, allowed, what, case)


@conformance_property(
    "AGC-005",
    roles=("agc",),
    strategy=real(),
    act=act_once,
    examples=large,
    root=Root(rank=80),
)
def clipped_units_on_bound(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| > bound_i end with norm bound_i (float32/64, within rounding)."""
    _on_bound(case, seen)


@conformance_property(
    "AGC-005",
    roles=("agc",),
    strategy=of(HALF, "float16 and bfloat16 gradients"),
    act=act_once,
)
def clipped_units_on_bound_half(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: on the bound within the rounding of a computation in that dtype."""
    _on_bound(case, seen)


@conformance_property("AGC-006", roles=("agc",), strategy=real(), act=act_once)
def direction_preserved(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every entry keeps its sign and shrinks or stays; each unit keeps its direction."""
    for k, i, _r, _bound, old, new, _dtype in units(case, seen):
        for part, o, n in (("real", old.real, new.real), ("imag", old.imag, new.imag)):
            flipped = np.sign(n) * np.sign(o) < 0
            if flipped.any():
                raise AssertionError(
                    f"param {k} unit {i} ({part} parts): entries flipped sign: "
                    f"{brief(o)} -> {brief(n)}; case {case!r}"
                )
            what = f"param {k} unit {i} ({part} parts): |entry| after vs before"
            assert_at_most(np.abs(n), np.abs(o), what, case)
        n_norm, o_norm = np.linalg.norm(new), np.linalg.norm(old)
        if n_norm > 1e-30 and o_norm > 0:
            cosine = float(np.real(np.vdot(old, new)) / (n_norm * o_norm))
            if cosine < 1 - 4e-5:
                raise AssertionError(
                    f"param {k} unit {i}: direction changed (cosine {cosine!r}); case {case!r}"
                )


def _act_twice(targets: Targets, case: AGCCase) -> dict[str, Any]:
    params = case.make_params()
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    once = [None if p.grad is None else p.grad.clone() for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    return {"once": once, "twice": [p.grad for p in params]}


@conformance_property("AGC-007", roles=("agc",), strategy=real(), act=_act_twice)
def idempotent(case: AGCCase, seen: dict[str, Any]) -> None:
    """A second call changes no gradient beyond dtype rounding."""
    for k, (p, g1, g2) in enumerate(zip(case.params, seen["once"], seen["twice"], strict=True)):
        if not p.has_grad:
            continue
        first, second = as64(grad_after({"grad": g1})), as64(grad_after({"grad": g2}))
        allowed = 4 * slack(first, first, p.torch_dtype)
        assert_close(second, first, allowed, f"param {k} second call", case)


# --- AGC-008: locality ---------------------------------------------------------------------


def _rescaled(example: LocalityCase) -> AGCCase | None:
    """The case with one unit's gradient scaled by ``factor`` (None if that overflows)."""
    case = example.case
    target = case.params[example.param]
    wide = torch.complex128 if target.dtype.startswith("complex") else torch.float64
    grad = target.grad_values()
    assert grad is not None
    grad = grad.to(wide)
    grad[example.unit] = grad[example.unit] * example.factor
    changed = grad.to(target.torch_dtype)
    if not torch.isfinite(changed).all():
        return None  # the rescaled unit overflowed this dtype: nothing to compare
    edited = ParamCase(
        target.weight_tensor().tolist(), changed.tolist(), target.dtype, target.layout
    )
    return case.with_params(
        [edited if k == example.param else p for k, p in enumerate(case.params)]
    )


def _act_locality(targets: Targets, example: LocalityCase) -> dict[str, Any]:
    other = _rescaled(example)
    if other is None:
        return {"skip": True}
    case = example.case
    first, second = case.make_params(), other.make_params()
    targets.agc(case.wrap(first), clip_factor=case.clip_factor, eps=case.eps)
    targets.agc(other.wrap(second), clip_factor=case.clip_factor, eps=case.eps)
    return {"skip": False, "first": [p.grad for p in first], "second": [p.grad for p in second]}


@conformance_property(
    "AGC-008",
    roles=("agc",),
    strategy=lambda d: locality_cases(d) if d.only(REAL) else NotApplicable("no float32/64"),
    act=_act_locality,
    root=Root(rank=50),
)
def unit_locality(example: LocalityCase, seen: dict[str, Any]) -> None:
    """Rescaling one gradient unit changes no other unit's result (separates unit-wise AGC)."""
    if seen["skip"]:
        return
    rows = zip(example.case.params, seen["first"], seen["second"], strict=True)
    for k, (p, a, b) in enumerate(rows):
        if not p.has_grad:
            continue
        rows_a = unit_rows(as64(grad_after({"grad": a})))
        rows_b = unit_rows(as64(grad_after({"grad": b})))
        for i in range(rows_a.shape[0]):
            if (k, i) == (example.param, example.unit):
                continue
            what = (
                f"param {k} unit {i} after rescaling param {example.param} unit "
                f"{example.unit} by {example.factor}"
            )
            allowed = slack(rows_a[i], rows_a[i], p.torch_dtype)
            assert_close(rows_b[i], rows_a[i], allowed, what, example)


# --- AGC-009, AGC-010, AGC-033: the eps guard, zero gradients, tiny bounds -------------------


def _eps_guard(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    params, weights, grads = before(case)
    for k, (p, facts, w, g) in enumerate(zip(params, seen["params"], weights, grads, strict=True)):
        if g is None:
            continue
        w_norm = np.linalg.norm(unit_rows(w), axis=1)
        floor = case.clip_factor * case.eps
        new_rows = unit_rows(as64(grad_after(facts)))
        for i, (old, new) in enumerate(zip(unit_rows(g), new_rows, strict=True)):
            if w_norm[i] >= case.eps:
                continue
            g_norm, n_norm = float(np.linalg.norm(old)), float(np.linalg.norm(new))
            m = band(p.dtype, tier)
            what = (
                f"param {k} unit {i}: ||W_i|| = {float(w_norm[i])!r} < eps, ||G_i|| = "
                f"{g_norm!r}: the norm must become min(||G_i||, clip_factor * eps = {floor!r})"
            )
            if g_norm >= floor * (1 + m):
                want = old * floor / g_norm
                allowed = 2 * float(np.linalg.norm(slack(old, want, p.dtype, tier)))
                assert_close(n_norm, floor, allowed + 2e-12 * floor, what, case)
            elif g_norm <= floor * (1 - m) and not np.array_equal(new, old):
                assert_close(new, old, 0.0, f"{what} (unchanged)", case)


@conformance_property(
    "AGC-009",
    roles=("agc",),
    strategy=real(),
    act=act_once,
    examples=large,
    root=Root(rank=20, condition=lift_small_weights),
)
def eps_guard(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||W_i|| < eps are clipped against clip_factor * eps, never against 0."""
    _eps_guard(case, seen)


@conformance_property("AGC-010", roles=("agc",), strategy=real(), act=act_once, root=Root(rank=30))
def zero_grad_stays_zero(case: AGCCase, seen: dict[str, Any]) -> None:
    """An all-zero gradient unit is exactly zero afterwards (no NaN from 0/0)."""
    _, _, grads = before(case)
    for k, (facts, g) in enumerate(zip(seen["params"], grads, strict=True)):
        if g is None:
            continue
        new_rows = unit_rows(as64(grad_after(facts)))
        for i, (old, new) in enumerate(zip(unit_rows(g), new_rows, strict=True)):
            if not old.any() and new.any():  # NaN counts as non-zero
                raise AssertionError(
                    f"param {k} unit {i}: zero gradient became {brief(new)}; case {case!r}"
                )


@conformance_property("AGC-033", roles=("agc",), strategy=real(bounds="tiny"), act=act_once)
def tiny_bounds(case: AGCCase, seen: dict[str, Any]) -> None:
    """Bounds below 1e-6: the rule and the eps guard hold (no floor on the gradient norm)."""
    _rule(case, seen, tier="strict")
    _eps_guard(case, seen, tier="strict")
