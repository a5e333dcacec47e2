"""Properties of the AGC clauses, checked against the ``agc`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.id.startswith("agc.")})[:3]
['AGC-001', 'AGC-002', 'AGC-003']

The ``agc`` role's canonical call is ``targets.agc(parameters, clip_factor=λ,
eps=ε)``: in place on ``.grad``, default unit axes (dim 0 for rank >= 2, the
whole tensor for rank <= 1). Each act builds fresh parameters from its example,
calls the target and sends back every gradient (bit-exact) with facts about it
(same object, same storage, strides); the judge rebuilds the same parameters from
the example and compares, in float64 arithmetic or with
:func:`spec.reference.agc_reference`. Units whose ratio ||G_i||/bound_i lies
within :func:`band` of 1 may go either way (norm rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from conformance.properties import Targets, attempt, conformance_property
from conformance.properties._numeric import (
    Array,
    as64,
    atol,
    band,
    bits,
    grads64,
    ratios,
    rtol,
    unit_rows,
)
from conformance.strategies.tensors import (
    AGCCase,
    BadAGCArgument,
    LocalityCase,
    ParamCase,
    agc_cases,
    bad_agc_arguments,
    locality_cases,
)
from spec.reference import agc_reference

__all__ = ["after_call", "call_agc"]

_WIDE = ("float64", "complex128")


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


# --- judge side -----------------------------------------------------------------------------


def _grad(facts: dict[str, Any]) -> torch.Tensor:
    """The gradient after the call, for a parameter that had one: None there is a violation."""
    grad = facts["grad"]
    if grad is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    return grad


def _before(case: AGCCase) -> tuple[list[torch.Tensor], list[Array], list[Any]]:
    """The case's parameters as the act saw them before the call, float64 weights and grads."""
    params = case.make_params()
    return params, [as64(p) for p in params], grads64(params)


def _close(got: Array, want: Array, tol: float, slack: float, what: str, case: object) -> None:
    err = np.abs(got - want)
    limit = tol * np.abs(want) + slack
    if not np.all(err <= limit):
        worst = int(np.argmax(err - limit))
        raise AssertionError(
            f"{what}: got {got.reshape(-1)[worst].item()!r}, expected "
            f"{want.reshape(-1)[worst].item()!r} (tolerance {tol:g} relative + {slack:g}); got "
            f"{got.tolist()!r}, expected {want.tolist()!r}; case {case!r}"
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
        for i in range(len(r)):
            yield k, i, float(r[i]), float(bound[i]), old_rows[i], new_rows[i], facts["dtype"]


@conformance_property("AGC-001", roles=("agc",), strategy=agc_cases(_WIDE), act=_act_once)
def unit_rule(case: AGCCase, seen: dict[str, Any]) -> None:
    """Float64 units: above the bound -> G_i * bound_i / ||G_i||; at or below -> unchanged."""
    for k, i, r, _bound, old, new, dtype in _units(case, seen):
        m = band(dtype)
        if r >= 1 + m:
            want = old / r
        elif r <= 1 - m:
            want = old
        else:
            continue
        _close(new, want, rtol(dtype), atol(dtype), f"param {k} unit {i} (ratio {r:g})", case)


def _split_rows(p: ParamCase) -> list[ParamCase]:
    """The dim-0 slices of a rank >= 2 parameter, each as a flat rank-1 parameter."""
    out = []
    for i in range(len(p.weight)):
        w = torch.tensor(p.weight[i], dtype=p.torch_dtype).reshape(-1).tolist()
        g = None
        if p.grad is not None:
            g = torch.tensor(p.grad[i], dtype=p.torch_dtype).reshape(-1).tolist()
        out.append(ParamCase(weight=w, grad=g, dtype=p.dtype))
    return out


def _act_rows(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    rows: list[Any] = []
    for spec_p in case.params:
        if spec_p.grad is None:
            rows.append(None)
            continue
        alone = AGCCase(
            params=tuple(_split_rows(spec_p)), clip_factor=case.clip_factor, eps=case.eps
        )
        parts = alone.make_params()
        targets.agc(parts, clip_factor=case.clip_factor, eps=case.eps)
        rows.append([q.grad for q in parts])
    return {**seen, "rows": rows}


@conformance_property(
    "AGC-002", roles=("agc",), strategy=agc_cases(min_rank=2, max_rank=5), act=_act_rows
)
def default_axis_is_dim0(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank >= 2: the result equals clipping each dim-0 slice alone as a flat vector."""
    for k, (facts, rows) in enumerate(zip(seen["params"], seen["rows"], strict=True)):
        if rows is None:
            continue
        want = np.stack([as64(_grad({"grad": g})) for g in rows])
        got = unit_rows(as64(_grad(facts)))
        dtype = facts["dtype"]
        _close(got, want, 2 * rtol(dtype), atol(dtype), f"param {k} vs its rows", case)


@conformance_property("AGC-003", roles=("agc",), strategy=agc_cases(max_rank=1), act=_act_once)
def rank_le1_is_one_unit(case: AGCCase, seen: dict[str, Any]) -> None:
    """Rank 0/1: one norm over the whole tensor decides, and the whole tensor is rescaled."""
    for k, i, r, _bound, old, new, dtype in _units(case, seen):
        m = band(dtype)
        want = old / r if r >= 1 + m else old if r <= 1 - m else None
        if want is not None:
            _close(new, want, rtol(dtype), atol(dtype), f"param {k} unit {i} (ratio {r:g})", case)


@conformance_property("AGC-004", roles=("agc",), strategy=agc_cases(), act=_act_once)
def unclipped_units_bitwise(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| <= bound_i (outside the rounding band) keep every bit."""
    params, weights, _ = _before(case)
    for k, (p, facts, w) in enumerate(zip(params, seen["params"], weights, strict=True)):
        g0 = p.grad
        if g0 is None:
            continue
        r, _ = ratios(w, as64(g0), case.clip_factor, case.eps)
        new = _grad(facts)
        old_units = [g0] if g0.ndim <= 1 else list(g0.unbind(0))
        new_units = [new] if g0.ndim <= 1 else list(new.reshape(g0.shape).unbind(0))
        for i, (a, b) in enumerate(zip(old_units, new_units, strict=True)):
            if r[i] <= 1 - band(p.dtype) and bits(a) != bits(b):
                raise AssertionError(
                    f"param {k} unit {i}: ratio {r[i]:g} <= 1 but the gradient changed: "
                    f"{a.tolist()!r} -> {b.tolist()!r}; case {case!r}"
                )


@conformance_property("AGC-005", roles=("agc",), strategy=agc_cases(), act=_act_once)
def clipped_units_on_bound(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||G_i|| > bound_i end with norm bound_i (within dtype rounding)."""
    for k, i, r, bound, _old, new, dtype in _units(case, seen):
        if r < 1 + band(dtype):
            continue
        norm = float(np.linalg.norm(new))
        slack = atol(dtype) * math.sqrt(new.size) * 2
        if not abs(norm - bound) <= 2 * rtol(dtype) * bound + slack:
            raise AssertionError(
                f"param {k} unit {i}: ratio {r:g} > 1 so the norm must become {bound!r}, "
                f"got {norm!r}; case {case!r}"
            )


@conformance_property("AGC-006", roles=("agc",), strategy=agc_cases(), act=_act_once)
def direction_preserved(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every entry keeps its sign and shrinks or stays; each unit keeps its direction."""
    for k, i, _r, _bound, old, new, dtype in _units(case, seen):
        for part, o, n in (("real", old.real, new.real), ("imag", old.imag, new.imag)):
            flipped = np.sign(n) * np.sign(o) < 0
            grown = np.abs(n) > np.abs(o)
            if flipped.any() or grown.any():
                raise AssertionError(
                    f"param {k} unit {i} ({part} parts): entries flipped sign or grew: "
                    f"{o.tolist()!r} -> {n.tolist()!r}; case {case!r}"
                )
        n_norm, o_norm = np.linalg.norm(new), np.linalg.norm(old)
        if n_norm > atol(dtype) * 1e3 * math.sqrt(new.size) and o_norm > 0:
            cosine = float(np.real(np.vdot(old, new)) / (n_norm * o_norm))
            if cosine < 1 - 4 * rtol(dtype):
                raise AssertionError(
                    f"param {k} unit {i}: direction changed (cosine {cosine!r}); case {case!r}"
                )


def _act_twice(targets: Targets, case: AGCCase) -> dict[str, Any]:
    params = case.make_params()
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    once = [None if p.grad is None else p.grad.clone() for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    return {"once": once, "twice": [p.grad for p in params]}


@conformance_property("AGC-007", roles=("agc",), strategy=agc_cases(), act=_act_twice)
def idempotent(case: AGCCase, seen: dict[str, Any]) -> None:
    """A second call changes no gradient beyond dtype rounding."""
    for k, (p, g1, g2) in enumerate(zip(case.params, seen["once"], seen["twice"], strict=True)):
        if p.grad is None:
            continue
        first, second = as64(_grad({"grad": g1})), as64(_grad({"grad": g2}))
        dtype = p.torch_dtype
        _close(second, first, 4 * rtol(dtype), 2 * atol(dtype), f"param {k} second call", case)


def _rescaled(example: LocalityCase) -> AGCCase | None:
    """The case with one unit's gradient scaled by ``factor`` (None if that overflows)."""
    case = example.case
    target = case.params[example.param]
    wide = torch.complex128 if target.dtype.startswith("complex") else torch.float64
    grad = torch.tensor(target.grad, dtype=wide)
    grad[example.unit] = grad[example.unit] * example.factor
    changed = torch.tensor(grad.tolist(), dtype=target.torch_dtype)
    if not torch.isfinite(changed).all():
        return None  # the rescaled unit overflowed this dtype: nothing to compare
    edited = ParamCase(target.weight, changed.tolist(), target.dtype, target.layout)
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


@conformance_property("AGC-008", roles=("agc",), strategy=locality_cases(), act=_act_locality)
def unit_locality(example: LocalityCase, seen: dict[str, Any]) -> None:
    """Rescaling one gradient unit changes no other unit's result (separates unit-wise AGC)."""
    if seen["skip"]:
        return
    for k, (p, a, b) in enumerate(
        zip(example.case.params, seen["first"], seen["second"], strict=True)
    ):
        if p.grad is None:
            continue
        rows_a = unit_rows(as64(_grad({"grad": a})))
        rows_b = unit_rows(as64(_grad({"grad": b})))
        for i in range(rows_a.shape[0]):
            if (k, i) == (example.param, example.unit):
                continue
            _close(
                rows_b[i],
                rows_a[i],
                rtol(p.torch_dtype),
                atol(p.torch_dtype),
                f"param {k} unit {i} after rescaling param {example.param} unit "
                f"{example.unit} by {example.factor}",
                example,
            )


@conformance_property("AGC-009", roles=("agc",), strategy=agc_cases(), act=_act_once)
def eps_guard(case: AGCCase, seen: dict[str, Any]) -> None:
    """Units with ||W_i|| < eps are clipped against clip_factor * eps, never against 0."""
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
            slack = atol(p.dtype) * math.sqrt(new.size) * 2
            m = band(p.dtype)
            if g_norm >= floor * (1 + m):
                ok = abs(n_norm - floor) <= 2 * rtol(p.dtype) * floor + slack
            elif g_norm <= floor * (1 - m):
                ok = bool(np.array_equal(new, old))
            else:
                ok = True
            if not ok:
                raise AssertionError(
                    f"param {k} unit {i}: ||W_i|| = {float(w_norm[i])!r} < eps, ||G_i|| = "
                    f"{g_norm!r}: expected norm min(||G_i||, {floor!r}), got {n_norm!r}; "
                    f"case {case!r}"
                )


@conformance_property("AGC-010", roles=("agc",), strategy=agc_cases(), act=_act_once)
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
                    f"param {k} unit {i}: zero gradient became {new.tolist()!r}; case {case!r}"
                )


@conformance_property("AGC-011", roles=("agc",), strategy=agc_cases(), act=_act_once)
def weights_untouched(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameter values are bit-for-bit the same after the call."""
    params, _, _ = _before(case)
    for k, (p, facts) in enumerate(zip(params, seen["params"], strict=True)):
        if bits(p) != bits(facts["weight"]):
            raise AssertionError(f"param {k}: the weights were modified; case {case!r}")


@conformance_property("AGC-012", roles=("agc",), strategy=agc_cases(), act=_act_once)
def grad_storage_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Each .grad is the same object on the same storage with the same shape and strides."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if p.grad is None:
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


@conformance_property("AGC-013", roles=("agc",), strategy=agc_cases(), act=_act_once)
def none_grads_skipped(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameters without gradient raise nothing and keep .grad None."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if p.grad is None and facts["grad"] is not None:
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
    singles = case.make_params()
    for p in singles:
        targets.agc(p, clip_factor=case.clip_factor, eps=case.eps)
    runs["single tensors"] = [p.grad for p in singles]
    return runs


@conformance_property(
    "AGC-014", roles=("agc",), strategy=agc_cases(containers=("list",)), act=_act_containers
)
def containers_agree(case: AGCCase, seen: dict[str, Any]) -> None:
    """A list, a tuple, a one-shot generator and (one by one) single tensors give one result."""
    ref = seen.pop("list")
    for how, grads in seen.items():
        for k, (p, a, b) in enumerate(zip(case.params, ref, grads, strict=True)):
            if p.grad is None:
                continue
            want, got = as64(_grad({"grad": a})), as64(_grad({"grad": b}))
            dtype = p.torch_dtype
            _close(got, want, rtol(dtype), atol(dtype), f"{how}: param {k}", case)


@conformance_property("AGC-015", roles=("agc",), strategy=agc_cases(), act=_act_once)
def dtype_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every supported dtype is accepted and each gradient keeps its dtype."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if p.grad is None:
            continue
        d = p.torch_dtype
        got = _grad(facts).dtype
        if got != d or facts["dtype"] != d:
            raise AssertionError(
                f"param {k}: dtype {d} became grad {got} / weight {facts['dtype']}; {case!r}"
            )


def _real_twin(p: ParamCase) -> ParamCase:
    real = "float32" if p.dtype == "complex64" else "float64"
    weight = torch.view_as_real(p.weight_tensor()).tolist()
    grad = torch.view_as_real(torch.tensor(p.grad, dtype=p.torch_dtype)).tolist()
    return ParamCase(weight=weight, grad=grad, dtype=real, layout="contiguous")


def _act_twin(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    twins = case.with_params([_real_twin(p) for p in case.params]).make_params()
    targets.agc(twins, clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "twins": [t.grad for t in twins]}


@conformance_property(
    "AGC-016",
    roles=("agc",),
    strategy=agc_cases(("complex64", "complex128"), min_rank=2, max_rank=4, none_grads=False),
    act=_act_twin,
)
def complex_modulus(case: AGCCase, seen: dict[str, Any]) -> None:
    """A complex parameter is clipped exactly as the real tensor of its (re, im) pairs."""
    for k, (p, facts, t) in enumerate(zip(case.params, seen["params"], seen["twins"], strict=True)):
        got = as64(torch.view_as_real(_grad(facts)))
        dtype = p.torch_dtype
        want = as64(_grad({"grad": t}))
        _close(got, want, 2 * rtol(dtype), atol(dtype), f"param {k} vs twin", case)


@conformance_property("AGC-017", roles=("agc",), strategy=agc_cases(), act=_act_once)
def matches_reference(case: AGCCase, seen: dict[str, Any]) -> None:
    """The result equals spec.reference.agc_reference within the rounding of each dtype."""
    params, weights, before = _before(case)
    expected, _ = agc_reference(weights, before, case.clip_factor, case.eps)
    rows = zip(params, seen["params"], weights, before, expected, strict=True)
    for k, (p, facts, w, g, want) in enumerate(rows):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        got_rows, want_rows = unit_rows(as64(_grad(facts))), unit_rows(want)
        for i in range(len(r)):
            near = abs(r[i] - 1) < band(p.dtype)
            tol = rtol(p.dtype) + (band(p.dtype) if near else 0.0)
            _close(got_rows[i], want_rows[i], tol, atol(p.dtype), f"param {k} unit {i}", case)


def _contiguous(case: AGCCase) -> AGCCase:
    return case.with_params(
        [ParamCase(p.weight, p.grad, p.dtype, "contiguous") for p in case.params]
    )


def _act_layouts(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    ref = _contiguous(case).make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "contiguous": [p.grad for p in ref]}


@conformance_property(
    "AGC-018",
    roles=("agc",),
    strategy=agc_cases(layouts=("transposed", "strided")),
    act=_act_layouts,
)
def noncontiguous_like_contiguous(case: AGCCase, seen: dict[str, Any]) -> None:
    """Transposed and strided gradient views are clipped in place like contiguous copies."""
    rows = zip(case.params, seen["params"], seen["contiguous"], strict=True)
    for k, (p, facts, b) in enumerate(rows):
        if p.grad is None:
            continue
        dtype = p.torch_dtype
        got, want = as64(_grad(facts)), as64(_grad({"grad": b}))
        _close(
            got, want, rtol(dtype), atol(dtype), f"param {k} (non-contiguous vs contiguous)", case
        )
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


@conformance_property(
    "AGC-021",
    roles=("agc",),
    strategy=agc_cases(nonfinite=True, containers=("list",)),
    act=_act_once,
)
def nonfinite_default(case: AGCCase, seen: dict[str, Any]) -> None:
    """NaN/inf gradients raise nothing, stay non-finite, and leave other units' results alone."""
    params, weights, before = _before(case)
    expected, _ = agc_reference(weights, before, case.clip_factor, case.eps)
    rows = zip(params, seen["params"], before, expected, strict=True)
    for k, (p, facts, g, want) in enumerate(rows):
        if g is None or want is None:
            continue
        bad = _nonfinite_rows(g)
        got_rows, want_rows = unit_rows(as64(_grad(facts))), unit_rows(want)
        for i in range(len(bad)):
            if bad[i]:
                if np.isfinite(got_rows[i]).all():
                    raise AssertionError(
                        f"param {k} unit {i}: non-finite gradient {unit_rows(g)[i].tolist()!r} "
                        f"became finite {got_rows[i].tolist()!r}; case {case!r}"
                    )
                continue
            tol = rtol(p.dtype) + band(p.dtype)
            _close(got_rows[i], want_rows[i], tol, atol(p.dtype), f"param {k} unit {i}", case)


@conformance_property(
    "AGC-022",
    roles=("agc",),
    strategy=agc_cases(nonfinite=True, containers=("list",)),
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
                    f"param {k} unit {i}: {rule}, but {old.tolist()!r} -> {new.tolist()!r}; "
                    f"case {case!r}"
                )
