"""Properties of non-finite gradients (AGC-021, AGC-022): isolation and the NaN / inf convention.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.id for p in PROPERTIES if p.home.endswith("agc.nonfinite"))
['agc.nonfinite_convention', 'agc.nonfinite_default']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.framework import Targets, conformance_property
from conformance.properties._assertions import assert_rows_close, brief
from conformance.properties._numeric import Array, as64, slack, unit_rows
from conformance.properties.agc._acts import act_once, call_agc
from conformance.properties.agc._cases import real
from conformance.properties.agc._seen import before, grad_after
from conformance.strategies.tensors import AGCCase

__all__: list[str] = []


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
    strategy=real(nonfinite=True, containers=("list",)),
    act=_act_nonfinite,
)
def nonfinite_default(case: AGCCase, seen: dict[str, Any]) -> None:
    """NaN/inf gradients raise nothing, stay non-finite, and every other unit ends as it does
    when the non-finite entries are zeros (the target's own result: only isolation is judged)."""
    _, _, grads = before(case)
    rows = zip(seen["params"], seen["alone"], grads, strict=True)
    for k, (facts, alone, g) in enumerate(rows):
        if g is None:
            continue
        bad = _nonfinite_rows(g)
        got_rows = unit_rows(as64(grad_after(facts)))
        want_rows = unit_rows(as64(grad_after({"grad": alone})))
        if got_rows.shape != want_rows.shape:
            raise AssertionError(f"param {k}: gradient shape changed; case {case!r}")
        for i in range(len(bad)):
            if bad[i] and np.isfinite(got_rows[i]).all():
                raise AssertionError(
                    f"param {k} unit {i}: non-finite gradient {brief(unit_rows(g)[i])} "
                    f"became finite {brief(got_rows[i])}; case {case!r}"
                )
        allowed = slack(want_rows, want_rows, facts["dtype"])
        assert_rows_close(f"param {k}", got_rows, want_rows, allowed, bad, case)


@conformance_property(
    "AGC-022",
    roles=("agc",),
    strategy=real(nonfinite=True, containers=("list",)),
    act=act_once,
)
def nonfinite_convention(case: AGCCase, seen: dict[str, Any]) -> None:
    """A unit with NaN gradient norm is left unchanged; one with infinite norm is times 0."""
    _, _, grads = before(case)
    for k, (facts, g0) in enumerate(zip(seen["params"], grads, strict=True)):
        if g0 is None:
            continue
        old_rows, new_rows = unit_rows(g0), unit_rows(as64(grad_after(facts)))
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
                    f"param {k} unit {i}: {rule}, but {brief(old)} -> {brief(new)}; case {case!r}"
                )
