"""The AGC properties' shared judge side: reading an observation against the example.

>>> from conformance.properties.agc._seen import grad_after
>>> grad_after({"grad": None})
Traceback (most recent call last):
AssertionError: a parameter's .grad was a tensor before the call and None after it

The judge rebuilds the parameters the act saw from the example (:func:`before`) and
compares, in float64 arithmetic (:mod:`conformance.properties._numeric`), unit by unit
(:func:`units`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from conformance.properties._numeric import Array, as64, grads64, ratios, unit_rows
from conformance.strategies.tensors import AGCCase

__all__ = ["before", "grad_after", "units"]


def grad_after(facts: dict[str, Any]) -> torch.Tensor:
    """The gradient after the call, for a parameter that had one: None there is a violation."""
    grad = facts["grad"]
    if grad is None:
        raise AssertionError("a parameter's .grad was a tensor before the call and None after it")
    if not isinstance(grad, torch.Tensor):
        raise AssertionError(f"a parameter's .grad became {grad!r}, not a tensor")
    return grad


def before(case: AGCCase) -> tuple[list[torch.Tensor], list[Array], list[Any]]:
    """The case's parameters as the act saw them before the call, float64 weights and grads."""
    params = case.make_params()
    return params, [as64(p) for p in params], grads64(params)


def units(
    case: AGCCase, seen: dict[str, Any]
) -> Iterator[tuple[int, int, float, float, Array, Array, torch.dtype]]:
    """Yield (k, i, ratio, bound, G_i before, G_i after, dtype) for every unit with a gradient."""
    _, weights, grads = before(case)
    for k, (facts, w, g) in enumerate(zip(seen["params"], weights, grads, strict=True)):
        if g is None:
            continue
        r, bound = ratios(w, g, case.clip_factor, case.eps)
        old_rows = unit_rows(g)
        new_rows = unit_rows(as64(grad_after(facts)))
        if new_rows.shape != old_rows.shape:
            raise AssertionError(
                f"param {k}: gradient shape changed to {tuple(grad_after(facts).shape)}; "
                f"case {case!r}"
            )
        for i in range(len(r)):
            yield k, i, float(r[i]), float(bound[i]), old_rows[i], new_rows[i], facts["dtype"]
