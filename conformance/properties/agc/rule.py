"""Properties of the AGC clauses, checked against the ``agc`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.id.startswith("agc.")})[:3]
['AGC-001', 'AGC-002', 'AGC-003']

The ``agc`` role's canonical call is ``targets.agc(parameters, clip_factor=λ, eps=ε)``:
in place on ``.grad``, default unit axes (dim 0 for rank >= 2, the whole tensor for
rank <= 1). Each act builds fresh parameters from its example, calls the target and
sends back every gradient (bit-exact) with facts about it (same object, same storage,
strides); the judge rebuilds the same parameters from the example and compares, in
float64 arithmetic or with :func:`spec.reference.agc_reference`.

The core rule is checked on float32 / float64 gradients of rank 0 to 3 (and, as
explicit examples, on tensors of 2**17 elements beside small ones), so that a gap in
dtype or rank support cannot hide a rule bug; other dtypes and ranks have properties of
their own, ``not_applicable`` outside the target's domain. Plan-tier properties draw
bounds clip_factor * eps >= 1e-6 and, for float16 / bfloat16, allow the rounding of a
computation in that dtype (:func:`~conformance.properties._numeric.slack`); units whose
ratio ||G_i||/bound_i lies within :func:`~conformance.properties._numeric.band` of 1 may
go either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from conformance.domain import Domain, NotApplicable
from conformance.framework import Targets, attempt, conformance_property
from conformance.properties._numeric import (
    Array,
    as64,
    band,
    bits,
    grads64,
    ratios,
    slack,
    unit_rows,
)
from conformance.strategies.tensors import (
    HUGE_CASES,
    LARGE_CASES,
    LARGE_HIGH_RANK,
    REAL,
    AGCCase,
    BadAGCArgument,
    LocalityCase,
    ParamCase,
    agc_cases,
    bad_agc_arguments,
    locality_cases,
)
from spec.reference import agc_reference

__all__ = ["after_call", "call_agc", "count_host_reads"]

HALF = ("float16", "bfloat16")
COMPLEX = ("complex64", "complex128")
Strategy = Callable[[Domain], Any]


# --- worker side ----------------------------------------------------------------------------


def after_call(params: list[torch.Tensor], kept: list[Any]) -> list[dict[str, Any]]:
    """Act helper: each parameter after a call — its gradient (or None), its weight, and
    whether the gradient is the same object on the same storage with the same layout."""
    out = []
    for p, old in zip(params, kept, strict=True):
        grad = p.grad
        facts: dict[str, Any] = {"grad": grad, "weight": p.detach(), "dtype": p.dtype}
        if old is not None and grad is not None:
            facts["same_object"] = grad is old[0]
            facts["same_storage"] = grad.data_ptr() == old[1]
            facts["layout"] = [list(grad.shape), list(grad.stride())]
            facts["layout_before"] = [list(old[2]), list(old[3])]
            base = old[0]._base
            facts["gaps"] = base[..., 1::2] if base is not None and grad.ndim >= 1 else None
        out.append(facts)
    return out


def call_agc(agc: Any, case: AGCCase, **kwargs: Any) -> dict[str, Any]:
    """Act helper: fresh parameters of ``case``, one call of ``agc``, :func:`after_call`."""
    params = case.make_params()
    kept = [
        None if p.grad is None else (p.grad, p.grad.data_ptr(), p.grad.shape, p.grad.stride())
        for p in params
    ]
    args = kwargs or {"clip_factor": case.clip_factor, "eps": case.eps}
    agc(case.wrap(params), **args)
    return {"params": after_call(params, kept)}


def _act_once(targets: Targets, case: AGCCase) -> dict[str, Any]:
    return call_agc(targets.agc, case)


# --- strategies: the domain decides what may be drawn ----------------------------------------


def _real(**kw: Any) -> Strategy:
    """Core cases: float32 / float64 in the domain (not applicable if neither is)."""

    def make(domain: Domain) -> Any:
        dtypes = domain.only(REAL)
        if not dtypes:
            return NotApplicable("float32 and float64 are both outside the target's domain")
        if kw.get("min_rank", 0) > domain.max_rank:
            return NotApplicable(f"ranks >= {kw['min_rank']} are outside the target's domain")
        return agc_cases(dtypes, domain=domain, **kw)

    return make


def _of(dtypes: tuple[str, ...], what: str, **kw: Any) -> Strategy:
    """Cases of these dtypes only, those in the domain (not applicable if none is)."""

    def make(domain: Domain) -> Any:
        inside = domain.only(dtypes)
        if not inside:
            return NotApplicable(f"{what} ({', '.join(dtypes)}) are outside the target's domain")
        return agc_cases(inside, domain=domain, **kw)

    return make


def _large(domain: Domain) -> tuple[AGCCase, ...]:
    """The large explicit examples, where float32 and clip_factor 0.01 are in the domain."""
    if "float32" not in domain.dtypes or not domain.allows_clip_factor(0.01):
        return ()
    return tuple(
        c.with_params([p for p in c.params if p.ndim <= domain.max_rank]) for c in LARGE_CASES
    )


def _core(clause: str, strategy: Strategy, act: Any = _act_once, **kw: Any) -> Any:
    """A core AGC property: the strategy's cases plus the large explicit examples."""
    return conformance_property(
        clause, roles=("agc",), strategy=strategy, act=act, examples=_large, **kw
    )


# --- judge side -----------------------------------------------------------------------------


def _grad(facts: dict[str, Any]) -> torch.Tensor:
    """The gradient after the call, for a parameter that had one: None there is a violation."""
    grad = facts["grad"]
    if grad is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    if not isinstance(grad, torch.Tensor):
        raise AssertionError(f"a parameter's .grad became {grad!r}, not a tensor")
    return grad


def _before(case: AGCCase) -> tuple[list[torch.Tensor], list[Array], list[Any]]:
    """The case's parameters as the act saw them before the call, float64 weights and grads."""
    params = case.make_params()
    return params, [as64(p) for p in params], grads64(params)


def _brief(values: Array, limit: int = 8) -> str:
    flat = values.reshape(-1)
    shown = ", ".join(f"{v:.6g}" if not np.iscomplexobj(flat) else f"{v:.4g}" for v in flat[:limit])
    more = f", ... ({flat.size} values)" if flat.size > limit else ""
    return f"[{shown}{more}]"


def _close(got: Array, want: Array, allowed: Array, what: str, case: object) -> None:
    """AssertionError naming the worst entry unless |got - want| <= allowed everywhere."""
    if got.shape != want.shape:
        raise AssertionError(f"{what}: got shape {got.shape}, expected {want.shape}; case {case!r}")
    err = np.abs(got - want)
    if not np.all(err <= allowed):
        worst = int(np.argmax(np.where(err <= allowed, -np.inf, err - allowed)))
        g, w = got.reshape(-1)[worst].item(), want.reshape(-1)[worst].item()
        raise AssertionError(
            f"{what}: got {g!r}, expected {w!r} (allowed error {allowed.reshape(-1)[worst]:.3g}); "
            f"got {_brief(got)}, expected {_brief(want)}; case {case!r}"
        )


def _units(
    case: AGCCase, seen: dict[str, Any]
) -> Iterator[tuple[int, int, float, float, Array, Array, torch.dtype]]:
    """Yield (k, i, ratio, bound, G_i before, G_i after, dtype) for every unit with a gradient."""
    _, weights, before = _before(case)
    for k, (facts, w, g) in enumerate(zip(seen["params"], weights, before, strict=True)):
        if g is None:
            continue
        r, bound = ratios(w, g, case.clip_factor, case.eps)
        old_rows = unit_rows(g)
        new_rows = unit_rows(as64(_grad(facts)))
        if new_rows.shape != old_rows.shape:
            raise AssertionError(
                f"param {k}: gradient shape changed to {tuple(_grad(facts).shape)}; case {case!r}"
            )
        for i in range(len(r)):
            yield k, i, float(r[i]), float(bound[i]), old_rows[i], new_rows[i], facts["dtype"]


def _rows_close(
    k: int, got: Array, want: Array, allowed: Array, skip: Array, r: Array | None, case: object
) -> None:
    """All units at once (rows of one parameter); the first bad unit outside ``skip`` is
    reported as :func:`_close` does (with its ratio ``r``, where given)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.all(np.abs(got - want) <= allowed, axis=1) & ~skip
    if bad.any():
        i = int(np.argmax(bad))
        what = f"param {k} unit {i}" + ("" if r is None else f" (ratio {r[i]:.6g})")
        _close(got[i], want[i], allowed[i], what, case)


def _rule(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    """Every unit outside the band: above its bound -> G_i / ratio; below -> unchanged."""
    _, weights, before = _before(case)
    for k, (facts, w, g) in enumerate(zip(seen["params"], weights, before, strict=True)):
        if g is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        old, new = unit_rows(g), unit_rows(as64(_grad(facts)))
        if new.shape != old.shape:
            raise AssertionError(
                f"param {k}: gradient shape changed to {tuple(_grad(facts).shape)}; case {case!r}"
            )
        m = band(facts["dtype"], tier)
        above = r >= 1 + m
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(above[:, None], old / np.where(above, r, 1.0)[:, None], old)
        skip = ~above & (r > 1 - m)
        _rows_close(k, new, want, slack(old, want, facts["dtype"], tier), skip, r, case)


@_core("AGC-001", _real(max_rank=3))
def unit_rule(case: AGCCase, seen: dict[str, Any]) -> None:
    """Above the bound -> G_i * bound_i / ||G_i||; at or below -> unchanged (float32/64)."""
    _rule(case, seen)


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
        want = np.stack([as64(_grad({"grad": g})) for g in rows])
        got = unit_rows(as64(_grad(facts)))
        old = unit_rows(as64(_grad({"grad": p.grad_values()})))
        _close(got, want, 2 * slack(old, want, p.torch_dtype), f"param {k} vs its rows", case)


def _large_rank2(domain: Domain) -> tuple[AGCCase, ...]:
    cases = _large(domain)
    return tuple(c.with_params([p for p in c.params if p.ndim >= 2][:1]) for c in cases)


def _large_high_rank(domain: Domain) -> tuple[AGCCase, ...]:
    if domain.max_rank < 4 or not _large(domain):
        return ()
    return LARGE_HIGH_RANK


@conformance_property(
    "AGC-002",
    roles=("agc",),
    strategy=_real(min_rank=2, max_rank=3, max_params=3),
    act=_act_rows,
    examples=_large_rank2,
)
def default_axis_is_dim0(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 2 and 3: the result equals clipping each dim-0 slice alone as a flat vector."""
    _axis(case, seen)


@conformance_property(
    "AGC-002",
    roles=("agc",),
    strategy=_real(min_rank=4, max_rank=5, max_params=2),
    act=_act_rows,
    max_examples=10,
    examples=_large_high_rank,
)
def default_axis_high_ranks(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 4 and 5: the result equals clipping each dim-0 slice alone as a flat vector."""
    _axis(case, seen)


@conformance_property("AGC-003", roles=("agc",), strategy=_real(max_rank=1), act=_act_once)
def rank_le1_is_one_unit(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 0/1: one norm over the whole tensor decides, and the whole tensor is rescaled."""
    _rule(case, seen)


def _bitwise(case: AGCCase, seen: dict[str, Any]) -> None:
    params, weights, _ = _before(case)
    for k, (p, facts, w) in enumerate(zip(params, seen["params"], weights, strict=True)):
        g0 = p.grad
        if g0 is None:
            continue
        r, _ = ratios(w, as64(g0), case.clip_factor, case.eps)
        new = _grad(facts)
        if new.shape != g0.shape:
            raise AssertionError(f"param {k}: gradient shape {tuple(new.shape)}; case {case!r}")
        old_units = [g0] if g0.ndim <= 1 else list(g0.unbind(0))
        new_units = [new] if g0.ndim <= 1 else list(new.unbind(0))
        for i, (a, b) in enumerate(zip(old_units, new_units, strict=True)):
            if r[i] <= 1 - band(p.dtype) and bits(a) != bits(b):
                raise AssertionError(
                    f"param {k} unit {i}: ratio {r[i]:.6g} <= 1 but the gradient changed: "
                    f"{_brief(as64(a))} -> {_brief(as64(b))}; case {case!r}"
                )


@_core("AGC-004", _real())
def unclipped_units_bitwise(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| <= bound_i (outside the rounding band) keep every bit (float32/64)."""
    _bitwise(case, seen)


@conformance_property(
    "AGC-004",
    roles=("agc",),
    strategy=_of((*HALF, *COMPLEX), "float16, bfloat16 and complex gradients"),
    act=_act_once,
)
def unclipped_units_bitwise_other_dtypes(case: AGCCase, seen: dict[str, Any]) -> None:
    """The same in float16, bfloat16, complex64 and complex128 (those in the domain)."""
    _bitwise(case, seen)


def _on_bound(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    for k, i, r, bound, old, new, dtype in _units(case, seen):
        if r < 1 + band(dtype, tier):
            continue
        want = old / r
        norm = float(np.linalg.norm(new))
        allowed = float(np.linalg.norm(slack(old, want, dtype, tier))) * 2 + 2e-12 * bound
        if not abs(norm - bound) <= allowed:
            raise AssertionError(
                f"param {k} unit {i}: ratio {r:.6g} > 1 so the norm must become {bound!r}, "
                f"got {norm!r} (allowed error {allowed:.3g}); case {case!r}"
            )


@_core("AGC-005", _real())
def clipped_units_on_bound(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| > bound_i end with norm bound_i (float32/64, within rounding)."""
    _on_bound(case, seen)


@conformance_property(
    "AGC-005",
    roles=("agc",),
    strategy=_of(HALF, "float16 and bfloat16 gradients"),
    act=_act_once,
)
def clipped_units_on_bound_half(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: on the bound within the rounding of a computation in that dtype."""
    _on_bound(case, seen)


@conformance_property("AGC-006", roles=("agc",), strategy=_real(), act=_act_once)
def direction_preserved(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every entry keeps its sign and shrinks or stays; each unit keeps its direction."""
    for k, i, _r, _bound, old, new, _dtype in _units(case, seen):
        for part, o, n in (("real", old.real, new.real), ("imag", old.imag, new.imag)):
            flipped = np.sign(n) * np.sign(o) < 0
            grown = np.abs(n) > np.abs(o)
            if flipped.any() or grown.any():
                raise AssertionError(
                    f"param {k} unit {i} ({part} parts): entries flipped sign or grew: "
                    f"{_brief(o)} -> {_brief(n)}; case {case!r}"
                )
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


@conformance_property("AGC-007", roles=("agc",), strategy=_real(), act=_act_twice)
def idempotent(case: AGCCase, seen: dict[str, Any]) -> None:
    """A second call changes no gradient beyond dtype rounding."""
    for k, (p, g1, g2) in enumerate(zip(case.params, seen["once"], seen["twice"], strict=True)):
        if not p.has_grad:
            continue
        first, second = as64(_grad({"grad": g1})), as64(_grad({"grad": g2}))
        allowed = 4 * slack(first, first, p.torch_dtype)
        _close(second, first, allowed, f"param {k} second call", case)


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
)
def unit_locality(example: LocalityCase, seen: dict[str, Any]) -> None:
    """Rescaling one gradient unit changes no other unit's result (separates unit-wise AGC)."""
    if seen["skip"]:
        return
    rows = zip(example.case.params, seen["first"], seen["second"], strict=True)
    for k, (p, a, b) in enumerate(rows):
        if not p.has_grad:
            continue
        rows_a = unit_rows(as64(_grad({"grad": a})))
        rows_b = unit_rows(as64(_grad({"grad": b})))
        for i in range(rows_a.shape[0]):
            if (k, i) == (example.param, example.unit):
                continue
            what = (
                f"param {k} unit {i} after rescaling param {example.param} unit "
                f"{example.unit} by {example.factor}"
            )
            _close(rows_b[i], rows_a[i], slack(rows_a[i], rows_a[i], p.torch_dtype), what, example)


def _eps_guard(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    params, weights, before = _before(case)
    for k, (p, facts, w, g) in enumerate(zip(params, seen["params"], weights, before, strict=True)):
        if g is None:
            continue
        w_norm = np.linalg.norm(unit_rows(w), axis=1)
        floor = case.clip_factor * case.eps
        new_rows = unit_rows(as64(_grad(facts)))
        for i, (old, new) in enumerate(zip(unit_rows(g), new_rows, strict=True)):
            if w_norm[i] >= case.eps:
                continue
            g_norm, n_norm = float(np.linalg.norm(old)), float(np.linalg.norm(new))
            m = band(p.dtype, tier)
            if g_norm >= floor * (1 + m):
                want = old * floor / g_norm
                allowed = 2 * float(np.linalg.norm(slack(old, want, p.dtype, tier)))
                ok = abs(n_norm - floor) <= allowed + 2e-12 * floor
            elif g_norm <= floor * (1 - m):
                ok = bool(np.array_equal(new, old))
            else:
                ok = True
            if not ok:
                raise AssertionError(
                    f"param {k} unit {i}: ||W_i|| = {float(w_norm[i])!r} < eps, ||G_i|| = "
                    f"{g_norm!r}: expected norm min(||G_i||, clip_factor * eps = {floor!r}), "
                    f"got {n_norm!r}; case {case!r}"
                )


@_core("AGC-009", _real())
def eps_guard(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||W_i|| < eps are clipped against clip_factor * eps, never against 0."""
    _eps_guard(case, seen)


@conformance_property("AGC-010", roles=("agc",), strategy=_real(), act=_act_once)
def zero_grad_stays_zero(case: AGCCase, seen: dict[str, Any]) -> None:
    """An all-zero gradient unit is exactly zero afterwards (no NaN from 0/0)."""
    _, _, before = _before(case)
    for k, (facts, g) in enumerate(zip(seen["params"], before, strict=True)):
        if g is None:
            continue
        new_rows = unit_rows(as64(_grad(facts)))
        for i, (old, new) in enumerate(zip(unit_rows(g), new_rows, strict=True)):
            if not old.any() and new.any():  # NaN counts as non-zero
                raise AssertionError(
                    f"param {k} unit {i}: zero gradient became {_brief(new)}; case {case!r}"
                )


@_core("AGC-011", _real())
def weights_untouched(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameter values are bit-for-bit the same after the call."""
    params, _, _ = _before(case)
    for k, (p, facts) in enumerate(zip(params, seen["params"], strict=True)):
        if bits(p) != bits(facts["weight"]):
            raise AssertionError(f"param {k}: the weights were modified; case {case!r}")


@_core("AGC-012", _real(layouts=("contiguous",)))
def grad_storage_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Each .grad is the same object on the same storage with the same shape and strides."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad:
            continue
        _grad(facts)
        if not (facts["same_object"] and facts["same_storage"]):
            raise AssertionError(
                f"param {k}: .grad was replaced, not written in place; case {case!r}"
            )
        if facts["layout"] != facts["layout_before"]:
            (s0, t0), (s1, t1) = facts["layout_before"], facts["layout"]
            raise AssertionError(
                f"param {k}: .grad shape/strides changed {s0}/{t0} -> {s1}/{t1}; case {case!r}"
            )


@conformance_property("AGC-013", roles=("agc",), strategy=_real(), act=_act_once)
def none_grads_skipped(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameters without gradient raise nothing and keep .grad None."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad and facts["grad"] is not None:
            raise AssertionError(f"param {k}: .grad was None and became a tensor; case {case!r}")


def _act_containers(targets: Targets, case: AGCCase) -> dict[str, Any]:
    ref = case.make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    runs: dict[str, Any] = {"list": [p.grad for p in ref]}
    for how in ("tuple", "generator"):
        params = case.make_params()
        wrapped = tuple(params) if how == "tuple" else (p for p in params)
        targets.agc(wrapped, clip_factor=case.clip_factor, eps=case.eps)
        runs[how] = [p.grad for p in params]
    return runs


def _agree(case: AGCCase, seen: dict[str, Any]) -> None:
    ref = seen.pop("list")
    for how, grads in seen.items():
        for k, (p, a, b) in enumerate(zip(case.params, ref, grads, strict=True)):
            if not p.has_grad:
                continue
            want, got = as64(_grad({"grad": a})), as64(_grad({"grad": b}))
            _close(got, want, slack(want, want, p.torch_dtype), f"{how}: param {k}", case)


@conformance_property(
    "AGC-014", roles=("agc",), strategy=_real(containers=("list",)), act=_act_containers
)
def containers_agree(case: AGCCase, seen: dict[str, Any]) -> None:
    """A list, a tuple and a one-shot generator of the same parameters give one result."""
    _agree(case, seen)


def _act_single(targets: Targets, case: AGCCase) -> dict[str, Any]:
    ref = case.make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    singles = case.make_params()
    for p in singles:
        targets.agc(p, clip_factor=case.clip_factor, eps=case.eps)
    return {"list": [p.grad for p in ref], "single tensors": [p.grad for p in singles]}


@conformance_property(
    "AGC-034", roles=("agc",), strategy=_real(containers=("list",)), act=_act_single
)
def single_tensor(case: AGCCase, seen: dict[str, Any]) -> None:
    """Each parameter passed alone as a tensor gives the result of a one-element list."""
    _agree(case, seen)


@conformance_property(
    "AGC-015", roles=("agc",), strategy=lambda d: agc_cases(d.dtypes, domain=d), act=_act_once
)
def dtype_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every dtype of the domain is accepted and each gradient keeps its dtype."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad:
            continue
        d = p.torch_dtype
        got = _grad(facts).dtype
        if got != d or facts["dtype"] != d:
            raise AssertionError(
                f"param {k}: dtype {d} became grad {got} / weight {facts['dtype']}; {case!r}"
            )


def _moduli_twin(p: Any) -> ParamCase:
    """The real parameter of the moduli: same shape and rank, |W| and |G| entry by entry, so the
    same unit norms as the complex one (the modulus) whatever the unit rule."""
    real = "float32" if p.dtype == "complex64" else "float64"
    weight = p.weight_tensor().abs().to(getattr(torch, real)).tolist()
    grad = p.grad_values().abs().to(getattr(torch, real)).tolist()
    return ParamCase(weight=weight, grad=grad, dtype=real, layout="contiguous")


def _act_twin(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    twins = case.with_params([_moduli_twin(p) for p in case.params]).make_params()
    targets.agc(twins, clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "twins": [t.grad for t in twins]}


@conformance_property(
    "AGC-016",
    roles=("agc",),
    strategy=_of(COMPLEX, "complex gradients", min_rank=0, max_rank=3, none_grads=False),
    act=_act_twin,
)
def complex_modulus(case: AGCCase, seen: dict[str, Any]) -> None:
    """A complex gradient is scaled, entry by entry, as the target scales the real tensor of its
    moduli (same shape: the norms are the moduli's, whatever the unit rule)."""
    for k, (p, facts, t) in enumerate(zip(case.params, seen["params"], seen["twins"], strict=True)):
        got, g = as64(_grad(facts)), as64(_grad({"grad": p.grad_values()}))
        twin, size = as64(_grad({"grad": t})), np.abs(g)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(size > 0, twin / np.where(size > 0, size, 1.0), 0.0)
        want = g * factor
        allowed = 4 * slack(size, np.abs(want), p.torch_dtype)
        _close(got, want, allowed, f"param {k} vs the target's result on its moduli", case)


def _reference(case: AGCCase, seen: dict[str, Any], tier: str = "plan") -> None:
    params, weights, before = _before(case)
    expected, _ = agc_reference(weights, before, case.clip_factor, case.eps)
    rows = zip(params, seen["params"], weights, before, expected, strict=True)
    for k, (p, facts, w, g, want) in enumerate(rows):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        got_rows, want_rows, old_rows = unit_rows(as64(_grad(facts))), unit_rows(want), unit_rows(g)
        if got_rows.shape != want_rows.shape:
            raise AssertionError(f"param {k}: gradient shape changed; case {case!r}")
        skip = np.abs(r - 1) < band(p.dtype, tier)  # may go either way
        allowed = slack(old_rows, want_rows, p.dtype, tier)
        _rows_close(k, got_rows, want_rows, allowed, skip, r, case)


def _huge(domain: Domain) -> tuple[AGCCase, ...]:
    """The large examples and the one above every size threshold (float32, factor 0.01)."""
    large = _large(domain)
    return (*large, *HUGE_CASES) if large and domain.max_rank >= 2 else large


@conformance_property("AGC-017", roles=("agc",), strategy=_real(), act=_act_once, examples=_huge)
def matches_reference(case: AGCCase, seen: dict[str, Any]) -> None:
    """float32/64: the result equals spec.reference.agc_reference within rounding."""
    _reference(case, seen)


@conformance_property(
    "AGC-017", roles=("agc",), strategy=_of(HALF, "float16 and bfloat16 gradients"), act=_act_once
)
def matches_reference_half(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: the reference within the rounding of a computation in that dtype."""
    _reference(case, seen)


def _tiny_factors(domain: Domain) -> tuple[AGCCase, ...]:
    """Zero weights and large gradients: factors far below the half dtypes' normal range."""
    cases = []
    for dtype in domain.only(HALF):
        grads = ([62.5, 0.0], [12.5, -3.0]) if dtype == "float16" else ([3e4, 0.0], [7e3, 1.0])
        params = tuple(ParamCase([0.0, 0.0], g, dtype) for g in grads)
        cases.append(AGCCase(params=params, clip_factor=0.01, eps=1e-3))
    return tuple(cases)


@conformance_property(
    "AGC-032",
    roles=("agc",),
    strategy=_of(("float64",), "float64 gradients"),
    act=_act_once,
)
def float64_accuracy(case: AGCCase, seen: dict[str, Any]) -> None:
    """float64: the reference to 1e-10 relative (norms, bound and factor in float64)."""
    _reference(case, seen, tier="strict")


@conformance_property(
    "AGC-032",
    roles=("agc",),
    strategy=_of(HALF, "float16 and bfloat16 gradients"),
    act=_act_once,
    examples=_tiny_factors,
)
def half_precision_accuracy(case: AGCCase, seen: dict[str, Any]) -> None:
    """float16 / bfloat16: the reference within the rounding of the final cast (norms and factors
    computed in float32), tiny factors included."""
    _reference(case, seen, tier="strict")


@conformance_property("AGC-033", roles=("agc",), strategy=_real(bounds="tiny"), act=_act_once)
def tiny_bounds(case: AGCCase, seen: dict[str, Any]) -> None:
    """Bounds below 1e-6: the rule and the eps guard hold (no floor on the gradient norm)."""
    _rule(case, seen, tier="strict")
    _eps_guard(case, seen, tier="strict")


def _contiguous(case: AGCCase) -> AGCCase:
    return case.with_params(
        [p.with_values(p.weight_tensor(), p.grad_values()) for p in case.params]
    )


def _act_layouts(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    ref = _contiguous(case).make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "contiguous": [p.grad for p in ref]}


@conformance_property(
    "AGC-018",
    roles=("agc",),
    strategy=_real(layouts=("transposed", "strided")),
    act=_act_layouts,
)
def noncontiguous_like_contiguous(case: AGCCase, seen: dict[str, Any]) -> None:
    """Transposed and strided gradient views are clipped in place like contiguous copies."""
    rows = zip(case.params, seen["params"], seen["contiguous"], strict=True)
    for k, (p, facts, b) in enumerate(rows):
        if not p.has_grad:
            continue
        got, want = as64(_grad(facts)), as64(_grad({"grad": b}))
        what = f"param {k} (non-contiguous vs contiguous)"
        _close(got, want, slack(want, want, p.torch_dtype), what, case)
        gaps = facts.get("gaps")
        if (
            p.layout == "strided"
            and gaps is not None
            and bits(gaps) != bits(torch.full_like(gaps, 7.0))
        ):
            raise AssertionError(
                f"param {k}: entries of the gradient's buffer outside the view changed; "
                f"case {case!r}"
            )


def _act_bad_arguments(targets: Targets, example: BadAGCArgument) -> dict[str, Any]:
    params = example.case.make_params()
    got = attempt(targets.agc, example.case.wrap(params), **example.kwargs())
    return {"raised": got.raised, "grads": [p.grad for p in params]}


@conformance_property(
    "AGC-019", roles=("agc",), strategy=bad_agc_arguments(), act=_act_bad_arguments
)
def bad_arguments_rejected(example: BadAGCArgument, seen: dict[str, Any]) -> None:
    """clip_factor or eps <= 0 / NaN / inf: ValueError naming it, before touching gradients."""
    info = seen["raised"]
    if info is None:
        raise AssertionError(f"{example.name}={example.value!r} was accepted; {example!r}")
    if not info.is_a("ValueError"):
        raise AssertionError(
            f"{example.name}={example.value!r} raised {info.name}, not ValueError: {info.message}"
        )
    if example.name not in info.message:
        raise AssertionError(
            f"ValueError for {example.name}={example.value!r} does not name the argument: "
            f"{info.message}"
        )
    params = example.case.make_params()
    for k, (p, g) in enumerate(zip(params, seen["grads"], strict=True)):
        if p.grad is not None and bits(_grad({"grad": g})) != bits(p.grad):
            raise AssertionError(f"param {k}: gradient modified before the error; {example!r}")


def _act_sparse(targets: Targets, _: None) -> dict[str, Any]:
    dense = torch.nn.Parameter(torch.ones(2, 3))
    dense.grad = torch.full((2, 3), 100.0)
    sparse = torch.nn.Parameter(torch.ones(3, 2))
    sparse.grad = torch.full((3, 2), 100.0).to_sparse()
    got = attempt(targets.agc, [dense, sparse], clip_factor=0.01, eps=1e-3)
    return {"raised": got.raised, "dense": dense.grad}


@conformance_property("AGC-020", roles=("agc",), act=_act_sparse)
def sparse_rejected(_: None, seen: dict[str, Any]) -> None:
    """A sparse gradient (after a dense one) raises an error saying so; nothing is modified."""
    info = seen["raised"]
    if info is None:
        raise AssertionError("a sparse gradient was accepted without error")
    if not info.is_a("ValueError", "TypeError", "RuntimeError", "NotImplementedError"):
        raise AssertionError(f"a sparse gradient raised {info.name}: {info.message}")
    if "sparse" not in info.message.lower():
        raise AssertionError(f"the error does not say 'sparse': {info.name}: {info.message}")
    if not torch.equal(_grad({"grad": seen["dense"]}), torch.full((2, 3), 100.0)):
        raise AssertionError("the dense gradient was modified before the sparse one raised")


def _nonfinite_rows(g: Array) -> Array:
    return np.array([not np.isfinite(row).all() for row in unit_rows(g)], dtype=bool)


def _finite_twin(case: AGCCase) -> AGCCase:
    """The case with every non-finite gradient entry replaced by 0."""
    out = []
    for p in case.params:
        grad = p.grad_values()
        if grad is not None:
            grad = torch.where(torch.isfinite(grad), grad, torch.zeros_like(grad))
        out.append(p.with_values(p.weight_tensor(), grad))
    return case.with_params(out)


def _act_nonfinite(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    alone = _finite_twin(case).make_params()
    targets.agc(alone, clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "alone": [p.grad for p in alone]}


@conformance_property(
    "AGC-021",
    roles=("agc",),
    strategy=_real(nonfinite=True, containers=("list",)),
    act=_act_nonfinite,
)
def nonfinite_default(case: AGCCase, seen: dict[str, Any]) -> None:
    """NaN/inf gradients raise nothing, stay non-finite, and every other unit ends as it does
    when the non-finite entries are zeros (the target's own result: only isolation is judged)."""
    _, _, before = _before(case)
    rows = zip(seen["params"], seen["alone"], before, strict=True)
    for k, (facts, alone, g) in enumerate(rows):
        if g is None:
            continue
        bad = _nonfinite_rows(g)
        got_rows, want_rows = unit_rows(as64(_grad(facts))), unit_rows(as64(_grad({"grad": alone})))
        if got_rows.shape != want_rows.shape:
            raise AssertionError(f"param {k}: gradient shape changed; case {case!r}")
        for i in range(len(bad)):
            if bad[i] and np.isfinite(got_rows[i]).all():
                raise AssertionError(
                    f"param {k} unit {i}: non-finite gradient {_brief(unit_rows(g)[i])} "
                    f"became finite {_brief(got_rows[i])}; case {case!r}"
                )
        allowed = slack(want_rows, want_rows, facts["dtype"])
        _rows_close(k, got_rows, want_rows, allowed, bad, None, case)


@conformance_property(
    "AGC-022",
    roles=("agc",),
    strategy=_real(nonfinite=True, containers=("list",)),
    act=_act_once,
)
def nonfinite_convention(case: AGCCase, seen: dict[str, Any]) -> None:
    """A unit with NaN gradient norm is left unchanged; one with infinite norm is times 0."""
    _, _, before = _before(case)
    for k, (facts, g0) in enumerate(zip(seen["params"], before, strict=True)):
        if g0 is None:
            continue
        old_rows, new_rows = unit_rows(g0), unit_rows(as64(_grad(facts)))
        for i, (old, new) in enumerate(zip(old_rows, new_rows, strict=True)):
            if np.isnan(old).any():
                ok = bool(np.array_equal(old, new, equal_nan=True))
                rule = "NaN norm: unchanged"
            elif np.isinf(old).any():
                finite = np.isfinite(old)
                ok = bool(np.all(new[finite] == 0) and np.all(np.isnan(new[~finite])))
                rule = "infinite norm: multiplied by 0"
            else:
                continue
            if not ok:
                raise AssertionError(
                    f"param {k} unit {i}: {rule}, but {_brief(old)} -> {_brief(new)}; case {case!r}"
                )


# --- AGC-025: no host synchronisation -------------------------------------------------------

HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy")
"""Tensor methods that read a value on the host (a device sync on an accelerator)."""


def count_host_reads(fn: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Act helper: run ``fn`` with every :data:`HOST_READS` method counted; (result, reads)."""
    calls: list[str] = []
    saved = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def spy(name: str) -> Any:
        original = saved[name]

        def wrapper(self: torch.Tensor, *a: Any, **k: Any) -> Any:
            calls.append(name)
            return original(self, *a, **k)

        return wrapper

    try:
        for name in HOST_READS:
            setattr(torch.Tensor, name, spy(name))
        result = fn()
    finally:
        for name, original in saved.items():
            setattr(torch.Tensor, name, original)
    return result, calls


def _act_sync(targets: Targets, case: AGCCase) -> dict[str, Any]:
    params = case.make_params()
    result, reads = count_host_reads(
        lambda: targets.agc(params, clip_factor=case.clip_factor, eps=case.eps)
    )
    return {
        "reads": reads,
        "returned": type(result).__name__,
        "tensor": isinstance(result, torch.Tensor),
    }


_sync_property = conformance_property(
    "AGC-025",
    roles=("agc",),
    strategy=_real(none_grads=False, containers=("list",)),
    act=_act_sync,
    max_examples=5,
)
"""AGC-025's two properties decide on the same observation of one call."""


@_sync_property
def no_host_sync(case: AGCCase, seen: dict[str, Any]) -> None:
    """The call reads no tensor value on the host."""
    if seen["reads"]:
        counts = {n: seen["reads"].count(n) for n in dict.fromkeys(seen["reads"])}
        raise AssertionError(
            f"the call read tensors on the host: {counts} (each a device sync on a GPU); "
            f"case {case!r}"
        )


@_sync_property
def count_returned(case: AGCCase, seen: dict[str, Any]) -> None:
    """The number of clipped units comes back as a tensor (reading it is the caller's sync)."""
    if not seen["tensor"]:
        raise AssertionError(f"it returned {seen['returned']}, not a tensor of clipped units")
