"""Properties of the clipping dispatch clauses (AGC-026 to AGC-030), against the ``clip`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("clip."))
['AGC-026', 'AGC-027', 'AGC-028', 'AGC-029', 'AGC-030']

The ``clip`` role's canonical call is ``targets.clip(parameters, algorithm,
value)``, clipping ``.grad`` in place; its return value is not inspected here.
Torch's own ``clip_grad_norm_`` / ``clip_grad_value_`` and
:func:`spec.reference.agc_reference` give the expected gradients.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.properties import Targets, conformance_property
from conformance.properties._numeric import as64, atol, band, bits, grads64, ratios, rtol, unit_rows
from conformance.strategies.tensors import ClipCase, clip_cases, unknown_algorithm_cases
from spec.reference import agc_reference

_REAL = ("float32", "float64", "float16", "bfloat16")


def _after(p: torch.Tensor) -> torch.Tensor:
    if p.grad is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    return p.grad


def _compare(
    got: list[torch.Tensor],
    want: list[torch.Tensor],
    scale: float,
    what: str,
    ex: ClipCase,
) -> None:
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        if b.grad is None:
            continue
        x, y = as64(_after(a)), as64(b.grad)
        limit = scale * rtol(a.dtype) * np.abs(y) + atol(a.dtype)
        if not np.all(np.abs(x - y) <= limit):
            raise AssertionError(
                f"{what}: param {k} got {x.tolist()!r}, expected {y.tolist()!r}; case {ex!r}"
            )


@conformance_property(
    "AGC-026",
    roles=("clip",),
    strategy=clip_cases(values=st.sampled_from([None, 0.0, -1.0, -1e-3, -0.0])),
)
def no_clipping_at_nonpositive(targets: Targets, ex: ClipCase) -> None:
    """Value None or <= 0: every gradient keeps every bit, for each allowed algorithm."""
    params = ex.case.make_params()
    saved = [None if p.grad is None else bits(p.grad) for p in params]
    targets.clip(ex.case.wrap(params), ex.algorithm, ex.value)
    for k, (p, b) in enumerate(zip(params, saved, strict=True)):
        if b is not None and bits(_after(p)) != b:
            raise AssertionError(f"param {k}: value {ex.value!r} must not clip; case {ex!r}")


@conformance_property("AGC-027", roles=("clip",), strategy=clip_cases(("norm",)))
def norm_matches_torch(targets: Targets, ex: ClipCase) -> None:
    """'norm' gives the gradients of torch.nn.utils.clip_grad_norm_(max_norm=value).

    torch takes each tensor's norm, and so the factor, in that tensor's own dtype (half
    gradients get a half-precision factor, subnormal for tiny values); an implementation
    that takes the norm more precisely conforms too. So each gradient must match torch's
    result, or the same rule evaluated in float64, within its dtype's tolerance.
    """
    assert ex.value is not None
    params, ref = ex.case.make_params(), ex.case.make_params()
    exact = grads64(ref)
    targets.clip(ex.case.wrap(params), "norm", ex.value)
    torch.nn.utils.clip_grad_norm_(ref, max_norm=ex.value)
    total = float(np.sqrt(sum(float(np.sum(np.abs(g) ** 2)) for g in exact if g is not None)))
    factor = min(1.0, ex.value / (total + 1e-6))
    # torch's factor is only as precise as the coarsest gradient dtype present.
    coarse = max((rtol(p.grad.dtype) for p in ref if p.grad is not None), default=0.0)
    for k, (a, b, g) in enumerate(zip(params, ref, exact, strict=True)):
        if b.grad is None or g is None:
            continue
        x, y, z = as64(_after(a)), as64(b.grad), g * factor
        tol, floor = 4.0 * max(rtol(a.dtype), coarse), atol(a.dtype)
        like_torch = np.all(np.abs(x - y) <= tol * np.abs(y) + floor)
        like_rule = np.all(np.abs(x - z) <= 4.0 * rtol(a.dtype) * np.abs(z) + floor)
        if not (like_torch or like_rule):
            raise AssertionError(
                f"'norm': param {k} got {x.tolist()!r}; clip_grad_norm_ gives {y.tolist()!r}, "
                f"the float64 rule {z.tolist()!r}; case {ex!r}"
            )


@conformance_property("AGC-028", roles=("clip",), strategy=clip_cases(("value",), _REAL))
def value_matches_torch(targets: Targets, ex: ClipCase) -> None:
    """'value' gives the gradients of torch.nn.utils.clip_grad_value_(clip_value=value)."""
    assert ex.value is not None
    params, ref = ex.case.make_params(), ex.case.make_params()
    targets.clip(ex.case.wrap(params), "value", ex.value)
    if any(p.grad is not None for p in ref):  # torch fails on a list without gradients
        torch.nn.utils.clip_grad_value_(ref, clip_value=ex.value)
    _compare(params, ref, 1.0, "'value' vs clip_grad_value_", ex)


@conformance_property("AGC-029", roles=("clip",), strategy=clip_cases(("agc",)))
def agc_matches_reference(targets: Targets, ex: ClipCase) -> None:
    """'agc' gives unit-wise AGC with clip_factor=value and eps=1e-3 (float64 reference)."""
    assert ex.value is not None
    params = ex.case.make_params()
    weights = [as64(p) for p in params]
    before = grads64(params)
    targets.clip(ex.case.wrap(params), "agc", ex.value)
    expected, _ = agc_reference(weights, before, ex.value, 1e-3)
    for k, (p, w, g, want) in enumerate(zip(params, weights, before, expected, strict=True)):
        if g is None or want is None:
            continue
        r, _ = ratios(w, g, ex.value, 1e-3)
        got_rows, want_rows = unit_rows(as64(_after(p))), unit_rows(want)
        for i in range(len(r)):
            tol = rtol(p.dtype) + (band(p.dtype) if abs(r[i] - 1) < band(p.dtype) else 0.0)
            err = np.abs(got_rows[i] - want_rows[i])
            if not np.all(err <= tol * np.abs(want_rows[i]) + atol(p.dtype)):
                raise AssertionError(
                    f"'agc' param {k} unit {i}: got {got_rows[i].tolist()!r}, expected "
                    f"{want_rows[i].tolist()!r}; case {ex!r}"
                )


@conformance_property("AGC-030", roles=("clip",), strategy=unknown_algorithm_cases())
def unknown_algorithm_rejected(targets: Targets, ex: ClipCase) -> None:
    """An unknown algorithm raises ValueError naming it and 'norm', 'value', 'agc'; no clipping."""
    params = ex.case.make_params()
    saved = [None if p.grad is None else bits(p.grad) for p in params]
    try:
        targets.clip(ex.case.wrap(params), ex.algorithm, ex.value)
    except ValueError as err:
        text = str(err)
        names_it = repr(ex.algorithm) in text or (
            ex.algorithm.strip() != "" and ex.algorithm in text
        )
        lists_allowed = all(a in text for a in ("norm", "value", "agc"))
        if not (names_it and lists_allowed):
            raise AssertionError(
                f"the error for algorithm {ex.algorithm!r} must name it and the allowed "
                f"values; it says: {text}"
            ) from None
    else:
        raise AssertionError(f"algorithm {ex.algorithm!r} was accepted; case {ex!r}")
    for k, (p, b) in enumerate(zip(params, saved, strict=True)):
        if b is not None and bits(_after(p)) != b:
            raise AssertionError(f"param {k}: modified before the error; case {ex!r}")
