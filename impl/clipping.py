"""The gradient clipping dispatch of plan task 1.3: one entry point for 'norm', 'value' and 'agc'.

>>> import torch
>>> from impl.clipping import clip_gradients_
>>> w = torch.nn.Parameter(torch.ones(2, 2))
>>> w.grad = torch.full((2, 2), 3.0)                       # global norm 6
>>> result = clip_gradients_([w], "norm", 1.5)
>>> round(float(result.grad_norm_before), 4), round(float(result.grad_norm_after), 4)
(6.0, 1.5)
>>> clip_gradients_([w], "bogus", 1.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: algorithm 'bogus' is not a gradient clipping algorithm: allowed are 'norm', ...

Rules (clauses AGC-026 to AGC-031): a value of None or <= 0 means no clipping;
``'norm'`` is ``torch.nn.utils.clip_grad_norm_(max_norm=value)``, computed as
torch computes it (the same per-tensor norms, in the same order, the same
``min(1, value / (total_norm + 1e-6))`` factor, so the same gradients bit for
bit) except that complex norms are taken on ``view_as_real`` (torch's complex
norm kernel is ~70x slower on CPU) and float16 norms are accumulated in float32
(torch rounds each to float16, so a gradient whose norm exceeds 65504 makes the
total infinite and the factor 0). ``'value'`` is
``torch.nn.utils.clip_grad_value_(clip_value=value)``, ``'agc'`` is
:func:`impl.agc.adaptive_gradient_clip_` with ``clip_factor=value``. Any other
algorithm raises, whatever the value (the upstream dispatch fell through
silently). A spec training config (either side) can supply algorithm and value.

On DTensor parameters (AGC-036) each algorithm works on the local tensors: 'norm'
computes torch's total as torch does on DTensors (one ``all_reduce``), 'value' clamps
locally (its statistics: one ``all_reduce``), 'agc' is sharded AGC.

The before/after norms cost no extra pass for 'norm' and 'agc': 'norm' reports
the total norm it clips with, and ``total * factor`` after; 'agc' derives both
from the unit norms AGC takes (:func:`impl.agc.adaptive_gradient_clip_with_norms_`).
'value' and no clipping take them with :func:`global_grad_norm`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import Tensor, nn

from impl import _multi_tensor as mt
from impl._sharded import Reducer, by_shards, dtensor_type, local
from impl.agc import UnitDim, adaptive_gradient_clip_with_norms_
from spec.config import TFTrainingConfig, TorchTrainingConfig
from spec.vocabulary import CLIP_ALGORITHMS

__all__ = ["ClipResult", "clip_gradients_", "global_grad_norm"]


class ClipResult(NamedTuple):
    """What one dispatch call did; all 0-dim tensors on the first gradient's device (no sync).

    ``units_clipped`` counts, per algorithm: 'agc' the units rescaled; 'norm' 1
    when the global norm exceeded the value (else 0); 'value' the gradient
    entries whose magnitude exceeded the value; 0 when nothing was clipped.
    """

    grad_norm_before: Tensor
    grad_norm_after: Tensor
    units_clipped: Tensor


def global_grad_norm(grads: Iterable[Tensor]) -> Tensor:
    """The L2 norm of all ``grads`` together, without a host sync.

    >>> import torch
    >>> global_grad_norm([torch.tensor([3.0]), torch.tensor([[4.0 + 0j]])])
    tensor(5.)

    Complex entries count by modulus (taken on ``view_as_real``, which is also
    the fast path on CPU); norms are accumulated in float32, or float64 when any
    gradient is float64 / complex128. Empty input gives 0 (on the CPU). DTensor
    gradients count whole: their parts' squared norms are summed across the ranks,
    in one ``all_reduce`` per process group (AGC-036).
    """
    grads = list(grads)
    if not grads:
        return torch.zeros(())
    wide = any(g.dtype in mt.WIDE for g in grads)
    acc = torch.float64 if wide else torch.float32
    with torch.no_grad():
        if not _has_dtensor(grads):
            return _local_norm(grads, acc)
        reducer = Reducer()
        entries = [
            reducer.add(_local_norm(part, acc).square(), key)
            for key, part in by_shards(grads, "gradient").items()
        ]
        reducer.run()
        return torch.stack([reducer[e] for e in entries]).sum().sqrt().reshape(())


def _local_norm(grads: list[Tensor], acc: torch.dtype) -> Tensor:
    """:func:`global_grad_norm` of plain (local) tensors, in ``acc``, on the first's device."""
    groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for g in grads:
        real = mt.real_view(g)
        groups.setdefault((g.device, real.dtype), []).append(real)
    device = grads[0].device
    partial: list[Tensor] = []
    for (_, dtype), tensors in groups.items():
        if dtype in mt.HALF:  # half norms would overflow their own dtype above 65504
            norms = [mt.vector_norm(t, torch.float32) for t in tensors]
        else:
            norms = mt.norms(tensors)
        partial.append(torch.linalg.vector_norm(torch.stack(norms).to(device, acc)))
    return torch.linalg.vector_norm(torch.stack(partial))


def _has_dtensor(grads: list[Tensor]) -> bool:
    kind = dtensor_type()
    return kind is not None and any(isinstance(g, kind) for g in grads)


def _scale_all(grads: list[Tensor], factor: Tensor, foreach: bool | None) -> None:
    """``g.mul_(factor)`` for every gradient, with the multi-tensor kernel unless foreach=False."""
    if foreach is False:
        for g in grads:
            g.mul_(factor)
    else:
        mt.mul_each_(grads, [factor] * len(grads))


def _torch_norms(grads: list[Tensor], foreach: bool | None) -> list[Tensor]:
    """Each gradient's norm as ``clip_grad_norm_`` takes it (in its order), but complex ones
    on ``view_as_real`` and float16 ones accumulated in float32."""
    norms: list[Tensor] = []
    for (_, dtype), group in mt.group_by_device_and_dtype(grads).items():
        if dtype.is_complex:  # modulus through the real view: the fast kernel on CPU
            norms.extend(mt.norms([mt.real_view(g) for g in group]))
        elif dtype == torch.float16:  # float32 accumulation: no overflow above 65504
            norms.extend(mt.vector_norm(g, torch.float32) for g in group)
        elif foreach is False:
            norms.extend(torch.linalg.vector_norm(g) for g in group)
        else:
            norms.extend(mt.norms(group))
    return norms


def _total_norm(grads: list[Tensor], foreach: bool | None) -> Tensor:
    """``clip_grad_norm_``'s total norm of ``grads``; of DTensors as torch takes it too: each
    process group's part ``(sum over ranks of local_total ** 2) ** 0.5``, one ``all_reduce``
    per group (AGC-036)."""
    first = grads[0].device
    if not _has_dtensor(grads):
        norms = _torch_norms(grads, foreach)
        return torch.linalg.vector_norm(torch.stack([n.to(first) for n in norms]))
    reducer = Reducer()
    entries = []
    for key, part in by_shards(grads, "gradient").items():
        norms = _torch_norms(part, foreach)
        local_total = torch.linalg.vector_norm(torch.stack([n.to(part[0].device) for n in norms]))
        entries.append(reducer.add(local_total**2.0, key))
    reducer.run()
    totals = [(reducer[e] ** 0.5).reshape(()) for e in entries]
    first = totals[0].device
    if len(totals) == 1:
        return totals[0]
    return torch.linalg.vector_norm(torch.stack([t.to(first) for t in totals]))


def _clip_norm_(
    grads: list[Tensor], max_norm: float, foreach: bool | None, error_if_nonfinite: bool
) -> ClipResult:
    """AGC-027: clip_grad_norm_'s arithmetic; before = its total norm, after = total * factor."""
    with torch.no_grad():
        total = _total_norm(grads, foreach)
        if error_if_nonfinite:
            _raise_if_nonfinite(total)
        # The factor is applied as torch applies it: a 0-dim tensor per device.
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        locals_ = _locals(grads)
        groups = mt.group_by_device_and_dtype(locals_)
        for (device, _), group in groups.items():
            _scale_all(group, coef.to(device), foreach)
        wide = any(dtype in mt.WIDE for _, dtype in groups)
        before = total.to(torch.float64 if wide else torch.float32)
        count = (before > max_norm).to(torch.int64)
        return ClipResult(before, before * coef.to(before.dtype), count)


def _locals(grads: list[Tensor]) -> list[Tensor]:
    """The local tensors of DTensor gradients (written in place: the DTensors change), else
    the gradients themselves."""
    kind = dtensor_type()
    if kind is None:
        return grads
    return [local(g) if isinstance(g, kind) else g for g in grads]


def _check_value(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be None or a real number, got {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(
            f"value must be None or a finite number (None or <= 0 disables clipping), got {value!r}"
        )
    return number


def _resolve(algorithm: object, value: object, config: object) -> tuple[str, float | None]:
    if config is not None:
        if not isinstance(config, (TorchTrainingConfig, TFTrainingConfig)):
            raise TypeError(
                "config must be a spec.TorchTrainingConfig or spec.TFTrainingConfig, "
                f"got {type(config).__name__}"
            )
        for name, given, own in (
            ("algorithm", algorithm, config.gradient_clip_algorithm),
            ("value", value, config.gradient_clip_val),
        ):
            if given is not None and given != own:  # AGC-031
                raise ValueError(
                    f"{name}={given!r} contradicts the config's gradient_clip_"
                    f"{'algorithm' if name == 'algorithm' else 'val'}={own!r}: pass one or the "
                    "other, or the same value"
                )
        algorithm, value = config.gradient_clip_algorithm, config.gradient_clip_val
    if algorithm is None:
        algorithm = "norm"  # the contract's default (CFG-002)
    if not isinstance(algorithm, str) or algorithm not in CLIP_ALGORITHMS:  # AGC-030
        allowed = ", ".join(repr(a) for a in CLIP_ALGORITHMS)
        raise ValueError(
            f"algorithm {algorithm!r} is not a gradient clipping algorithm: allowed are {allowed}"
        )
    return algorithm, _check_value(value)


def clip_gradients_(
    parameters: Tensor | Iterable[Tensor] | nn.Module,
    algorithm: str | None = None,
    value: float | None = None,
    *,
    config: TorchTrainingConfig | TFTrainingConfig | None = None,
    unit_dim: UnitDim = None,
    eps: float = 1e-3,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> ClipResult:
    """Clip the gradients of ``parameters`` in place as ``algorithm`` and ``value`` say.

    >>> import spec, torch
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> w.grad = torch.tensor([3.0, -0.5, 0.0])
    >>> cfg = spec.TorchTrainingConfig(gradient_clip_algorithm="value", gradient_clip_val=1.0)
    >>> clip_gradients_([w], config=cfg).units_clipped
    tensor(1)
    >>> w.grad
    tensor([ 1.0000, -0.5000,  0.0000])

    Args:
        parameters: a tensor, an iterable of tensors, or an ``nn.Module`` (whose
            declared AGC unit axes are then used, see :func:`impl.agc.agc_unit_dims`).
        algorithm: 'norm', 'value' or 'agc'; None means 'norm' (or the config's).
        value: max norm, max magnitude, or AGC clip factor; None or <= 0: no clipping.
        config: a ``spec.TorchTrainingConfig`` / ``spec.TFTrainingConfig`` supplying
            algorithm and value; explicit arguments must then agree with it.
        unit_dim, eps: passed to AGC (used by 'agc' only).
        error_if_nonfinite: raise ``RuntimeError`` before clipping when the global
            gradient norm is NaN or inf (one host sync).
        foreach: passed to the torch clip functions and to AGC.

    Returns:
        :class:`ClipResult` of 0-dim tensors; the norms are global L2 norms of all
        gradients (see :func:`global_grad_norm`), before and after clipping.
    """
    algo, threshold = _resolve(algorithm, value, config)
    params: list[Tensor]
    module: nn.Module | None = None
    if isinstance(parameters, nn.Module):
        module = parameters
        params = list(parameters.parameters())
    else:
        params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if threshold is None or threshold <= 0.0 or not grads:  # AGC-026: no clipping at all
        # (no gradients: nothing to clip; torch's clip_grad_value_ fails on an empty list)
        before = global_grad_norm(grads)
        return ClipResult(
            before, before.clone(), torch.zeros((), dtype=torch.int64, device=before.device)
        )
    if algo == "norm":  # AGC-027
        return _clip_norm_(grads, threshold, foreach, error_if_nonfinite)
    if algo == "agc":  # AGC-029
        if error_if_nonfinite:  # checked on the global norm, before anything is modified
            _raise_if_nonfinite(global_grad_norm(grads))
        out = adaptive_gradient_clip_with_norms_(
            module if module is not None else params,
            clip_factor=threshold,
            eps=eps,
            unit_dim=unit_dim,
            foreach=foreach,
        )
        return ClipResult(out.grad_norm_before, out.grad_norm_after, out.units_clipped)
    # AGC-028: 'value'
    for index, g in enumerate(grads):
        if g.is_complex():
            raise ValueError(
                f"algorithm 'value' cannot clip complex gradients (gradient {index} is "
                f"{g.dtype}): use 'norm' or 'agc'"
            )
    if _has_dtensor(grads):
        return _clip_value_sharded(grads, threshold, error_if_nonfinite)
    before = global_grad_norm(grads)
    if error_if_nonfinite:
        _raise_if_nonfinite(before)
    over = [(g.abs() > threshold).sum() for g in grads]
    count = torch.stack([c.to(before.device) for c in over]).sum()
    # `foreach` is passed only when set, so the call works on every torch version.
    extra = {} if foreach is None else {"foreach": foreach}
    torch.nn.utils.clip_grad_value_(params, clip_value=threshold, **extra)
    return ClipResult(before, global_grad_norm(grads), count)


def _clip_value_sharded(grads: list[Tensor], threshold: float, check: bool) -> ClipResult:
    """'value' on DTensor gradients: each rank clamps its own entries; the statistics (norm
    before, after, entries clipped) are summed in one ``all_reduce`` per process group."""
    if check:
        _raise_if_nonfinite(global_grad_norm(grads))
    wide = any(g.dtype in mt.WIDE for g in grads)
    acc = torch.float64 if wide else torch.float32
    reducer = Reducer()
    entries = []
    with torch.no_grad():
        for key, part in by_shards(grads, "gradient").items():
            before = _local_norm(part, acc).square().to(torch.float64)
            count = torch.stack([(g.abs() > threshold).sum() for g in part]).sum()
            for g in part:
                g.clamp_(-threshold, threshold)
            after = _local_norm(part, acc).square().to(torch.float64)
            entries.append(reducer.add(torch.stack([before, after, count.to(before)]), key))
        reducer.run()
        total = torch.stack([reducer[e] for e in entries]).sum(0)
    sums = total.sqrt().to(acc)
    return ClipResult(sums[0], sums[1], total[2].round().to(torch.int64))


def _raise_if_nonfinite(norm: Tensor) -> None:
    if not bool(torch.isfinite(norm)):
        raise RuntimeError(
            f"the global gradient norm is {float(norm)}: not clipping non-finite gradients "
            "(pass error_if_nonfinite=False to clip anyway)"
        )


# What the dispatch returns beyond the plan's call, for conformance checks of it
# (``conformance.domain``): its statistics are checked (AGC-038).
clip_gradients_.conformance_domain = {"extensions": ["statistics"]}  # type: ignore[attr-defined]
