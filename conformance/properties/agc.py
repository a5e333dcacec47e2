"""Properties of the AGC clauses, checked against the ``agc`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.id.startswith("agc.")})[:3]
['AGC-001', 'AGC-002', 'AGC-003']

The ``agc`` role's canonical call is ``targets.agc(parameters, clip_factor=λ,
eps=ε)``: in place on ``.grad``, default unit axes (dim 0 for rank >= 2, the
whole tensor for rank <= 1). Each check builds fresh parameters from its
example, calls the target, and compares with float64 arithmetic done here or
with :func:`spec.reference.agc_reference`. Units whose ratio ||G_i||/bound_i
lies within :func:`band` of 1 may go either way (norm rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from conformance.properties import Targets, conformance_property
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

_WIDE = ("float64", "complex128")


def _call(targets: Targets, case: AGCCase) -> tuple[list[torch.Tensor], list[Array], list[Any]]:
    """Fresh parameters, float64 copies of weights and grads before, after calling the target."""
    params = case.make_params()
    weights = [as64(p) for p in params]
    before = grads64(params)
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    return params, weights, before


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad`` after the call, for a parameter that had one: None there is a violation."""
    if p.grad is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    return p.grad


def _close(got: Array, want: Array, tol: float, slack: float, what: str, case: object) -> None:
    err = np.abs(got - want)
    limit = tol * np.abs(want) + slack
    if not np.all(err <= limit):
        worst = int(np.argmax(err - limit))
        raise AssertionError(
            f"{what}: got {got.reshape(-1)[worst]!r}, expected {want.reshape(-1)[worst]!r} "
            f"(tolerance {tol:g} relative + {slack:g}); got {got.tolist()!r}, "
            f"expected {want.tolist()!r}; case {case!r}"
        )


def _units(
    params: list[torch.Tensor], weights: list[Array], before: list[Any], case: AGCCase
) -> Iterator[tuple[int, int, float, float, Array, Array, torch.dtype]]:
    """Yield (k, i, ratio, bound, G_i before, G_i after, dtype) for every unit with a gradient."""
    for k, (p, w, g) in enumerate(zip(params, weights, before, strict=True)):
        if g is None:
            continue
        r, bound = ratios(w, g, case.clip_factor, case.eps)
        old_rows = unit_rows(g)
        new_rows = unit_rows(as64(_grad(p)))
        for i in range(len(r)):
            yield k, i, float(r[i]), float(bound[i]), old_rows[i], new_rows[i], p.dtype


@conformance_property("AGC-001", roles=("agc",), strategy=agc_cases(_WIDE))
def unit_rule(targets: Targets, case: AGCCase) -> None:
    """Float64 units: above the bound -> G_i * bound_i / ||G_i||; at or below -> unchanged."""
    params, weights, before = _call(targets, case)
    for k, i, r, _bound, old, new, dtype in _units(params, weights, before, case):
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


@conformance_property("AGC-002", roles=("agc",), strategy=agc_cases(min_rank=2, max_rank=5))
def default_axis_is_dim0(targets: Targets, case: AGCCase) -> None:
    """Rank >= 2: the result equals clipping each dim-0 slice alone as a flat vector."""
    params, _, _ = _call(targets, case)
    for k, (spec_p, p) in enumerate(zip(case.params, params, strict=True)):
        if spec_p.grad is None:
            continue
        rows = _split_rows(spec_p)
        alone = AGCCase(params=tuple(rows), clip_factor=case.clip_factor, eps=case.eps)
        parts = alone.make_params()
        targets.agc(parts, clip_factor=case.clip_factor, eps=case.eps)
        want = np.stack([as64(_grad(q)) for q in parts])
        got = unit_rows(as64(_grad(p)))
        _close(got, want, 2 * rtol(p.dtype), atol(p.dtype), f"param {k} vs its rows", case)


@conformance_property("AGC-003", roles=("agc",), strategy=agc_cases(max_rank=1))
def rank_le1_is_one_unit(targets: Targets, case: AGCCase) -> None:
    """Rank 0/1: one norm over the whole tensor decides, and the whole tensor is rescaled."""
    params, weights, before = _call(targets, case)
    for k, i, r, _bound, old, new, dtype in _units(params, weights, before, case):
        m = band(dtype)
        want = old / r if r >= 1 + m else old if r <= 1 - m else None
        if want is not None:
            _close(new, want, rtol(dtype), atol(dtype), f"param {k} unit {i} (ratio {r:g})", case)


@conformance_property("AGC-004", roles=("agc",), strategy=agc_cases())
def unclipped_units_bitwise(targets: Targets, case: AGCCase) -> None:
    """Units with ||G_i|| <= bound_i (outside the rounding band) keep every bit."""
    params = case.make_params()
    weights = [as64(p) for p in params]
    originals = [None if p.grad is None else p.grad.clone() for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, w, g0) in enumerate(zip(params, weights, originals, strict=True)):
        if g0 is None:
            continue
        r, _ = ratios(w, as64(g0), case.clip_factor, case.eps)
        old_units = [g0] if g0.ndim <= 1 else list(g0.unbind(0))
        new_units = [_grad(p)] if g0.ndim <= 1 else list(_grad(p).unbind(0))
        for i, (a, b) in enumerate(zip(old_units, new_units, strict=True)):
            if r[i] <= 1 - band(p.dtype) and bits(a) != bits(b):
                raise AssertionError(
                    f"param {k} unit {i}: ratio {r[i]:g} <= 1 but the gradient changed: "
                    f"{a.tolist()!r} -> {b.tolist()!r}; case {case!r}"
                )


@conformance_property("AGC-005", roles=("agc",), strategy=agc_cases())
def clipped_units_on_bound(targets: Targets, case: AGCCase) -> None:
    """Units with ||G_i|| > bound_i end with norm bound_i (within dtype rounding)."""
    params, weights, before = _call(targets, case)
    for k, i, r, bound, _old, new, dtype in _units(params, weights, before, case):
        if r < 1 + band(dtype):
            continue
        norm = float(np.linalg.norm(new))
        slack = atol(dtype) * math.sqrt(new.size) * 2
        if not abs(norm - bound) <= 2 * rtol(dtype) * bound + slack:
            raise AssertionError(
                f"param {k} unit {i}: ratio {r:g} > 1 so the norm must become {bound!r}, "
                f"got {norm!r}; case {case!r}"
            )


@conformance_property("AGC-006", roles=("agc",), strategy=agc_cases())
def direction_preserved(targets: Targets, case: AGCCase) -> None:
    """Every entry keeps its sign and shrinks or stays; each unit keeps its direction."""
    params, weights, before = _call(targets, case)
    for k, i, _r, _bound, old, new, dtype in _units(params, weights, before, case):
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


@conformance_property("AGC-007", roles=("agc",), strategy=agc_cases())
def idempotent(targets: Targets, case: AGCCase) -> None:
    """A second call changes no gradient beyond dtype rounding."""
    params = case.make_params()
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    once = grads64(params)
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, g1) in enumerate(zip(params, once, strict=True)):
        if g1 is not None:
            slack = 2 * atol(p.dtype)
            _close(as64(_grad(p)), g1, 4 * rtol(p.dtype), slack, f"param {k} second call", case)


@conformance_property("AGC-008", roles=("agc",), strategy=locality_cases())
def unit_locality(targets: Targets, example: LocalityCase) -> None:
    """Rescaling one gradient unit changes no other unit's result (separates unit-wise AGC)."""
    case = example.case
    target = case.params[example.param]
    wide = torch.complex128 if target.dtype.startswith("complex") else torch.float64
    grad = torch.tensor(target.grad, dtype=wide)
    grad[example.unit] = grad[example.unit] * example.factor
    changed = torch.tensor(grad.tolist(), dtype=target.torch_dtype)
    if not torch.isfinite(changed).all():
        return  # the rescaled unit overflowed this dtype: nothing to compare
    edited = ParamCase(target.weight, changed.tolist(), target.dtype, target.layout)
    other = case.with_params(
        [edited if k == example.param else p for k, p in enumerate(case.params)]
    )
    first = case.make_params()
    targets.agc(case.wrap(first), clip_factor=case.clip_factor, eps=case.eps)
    second = other.make_params()
    targets.agc(other.wrap(second), clip_factor=case.clip_factor, eps=case.eps)
    for k, (a, b) in enumerate(zip(first, second, strict=True)):
        if a.grad is None:
            continue
        rows_a, rows_b = unit_rows(as64(_grad(a))), unit_rows(as64(_grad(b)))
        for i in range(rows_a.shape[0]):
            if (k, i) == (example.param, example.unit):
                continue
            _close(
                rows_b[i],
                rows_a[i],
                rtol(a.dtype),
                atol(a.dtype),
                f"param {k} unit {i} after rescaling param {example.param} unit "
                f"{example.unit} by {example.factor}",
                example,
            )


@conformance_property("AGC-009", roles=("agc",), strategy=agc_cases())
def eps_guard(targets: Targets, case: AGCCase) -> None:
    """Units with ||W_i|| < eps are clipped against clip_factor * eps, never against 0."""
    params, weights, before = _call(targets, case)
    for k, (p, w, g) in enumerate(zip(params, weights, before, strict=True)):
        if g is None:
            continue
        w_norm = np.linalg.norm(unit_rows(w), axis=1)
        floor = case.clip_factor * case.eps
        for i, (old, new) in enumerate(zip(unit_rows(g), unit_rows(as64(_grad(p))), strict=True)):
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
                    f"param {k} unit {i}: ||W_i|| = {w_norm[i]!r} < eps, ||G_i|| = {g_norm!r}: "
                    f"expected norm min(||G_i||, {floor!r}), got {n_norm!r}; case {case!r}"
                )


@conformance_property("AGC-010", roles=("agc",), strategy=agc_cases())
def zero_grad_stays_zero(targets: Targets, case: AGCCase) -> None:
    """An all-zero gradient unit is exactly zero afterwards (no NaN from 0/0)."""
    params, _, before = _call(targets, case)
    for k, (p, g) in enumerate(zip(params, before, strict=True)):
        if g is None:
            continue
        for i, (old, new) in enumerate(zip(unit_rows(g), unit_rows(as64(_grad(p))), strict=True)):
            if not old.any() and new.any():  # NaN counts as non-zero
                raise AssertionError(
                    f"param {k} unit {i}: zero gradient became {new.tolist()!r}; case {case!r}"
                )


@conformance_property("AGC-011", roles=("agc",), strategy=agc_cases())
def weights_untouched(targets: Targets, case: AGCCase) -> None:
    """Parameter values are bit-for-bit the same after the call."""
    params = case.make_params()
    saved = [bits(p) for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, b) in enumerate(zip(params, saved, strict=True)):
        if bits(p) != b:
            raise AssertionError(f"param {k}: the weights were modified; case {case!r}")


@conformance_property("AGC-012", roles=("agc",), strategy=agc_cases())
def grad_storage_kept(targets: Targets, case: AGCCase) -> None:
    """Each .grad is the same object on the same storage with the same shape and strides."""
    params = case.make_params()
    kept = [
        None if p.grad is None else (p.grad, p.grad.data_ptr(), p.grad.shape, p.grad.stride())
        for p in params
    ]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, old) in enumerate(zip(params, kept, strict=True)):
        if old is None:
            continue
        now = (p.grad, None if p.grad is None else p.grad.data_ptr())
        if now[0] is not old[0] or now[1] != old[1]:
            raise AssertionError(
                f"param {k}: .grad was replaced, not written in place; case {case!r}"
            )
        if _grad(p).shape != old[2] or _grad(p).stride() != old[3]:
            raise AssertionError(
                f"param {k}: .grad shape/strides changed {old[2]}/{old[3]} -> "
                f"{_grad(p).shape}/{_grad(p).stride()}; case {case!r}"
            )


@conformance_property("AGC-013", roles=("agc",), strategy=agc_cases())
def none_grads_skipped(targets: Targets, case: AGCCase) -> None:
    """Parameters without gradient raise nothing and keep .grad None."""
    params, _, before = _call(targets, case)
    for k, (p, g) in enumerate(zip(params, before, strict=True)):
        if g is None and p.grad is not None:
            raise AssertionError(f"param {k}: .grad was None and became a tensor; case {case!r}")


@conformance_property("AGC-014", roles=("agc",), strategy=agc_cases(containers=("list",)))
def containers_agree(targets: Targets, case: AGCCase) -> None:
    """A list, a tuple, a one-shot generator and (one by one) single tensors give one result."""
    ref = case.make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    runs: dict[str, list[torch.Tensor]] = {}
    for how in ("tuple", "generator"):
        params = case.make_params()
        targets.agc(
            tuple(params) if how == "tuple" else (p for p in params),
            clip_factor=case.clip_factor,
            eps=case.eps,
        )
        runs[how] = params
    singles = case.make_params()
    for p in singles:
        targets.agc(p, clip_factor=case.clip_factor, eps=case.eps)
    runs["single tensors"] = singles
    for how, params in runs.items():
        for k, (a, b) in enumerate(zip(ref, params, strict=True)):
            if a.grad is None:
                continue
            slack = atol(a.dtype)
            _close(as64(_grad(b)), as64(_grad(a)), rtol(a.dtype), slack, f"{how}: param {k}", case)


@conformance_property("AGC-015", roles=("agc",), strategy=agc_cases())
def dtype_kept(targets: Targets, case: AGCCase) -> None:
    """Every supported dtype is accepted and each gradient keeps its dtype."""
    params = case.make_params()
    dtypes = [None if p.grad is None else p.grad.dtype for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, d) in enumerate(zip(params, dtypes, strict=True)):
        if d is not None and (_grad(p).dtype != d or p.dtype != d):
            raise AssertionError(
                f"param {k}: dtype {d} became grad {_grad(p).dtype} / weight {p.dtype}; {case!r}"
            )


def _real_twin(p: ParamCase) -> ParamCase:
    real = "float32" if p.dtype == "complex64" else "float64"
    weight = torch.view_as_real(p.weight_tensor()).tolist()
    grad = torch.view_as_real(torch.tensor(p.grad, dtype=p.torch_dtype)).tolist()
    return ParamCase(weight=weight, grad=grad, dtype=real, layout="contiguous")


@conformance_property(
    "AGC-016",
    roles=("agc",),
    strategy=agc_cases(("complex64", "complex128"), min_rank=2, max_rank=4, none_grads=False),
)
def complex_modulus(targets: Targets, case: AGCCase) -> None:
    """A complex parameter is clipped exactly as the real tensor of its (re, im) pairs."""
    params, _, _ = _call(targets, case)
    twin = case.with_params([_real_twin(p) for p in case.params])
    twins = twin.make_params()
    targets.agc(twins, clip_factor=case.clip_factor, eps=case.eps)
    for k, (p, t) in enumerate(zip(params, twins, strict=True)):
        got = as64(torch.view_as_real(_grad(p).detach().resolve_conj()))
        _close(got, as64(_grad(t)), 2 * rtol(p.dtype), atol(p.dtype), f"param {k} vs twin", case)


@conformance_property("AGC-017", roles=("agc",), strategy=agc_cases())
def matches_reference(targets: Targets, case: AGCCase) -> None:
    """The result equals spec.reference.agc_reference within the rounding of each dtype."""
    params, weights, before = _call(targets, case)
    expected, _ = agc_reference(weights, before, case.clip_factor, case.eps)
    for k, (p, w, g, want) in enumerate(zip(params, weights, before, expected, strict=True)):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        got_rows, want_rows = unit_rows(as64(_grad(p))), unit_rows(want)
        for i in range(len(r)):
            near = abs(r[i] - 1) < band(p.dtype)
            tol = rtol(p.dtype) + (band(p.dtype) if near else 0.0)
            _close(got_rows[i], want_rows[i], tol, atol(p.dtype), f"param {k} unit {i}", case)


@conformance_property(
    "AGC-018", roles=("agc",), strategy=agc_cases(layouts=("transposed", "strided"))
)
def noncontiguous_like_contiguous(targets: Targets, case: AGCCase) -> None:
    """Transposed and strided gradient views are clipped in place like contiguous copies."""
    params = case.make_params()
    bases = [None if p.grad is None else p.grad._base for p in params]
    targets.agc(case.wrap(params), clip_factor=case.clip_factor, eps=case.eps)
    plain = case.with_params(
        [ParamCase(p.weight, p.grad, p.dtype, "contiguous") for p in case.params]
    )
    ref = plain.make_params()
    targets.agc(plain.wrap(ref), clip_factor=case.clip_factor, eps=case.eps)
    for k, (a, b) in enumerate(zip(params, ref, strict=True)):
        if a.grad is None:
            continue
        _close(as64(_grad(a)), as64(_grad(b)), rtol(a.dtype), atol(a.dtype), f"param {k}", case)
        base = bases[k]
        if base is not None and case.params[k].layout == "strided" and a.grad.ndim >= 1:
            gaps = base[..., 1::2]
            if bits(gaps) != bits(torch.full_like(gaps, 7.0)):
                raise AssertionError(
                    f"param {k}: entries of the gradient's buffer outside the view changed; "
                    f"case {case!r}"
                )


@conformance_property("AGC-019", roles=("agc",), strategy=bad_agc_arguments())
def bad_arguments_rejected(targets: Targets, example: BadAGCArgument) -> None:
    """clip_factor or eps <= 0 / NaN / inf: ValueError naming it, before touching gradients."""
    params = example.case.make_params()
    saved = [None if p.grad is None else bits(p.grad) for p in params]
    try:
        targets.agc(example.case.wrap(params), **example.kwargs())
    except ValueError as err:
        if example.name not in str(err):
            raise AssertionError(
                f"ValueError for {example.name}={example.value!r} does not name the argument: {err}"
            ) from None
    else:
        raise AssertionError(f"{example.name}={example.value!r} was accepted; {example!r}")
    for k, (p, b) in enumerate(zip(params, saved, strict=True)):
        if b is not None and bits(_grad(p)) != b:
            raise AssertionError(f"param {k}: gradient modified before the error; {example!r}")


@conformance_property("AGC-020", roles=("agc",))
def sparse_rejected(targets: Targets, _: None) -> None:
    """A sparse gradient (after a dense one) raises an error saying so; nothing is modified."""
    dense = torch.nn.Parameter(torch.ones(2, 3))
    dense.grad = torch.full((2, 3), 100.0)
    sparse = torch.nn.Parameter(torch.ones(3, 2))
    sparse.grad = torch.full((3, 2), 100.0).to_sparse()
    try:
        targets.agc([dense, sparse], clip_factor=0.01, eps=1e-3)
    except (ValueError, TypeError, RuntimeError, NotImplementedError) as err:
        if "sparse" not in str(err).lower():
            raise AssertionError(f"the error does not say 'sparse': {err!r}") from None
    else:
        raise AssertionError("a sparse gradient was accepted without error")
    if not torch.equal(dense.grad, torch.full((2, 3), 100.0)):
        raise AssertionError("the dense gradient was modified before the sparse one raised")


def _nonfinite_rows(g: Array) -> Array:
    return np.array([not np.isfinite(row).all() for row in unit_rows(g)], dtype=bool)


@conformance_property(
    "AGC-021", roles=("agc",), strategy=agc_cases(nonfinite=True, containers=("list",))
)
def nonfinite_default(targets: Targets, case: AGCCase) -> None:
    """NaN/inf gradients raise nothing, stay non-finite, and leave other units' results alone."""
    params, weights, before = _call(targets, case)
    expected, _ = agc_reference(weights, before, case.clip_factor, case.eps)
    for k, (p, g, want) in enumerate(zip(params, before, expected, strict=True)):
        if g is None or want is None:
            continue
        bad = _nonfinite_rows(g)
        got_rows, want_rows = unit_rows(as64(_grad(p))), unit_rows(want)
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
    "AGC-022", roles=("agc",), strategy=agc_cases(nonfinite=True, containers=("list",))
)
def nonfinite_convention(targets: Targets, case: AGCCase) -> None:
    """A unit with NaN gradient norm is left unchanged; one with infinite norm is times 0."""
    params, _, before = _call(targets, case)
    for k, (p, g0) in enumerate(zip(params, before, strict=True)):
        if g0 is None:
            continue
        old_rows, new_rows = unit_rows(g0), unit_rows(as64(_grad(p)))
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
