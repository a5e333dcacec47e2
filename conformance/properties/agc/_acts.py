"""The AGC properties' shared worker side: one call of the target on fresh parameters.

>>> from conformance.properties.agc._acts import call_agc
>>> from conformance.strategies.tensors import AGCCase, ParamCase
>>> seen = call_agc(lambda ps, **kw: None, AGCCase(params=(ParamCase([1.0], [2.0]),)))
>>> seen["params"][0]["same_object"], seen["params"][0]["grad"].tolist()
(True, [2.0])

The ``agc`` role's canonical call is ``targets.agc(parameters, clip_factor=λ, eps=ε)``:
in place on ``.grad``, default unit axes. An act builds fresh parameters from its example,
calls the target and sends back every gradient (bit-exact) with facts about it (same
object, same storage, strides); it decides nothing.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.framework import Targets
from conformance.strategies.tensors import AGCCase

__all__ = ["act_once", "after_call", "call_agc"]


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


def call_agc(
    agc: Any,
    case: AGCCase,
    *,
    params: list[torch.Tensor] | None = None,
    passed: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Act helper: fresh parameters of ``case`` (or ``params``, made from it by an act that
    needs them before the call), one call of ``agc`` on them as the case passes them (or on
    ``passed``: an object holding them, e.g. a module), :func:`after_call`."""
    params = case.make_params() if params is None else params
    kept = [
        None if p.grad is None else (p.grad, p.grad.data_ptr(), p.grad.shape, p.grad.stride())
        for p in params
    ]
    args = kwargs or {"clip_factor": case.clip_factor, "eps": case.eps}
    agc(case.wrap(params) if passed is None else passed, **args)
    return {"params": after_call(params, kept)}


def act_once(targets: Targets, case: AGCCase) -> dict[str, Any]:
    """The plain act: one call of the ``agc`` target on the case (:func:`call_agc`)."""
    return call_agc(targets.agc, case)
