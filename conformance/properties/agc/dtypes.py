"""Properties of the dtypes AGC accepts (AGC-015, AGC-016): every dtype of the domain kept,
complex gradients scaled by their moduli.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.id for p in PROPERTIES if p.home.endswith("agc.dtypes"))
['agc.complex_modulus', 'agc.dtype_kept']

The other clauses' float16, bfloat16 and complex properties sit beside their float32 /
float64 ones (:mod:`.rule`, :mod:`.exactness`); these two are about the dtypes themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.framework import Targets, conformance_property
from conformance.properties._assertions import assert_close
from conformance.properties._numeric import as64, slack
from conformance.properties.agc._acts import act_once, call_agc
from conformance.properties.agc._cases import COMPLEX, of
from conformance.properties.agc._seen import grad_after
from conformance.strategies.tensors import AGCCase, ParamCase, agc_cases

__all__: list[str] = []


@conformance_property(
    "AGC-015", roles=("agc",), strategy=lambda d: agc_cases(d.dtypes, domain=d), act=act_once
)
def dtype_kept(case: AGCCase, seen: dict[str, Any]) -> None:
    """Every dtype of the domain is accepted and each gradient keeps its dtype."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad:
            continue
        d = p.torch_dtype
        got = grad_after(facts).dtype
        if got != d or facts["dtype"] != d:
            raise AssertionError(
                f"param {k}: dtype {d} became grad {got} / weight {facts['dtype']}; {case!r}"
            )


def _moduli_twin(p: Any) -> ParamCase:
    """The real parameter of the moduli: same shape and rank, |W| and |G| entry by entry, so the
    same unit norms as the complex one (the modulus) whatever the unit rule."""
    real = torch.empty((), dtype=p.torch_dtype).real.dtype
    weight = p.weight_tensor().abs().to(real).tolist()
    grad = p.grad_values().abs().to(real).tolist()
    name = str(real).removeprefix("torch.")
    return ParamCase(weight=weight, grad=grad, dtype=name, layout="contiguous")


def _act_twin(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    twins = case.with_params([_moduli_twin(p) for p in case.params]).make_params()
    targets.agc(twins, clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "twins": [t.grad for t in twins]}


@conformance_property(
    "AGC-016",
    roles=("agc",),
    strategy=of(COMPLEX, "complex gradients", min_rank=0, max_rank=3, none_grads=False),
    act=_act_twin,
)
def complex_modulus(case: AGCCase, seen: dict[str, Any]) -> None:
    """A complex gradient is scaled, entry by entry, as the target scales the real tensor of its
    moduli (same shape: the norms are the moduli's, whatever the unit rule)."""
    for k, (p, facts, t) in enumerate(zip(case.params, seen["params"], seen["twins"], strict=True)):
        got, g = as64(grad_after(facts)), as64(grad_after({"grad": p.grad_values()}))
        twin, size = as64(grad_after({"grad": t})), np.abs(g)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(size > 0, twin / np.where(size > 0, size, 1.0), 0.0)
        want = g * factor
        allowed = 4 * slack(size, np.abs(want), p.torch_dtype)
        what = f"param {k} vs the target's result on its moduli"
        assert_close(got, want, allowed, what, case)
