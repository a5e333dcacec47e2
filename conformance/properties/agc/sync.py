"""Properties of host synchronisation (AGC-025): the call reads no tensor value on the host.

>>> import torch
>>> from conformance.properties.agc.sync import count_host_reads
>>> count_host_reads(lambda: torch.ones(2).sum().item())
(2.0, ['item'])

On an accelerator, reading a tensor's value on the host (``.item()``, ``bool(t)``, ...)
waits for the device; the act counts such reads (:func:`count_host_reads`, also used by
the training step's TRN-008) during one call of the target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from conformance.framework import Targets, conformance_property
from conformance.properties._numeric import band, ratios
from conformance.properties.agc._cases import real
from conformance.properties.agc._seen import before
from conformance.strategies.tensors import AGCCase

__all__ = ["HOST_READS", "count_host_reads", "units_over_bound"]

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
    tensor = isinstance(result, torch.Tensor)
    return {
        "reads": reads,
        "returned": type(result).__name__,
        "tensor": tensor,
        "shape": list(result.shape) if tensor else None,
        "count": float(result.detach().cpu().reshape(-1)[0]) if tensor and result.numel() else None,
    }


# AGC-025's two properties decide on the same observation of one call (same act, strategy).


@conformance_property(
    "AGC-025",
    roles=("agc",),
    strategy=real(none_grads=False, containers=("list",)),
    act=_act_sync,
    max_examples=5,
)
def no_host_sync(case: AGCCase, seen: dict[str, Any]) -> None:
    """The call reads no tensor value on the host."""
    if seen["reads"]:
        counts = {n: seen["reads"].count(n) for n in dict.fromkeys(seen["reads"])}
        raise AssertionError(
            f"the call read tensors on the host: {counts} (each a device sync on a GPU); "
            f"case {case!r}"
        )


def units_over_bound(case: AGCCase) -> tuple[int, int]:
    """Judge helper: ``(sure, either)``: the units of the case whose float64 gradient norm
    exceeds the bound beyond rounding, and those within rounding of it (either way)."""
    params, weights, grads = before(case)
    sure = either = 0
    for p, w, g in zip(params, weights, grads, strict=True):
        if g is None:
            continue
        r, _ = ratios(w, g, case.clip_factor, case.eps)
        near = np.abs(r - 1) < band(p.dtype)
        sure += int(np.sum((r > 1) & ~near))
        either += int(np.sum(near))
    return sure, either


@conformance_property(
    "AGC-025",
    roles=("agc",),
    strategy=real(none_grads=False, containers=("list",)),
    act=_act_sync,
    max_examples=5,
)
def count_returned(case: AGCCase, seen: dict[str, Any]) -> None:
    """The number of clipped units comes back as a tensor (reading it is the caller's sync):
    the units whose gradient norm exceeds the bound (a unit within rounding of it may go
    either way)."""
    if not seen["tensor"]:
        raise AssertionError(f"it returned {seen['returned']}, not a tensor of clipped units")
    if seen["shape"] not in ([], [1]):
        raise AssertionError(
            f"it returned a tensor of shape {seen['shape']}, not one number of clipped units; "
            f"case {case!r}"
        )
    sure, either = units_over_bound(case)
    if not sure <= seen["count"] <= sure + either:
        within = f"{sure}" if not either else f"{sure} to {sure + either}"
        raise AssertionError(
            f"it returned {seen['count']:g} clipped units; the float64 reference clips "
            f"{within}; case {case!r}"
        )
