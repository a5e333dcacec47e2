"""Unit-wise Adaptive Gradient Clipping (Brock et al. 2021, Algorithm 2), in place and sync-free.

>>> import torch
>>> from impl.agc import adaptive_gradient_clip_
>>> w = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))   # unit norms 5, 1
>>> w.grad = torch.tensor([[30.0, 40.0], [0.001, 0.0]])               # unit norms 50, 0.001
>>> adaptive_gradient_clip_([w], clip_factor=0.1)                   # bounds 0.5, 0.1
tensor(1)
>>> w.grad                                                         # row 0 clipped, row 1 kept
tensor([[0.3000, 0.4000],
        [0.0010, 0.0000]])

Each unit ``i`` of a parameter ``W`` with gradient ``G`` gets the bound
``clip_factor * max(||W_i||, eps)``; a gradient unit whose norm exceeds it is
rescaled onto it, any other is left bit-for-bit alone (clauses AGC-001,
AGC-004, AGC-005).

**Unit axes.** A tensor of rank <= 1 is one unit. For rank >= 2 the units are
the slices along dim 0 unless said otherwise (AGC-002, AGC-003). Say
otherwise with ``unit_dim`` (an int for every rank >= 2 tensor, a mapping
``{parameter: axis or None}`` keyed by the parameter object, or a callable
``parameter -> axis or None``; ``None`` excludes that parameter, e.g. a final
classifier layer), or pass an ``nn.Module``: then :func:`agc_unit_dims` reads
the axes its modules declare (AGC-024). The protocol for module authors is a
class attribute naming the module's own parameters::

    class SpectralConv2d(nn.Module):
        AGC_UNIT_DIMS: ClassVar[dict[str, int | None]] = {"weight_pos": 1, "weight_neg": 1}

``nn.ConvTranspose1d/2d/3d`` weights (in, out, ...) get axis 1 without a
declaration. Precedence: a ``unit_dim`` mapping entry, then a module's
declaration, then the rule (int, callable or default).

**Non-finite gradients** (AGC-021, AGC-022, AGC-023). With
``error_if_nonfinite=False`` (default) nothing is checked and the rule is
applied under IEEE comparison: a unit whose gradient norm is NaN is left
unchanged, one whose norm is infinite is multiplied by 0 (its infinite entries
become NaN), every other unit is clipped as usual. A norm that overflows the
accumulation dtype (float32 for float32 gradients, as in ``clip_grad_norm_``)
counts as infinite. With ``error_if_nonfinite=True`` a non-finite gradient
norm raises ``RuntimeError`` before any gradient is modified; this check costs
one host synchronisation, the only one this function can make.

**Precision.** Norms are accumulated in float32 (float64 for float64 and
complex128 gradients); the bound and the scale ``min(1, bound / norm)`` are
computed in that dtype and each product is formed in it and rounded once to
the gradient's dtype (a float16 gradient is never multiplied by a float16
factor, which can underflow).

**Sharded parameters** (AGC-035). DTensor parameters (FSDP2's ``fully_shard``, any
``Shard`` / ``Replicate`` layout on a 1-D or 2-D mesh) are clipped through their local
tensors, with the partial squared norms of units that span ranks summed in one
``all_reduce`` per process group (:mod:`impl._agc_sharded`); the count returned is the
whole model's, the same on every rank. Plain parameters (DDP) take the plain path.

**Stages.** :func:`_check_arguments` (AGC-019), :class:`_UnitAxes` (unit-axis
resolution, AGC-002/003/024), :func:`_collect` (dtype/layout checks, grouping
by device and dtype), then :func:`impl._agc_tasks.plan` (packs, rows,
single tensors), each task's norms, :func:`impl._agc_tasks.scales` and the
task's write-back, run by :func:`_run`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from impl import _agc_tasks as tasks
from impl import _multi_tensor as mt
from impl._agc_sharded import ShardedItem, ShardedStats, clip_sharded
from impl._sharded import dtensor_type, local

__all__ = [
    "SUPPORTED_DTYPES",
    "AGCResult",
    "UnitDim",
    "adaptive_gradient_clip_",
    "adaptive_gradient_clip_with_norms_",
    "agc_unit_dims",
]

UnitDim = int | Mapping[Any, int | None] | Callable[[Tensor], int | None] | None
"""What ``unit_dim`` accepts: see the module docstring."""

SUPPORTED_DTYPES: tuple[torch.dtype, ...] = (
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
)
"""Gradient dtypes AGC clips (clause AGC-015)."""

_SUPPORTED = frozenset(SUPPORTED_DTYPES)
_STRIDED = torch.strided
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_MISSING = object()


class _Excluded:
    """The unit axis of a parameter not to clip (``unit_dim`` or a declaration said None)."""

    def __repr__(self) -> str:
        return "EXCLUDED"


EXCLUDED = _Excluded()


def _check_positive(name: str, value: object) -> float:
    # AGC-019: named ValueError for <= 0, NaN, inf; TypeError for non-numbers.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (a Python float), got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def _check_axis(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be an int axis or None (skip), got {value!r}")
    return value


def agc_unit_dims(module: nn.Module) -> dict[nn.Parameter, int | None]:
    """The unit axis of every parameter of ``module`` that declares one (clause AGC-024).

    >>> import torch
    >>> up = torch.nn.ConvTranspose2d(8, 4, 2)
    >>> agc_unit_dims(up) == {up.weight: 1}
    True

    Walks ``module.modules()``: ``nn.ConvTranspose1d/2d/3d`` weights map to axis
    1, and a module class may declare ``AGC_UNIT_DIMS: ClassVar[dict[str, int |
    None]]`` mapping its own parameter names to their output-unit axis (``None``:
    do not clip that parameter). Parameters nobody declares are absent: they get
    the default axis. A declared name that is not a parameter of the module, an
    axis out of range, or two different axes for one shared parameter raise
    ``ValueError``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"agc_unit_dims expects an nn.Module, got {type(module).__name__}")
    dims: dict[nn.Parameter, int | None] = {}
    for prefix, sub in module.named_modules():
        declared: dict[str, Any] = {}
        if isinstance(sub, _TRANSPOSED):
            declared["weight"] = 1
        declared.update(getattr(sub, "AGC_UNIT_DIMS", None) or {})
        owner = type(sub).__name__
        for name, raw in declared.items():
            if name not in sub._parameters:
                raise ValueError(
                    f"{owner}.AGC_UNIT_DIMS names {name!r}, which is not a parameter of "
                    f"module {prefix or '<root>'!r}; its parameters are {list(sub._parameters)}"
                )
            param = sub._parameters[name]
            if param is None:
                continue
            axis = _check_axis(raw, f"{owner}.AGC_UNIT_DIMS[{name!r}]")
            if axis is not None and param.ndim >= 2 and not -param.ndim <= axis < param.ndim:
                raise ValueError(
                    f"{owner}.AGC_UNIT_DIMS[{name!r}] = {axis} is out of range for a parameter "
                    f"of shape {tuple(param.shape)}"
                )
            if param in dims and dims[param] != axis:
                raise ValueError(
                    f"parameter {prefix}.{name} is shared and declared with two unit axes: "
                    f"{dims[param]} and {axis}"
                )
            dims[param] = axis
    return dims


# --- 1. argument checks -------------------------------------------------------------------------


def _check_arguments(
    clip_factor: object, eps: object, error_if_nonfinite: object, foreach: object
) -> tuple[float, float]:
    """``(clip_factor, eps)`` as floats, after the checks of clause AGC-019.

    >>> _check_arguments(0.01, 1e-3, False, None)
    (0.01, 0.001)
    """
    lam = _check_positive("clip_factor", clip_factor)
    floor = _check_positive("eps", eps)
    if not isinstance(error_if_nonfinite, bool):
        raise TypeError(f"error_if_nonfinite must be a bool, got {error_if_nonfinite!r}")
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"foreach must be None or a bool, got {foreach!r}")
    return lam, floor


def _as_list(parameters: object) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(
            "parameters must be a tensor, an iterable of tensors or an nn.Module, "
            f"got {type(parameters).__name__}"
        )
    items = list(parameters)
    for index, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"parameters[{index}] is a {type(item).__name__}, not a tensor")
    return items


# --- 2. unit axes -------------------------------------------------------------------------------


class _UnitAxes:
    """Where each parameter's units lie: ``unit_dim`` and the module's declarations combined.

    >>> axes = _UnitAxes(None, {})
    >>> axes(0, torch.zeros(3, 4)), axes(1, torch.zeros(5))
    (0, None)

    Calling it gives the unit axis in ``0 .. ndim-1`` for a rank >= 2 tensor,
    ``None`` when the whole tensor is one unit (rank <= 1, AGC-003), or
    :data:`EXCLUDED` for a parameter not to clip. Precedence (AGC-024): an
    explicit mapping entry, then a module declaration, then the callable, int
    or default rule (dim 0, AGC-002).
    """

    __slots__ = ("declared", "explicit", "fixed", "is_default", "rule")

    def __init__(self, unit_dim: UnitDim, declared: Mapping[Any, int | None]) -> None:
        self.declared = declared
        self.explicit: Mapping[Any, int | None] | None = None
        self.rule: Callable[[Tensor], int | None] | None = None
        self.fixed = 0
        if isinstance(unit_dim, Mapping):
            self.explicit = unit_dim
        elif callable(unit_dim):
            self.rule = unit_dim
        elif unit_dim is not None:
            fixed = _check_axis(unit_dim, "unit_dim")
            self.fixed = 0 if fixed is None else fixed
        empty = isinstance(unit_dim, Mapping) and not unit_dim
        self.is_default = not declared and (unit_dim is None or empty)
        """True when every parameter gets the default rule (the fast path of :func:`_collect`)."""

    def __call__(self, index: int, param: Tensor) -> int | _Excluded | None:
        if (
            self.explicit is not None
            and (found := self.explicit.get(param, _MISSING)) is not _MISSING
        ):
            axis = _check_axis(found, f"unit_dim[parameter {index}]")
        elif self.declared and param in self.declared:
            axis = self.declared[param]
        elif self.rule is not None:
            axis = _check_axis(self.rule(param), f"unit_dim(parameter {index})")
        else:
            axis = self.fixed
        if axis is None:
            return EXCLUDED
        ndim = param.ndim
        if ndim <= 1:
            return None
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"unit axis {axis} is out of range for parameter {index} of shape "
                f"{tuple(param.shape)} (allowed: {-ndim} to {ndim - 1})"
            )
        return axis % ndim


# --- 3. collection (then impl._agc_tasks: grouping, norms, scales, write-back) ------------------


def _bad_gradient(index: int, grad: Tensor) -> ValueError:
    if grad.layout != torch.strided:  # AGC-020
        return ValueError(
            f"parameter {index} has a sparse gradient (layout {grad.layout}): "
            "adaptive_gradient_clip_ clips dense (strided) gradients only"
        )
    return ValueError(  # AGC-015
        f"parameter {index} has a gradient of dtype {grad.dtype}; supported dtypes: "
        f"{', '.join(str(d) for d in SUPPORTED_DTYPES)}"
    )


class _Sharded(NamedTuple):
    """DTensor parameters of a call (:mod:`impl._agc_sharded`): to clip, and excluded grads."""

    items: list[ShardedItem]
    excluded: list[Tensor]


def _collect(
    params: list[Tensor], axes: _UnitAxes, sharded: _Sharded | None = None
) -> tuple[dict[tasks.Key, list[tasks.Item]], list[Tensor]]:
    """The gradients to clip by (device, dtype), and those whose unit axis is None.

    >>> w = torch.nn.Parameter(torch.ones(2, 3)); w.grad = torch.ones(2, 3)
    >>> groups, excluded = _collect([w, w], _UnitAxes(None, {}))
    >>> [(key[1], [axis for _, _, axis in items]) for key, items in groups.items()], excluded
    ([(torch.float32, [0])], [])

    Every gradient is checked (AGC-020 sparse, AGC-015 dtype) before anything is
    modified; None gradients are skipped (AGC-013); a parameter listed twice is
    clipped once. DTensor parameters go to ``sharded`` instead (AGC-035). This loop
    touches every parameter, so it reads as few tensor attributes as it can.
    """
    groups: dict[tasks.Key, list[tasks.Item]] = {}
    excluded: list[Tensor] = []
    seen: set[int] = set()
    default = axes.is_default
    dtensor = dtensor_type() if sharded is not None else None
    for index, param in enumerate(params):
        grad = param.grad
        if grad is None:
            continue
        key = id(param)
        if key in seen:
            continue
        seen.add(key)
        dtype = grad.dtype
        if grad.layout is not _STRIDED or dtype not in _SUPPORTED:
            raise _bad_gradient(index, grad)
        if default:
            axis: int | _Excluded | None = 0 if grad.ndim >= 2 else None
        else:
            axis = axes(index, param)
            if axis is EXCLUDED:
                if dtensor is not None and isinstance(grad, dtensor):
                    sharded.excluded.append(grad)  # type: ignore[union-attr]
                else:
                    excluded.append(grad)
                continue
        if dtensor is not None and (isinstance(grad, dtensor) or isinstance(param, dtensor)):
            sharded.items.append(ShardedItem(index, param, grad, axis))  # type: ignore[union-attr,arg-type]
            continue
        group = groups.get((grad.device, dtype))
        if group is None:
            group = groups[(grad.device, dtype)] = []
        group.append((param, grad, axis))  # type: ignore[arg-type]
    return groups, excluded


# --- 4. running the tasks, the results ----------------------------------------------------------


class _Outcome(NamedTuple):
    """Per unit of every task: gradient norm, bound and scale (on the first gradient's device)."""

    g_norm: Tensor
    bound: Tensor
    scale: Tensor


def _run(todo: list[tasks.Task], lam: float, floor: float, check_finite: bool) -> list[_Outcome]:
    """Every task clipped; with ``check_finite`` every norm is taken (and checked) first."""
    ones: dict[tuple[torch.device, torch.dtype], Tensor] = {}
    if not check_finite:
        return [_Outcome(*task.clip(lam, floor, _one_for(task, ones))) for task in todo]
    normed = [task.norms() for task in todo]
    _raise_if_nonfinite([g for _, g in normed])
    return _apply_normed(todo, normed, lam, floor, ones)


def _apply_normed(
    todo: list[tasks.Task],
    normed: list[tuple[Tensor, Tensor]],
    lam: float,
    floor: float,
    ones: dict[tuple[torch.device, torch.dtype], Tensor],
) -> list[_Outcome]:
    outcomes = []
    for task, (w_norm, g_norm) in zip(todo, normed, strict=True):
        bound, scale = tasks.scales(w_norm, g_norm, lam, floor, _one_for(task, ones))
        task.apply(scale)
        outcomes.append(_Outcome(g_norm, bound, scale))
    return outcomes


def _run_with_sharded(
    todo: list[tasks.Task],
    sharded: _Sharded,
    lam: float,
    floor: float,
    check_finite: bool,
    foreach: bool | None,
) -> tuple[list[_Outcome], ShardedStats]:
    """Plain tasks and DTensor parameters together; with ``check_finite`` the plain norms'
    check joins the ranks' (every rank raises, or none), before anything is written."""
    ones: dict[tuple[torch.device, torch.dtype], Tensor] = {}

    def one(task: tasks.Task) -> Tensor:
        return _one_for(task, ones)

    if not check_finite:
        outcomes = [_Outcome(*task.clip(lam, floor, one(task))) for task in todo]
        stats = clip_sharded(sharded.items, sharded.excluded, lam, floor, False, foreach, one)
        return outcomes, stats
    normed = [task.norms() for task in todo]
    flags = [(~torch.isfinite(g)).sum().reshape(1) for _, g in normed]
    stats = clip_sharded(sharded.items, sharded.excluded, lam, floor, True, foreach, one, flags)
    return _apply_normed(todo, normed, lam, floor, ones), stats


def _one_for(task: tasks.Task, ones: dict[tuple[torch.device, torch.dtype], Tensor]) -> Tensor:
    """A 0-dim 1 in the task's accumulation dtype and on its device, made once per call."""
    key = (task.device, task.acc)
    found = ones.get(key)
    if found is None:
        found = ones[key] = torch.ones((), dtype=task.acc, device=task.device)
    return found


def _raise_if_nonfinite(g_norms: list[Tensor]) -> None:
    """AGC-023: one host sync, before anything is modified."""
    if not g_norms:
        return
    first = g_norms[0].device
    every = torch.cat([n.to(first, dtype=torch.float64) for n in g_norms])
    if not bool(torch.isfinite(every).all()):
        raise RuntimeError(
            "adaptive_gradient_clip_: a gradient unit has a non-finite norm (NaN or inf); "
            "pass error_if_nonfinite=False to clip anyway (NaN-norm units are then left "
            "unchanged and inf-norm units are multiplied by 0)"
        )


def _joined(parts: list[Tensor], device: torch.device) -> Tensor:
    return tasks.cat([p.to(device) for p in parts])


def _global_norm(g_norms: Tensor, excluded: list[Tensor], acc: torch.dtype) -> Tensor:
    """sqrt(sum of squared unit norms + squared norms of the ``excluded`` gradients), in ``acc``."""
    parts = [torch.linalg.vector_norm(g_norms, dtype=acc)] if g_norms.numel() else []
    parts += [mt.vector_norm(mt.real_view(g), acc).to(g_norms.device) for g in excluded]
    if not parts:
        return torch.zeros((), dtype=acc, device=g_norms.device)
    return torch.linalg.vector_norm(torch.stack(parts))


class AGCResult(NamedTuple):
    """What :func:`adaptive_gradient_clip_with_norms_` did; 0-dim tensors, no host sync.

    ``grad_norm_before`` / ``grad_norm_after``: the global L2 norm of every
    gradient given (excluded ones included, a shared one once), before and
    after clipping, derived from the unit norms AGC takes anyway:
    ``sqrt(sum ||G_i||^2)`` and ``sqrt(sum (s_i ||G_i||)^2)``. float32, or
    float64 when a gradient is float64/complex128.
    """

    units_clipped: Tensor
    grad_norm_before: Tensor
    grad_norm_after: Tensor


class _Clipped(NamedTuple):
    outcomes: list[_Outcome]
    firsts: list[Tensor]
    """The first gradient of each plain (device, dtype) group."""
    excluded: list[Tensor]
    """Plain gradients whose unit axis is None."""
    sharded: ShardedStats | None
    """Over every rank, for the DTensor parameters (None: there were none)."""
    sharded_device: torch.device | None
    """The local device of the DTensor parameters."""
    sharded_wide: bool
    """Whether a DTensor gradient is float64 / complex128."""


def _clip(
    parameters: Tensor | Iterable[Tensor] | nn.Module,
    clip_factor: float,
    eps: float,
    unit_dim: UnitDim,
    error_if_nonfinite: bool,
    foreach: bool | None,
) -> _Clipped:
    """Check, collect, group, clip."""
    lam, floor = _check_arguments(clip_factor, eps, error_if_nonfinite, foreach)
    declared: Mapping[Any, int | None] = {}
    if isinstance(parameters, nn.Module):
        declared = agc_unit_dims(parameters)
        params: list[Tensor] = list(parameters.parameters())
    else:
        params = _as_list(parameters)
    sharded = _Sharded([], [])
    groups, excluded = _collect(params, _UnitAxes(unit_dim, declared), sharded)
    firsts = [items[0][1] for items in groups.values()]
    with torch.no_grad():  # weights are read only (AGC-011)
        todo = tasks.plan(groups, foreach)
        if not (sharded.items or sharded.excluded):
            outcomes = _run(todo, lam, floor, error_if_nonfinite)
            return _Clipped(outcomes, firsts, excluded, None, None, False)
        outcomes, stats = _run_with_sharded(todo, sharded, lam, floor, error_if_nonfinite, foreach)
    grads = [item.grad for item in sharded.items] + sharded.excluded
    wide = any(g.dtype in mt.WIDE for g in grads)
    return _Clipped(outcomes, firsts, excluded, stats, local(grads[0]).device, wide)


def _count(outcomes: list[_Outcome], device: torch.device) -> Tensor:
    g_norm = _joined([o.g_norm for o in outcomes], device)
    bound = _joined([o.bound for o in outcomes], device)
    return (g_norm > bound).sum()  # AGC-001 / AGC-022: a NaN norm compares False


def adaptive_gradient_clip_(
    parameters: Tensor | Iterable[Tensor] | nn.Module,
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    unit_dim: UnitDim = None,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Clip every gradient unit to ``clip_factor * max(||W_i||, eps)``, in place.

    >>> import torch
    >>> w = torch.nn.Parameter(torch.zeros(3))            # zero weights: the eps guard applies
    >>> w.grad = torch.tensor([0.0, 3e-5, 4e-5])          # norm 5e-5 > 0.01 * 1e-3
    >>> n = adaptive_gradient_clip_(w, clip_factor=0.01, eps=1e-3)
    >>> round(float(w.grad.norm()), 9), int(n)
    (1e-05, 1)

    Args:
        parameters: a tensor, an iterable (list or one-shot generator) of tensors,
            or an ``nn.Module`` (its parameters, with the unit axes of
            :func:`agc_unit_dims`). Tensors whose ``.grad`` is None are skipped.
        clip_factor: λ, finite and > 0.
        eps: floor of the weight norm, finite and > 0.
        unit_dim: unit axes (module docstring); ``None``: dim 0 for rank >= 2.
        error_if_nonfinite: raise ``RuntimeError`` (before modifying anything) if
            a gradient unit's norm is NaN or infinite; costs one host sync.
        foreach: ``None``/``True``: gradients are grouped and clipped with
            multi-tensor kernels (packs of small gradients, blocks of large
            ones: :mod:`impl._agc_tasks`); ``False``: one tensor at a time.

    Returns:
        A 0-dim int64 tensor on the first gradient's device (CPU when there is no
        gradient): the number of units rescaled. Reading it is the caller's sync.

    Raises:
        TypeError: ``parameters`` or an argument of the wrong type.
        ValueError: ``clip_factor`` or ``eps`` <= 0 / NaN / inf (AGC-019), a sparse
            gradient (AGC-020), an unsupported dtype, an out-of-range unit axis.
    """
    done = _clip(parameters, clip_factor, eps, unit_dim, error_if_nonfinite, foreach)
    if done.sharded is not None:
        count = done.sharded.clipped.round().to(torch.int64)
        if done.outcomes:
            count = count + _count(done.outcomes, count.device)
        return count
    if not done.outcomes:
        return torch.zeros((), dtype=torch.int64)
    return _count(done.outcomes, done.firsts[0].device)


# What this function supports beyond the plan's call, for conformance checks of it
# (``conformance.domain``): the optional keywords of AGC-023 and AGC-024, and a module's
# declared unit axes (AGC-024), are checked.
adaptive_gradient_clip_.conformance_domain = {  # type: ignore[attr-defined]
    "extensions": ["error_if_nonfinite", "unit_dim", "module"]
}


def adaptive_gradient_clip_with_norms_(
    parameters: Tensor | Iterable[Tensor] | nn.Module,
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    unit_dim: UnitDim = None,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> AGCResult:
    """:func:`adaptive_gradient_clip_`, also returning the global gradient norms before and after.

    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    >>> w.grad = torch.tensor([[30.0, 40.0], [0.0, 0.05]])  # unit norms 50, 0.05; bounds 0.5, 0.1
    >>> out = adaptive_gradient_clip_with_norms_([w], clip_factor=0.1)
    >>> int(out.units_clipped), round(float(out.grad_norm_before), 4)
    (1, 50.0)
    >>> round(float(out.grad_norm_after), 4)                   # sqrt(0.5**2 + 0.05**2)
    0.5025

    The norms cost no extra pass over the gradients (see :class:`AGCResult`);
    the clipping dispatch uses them for its 'agc' statistics.
    """
    done = _clip(parameters, clip_factor, eps, unit_dim, error_if_nonfinite, foreach)
    plain = [*done.firsts, *done.excluded]
    device = plain[0].device if plain else done.sharded_device or torch.device("cpu")
    wide = done.sharded_wide or any(g.dtype in mt.WIDE for g in plain)
    acc = torch.float64 if wide else torch.float32
    if done.outcomes:
        count = _count(done.outcomes, device)
        g_norm = _joined([o.g_norm for o in done.outcomes], device)
        after = g_norm * _joined([o.scale for o in done.outcomes], device)
    else:
        count = torch.zeros((), dtype=torch.int64, device=device)
        g_norm = after = torch.zeros(0, dtype=acc, device=device)
    before_norm = _global_norm(g_norm, done.excluded, acc)
    after_norm = _global_norm(after, done.excluded, acc)
    if done.sharded is not None:  # the DTensor parameters' sums over every rank
        s = done.sharded
        count = count + s.clipped.to(device).round().to(torch.int64)
        before_norm = _with_squares(before_norm, s.before.to(device))
        after_norm = _with_squares(after_norm, s.after.to(device))
    return AGCResult(count, before_norm, after_norm)


def _with_squares(norm: Tensor, squares: Tensor) -> Tensor:
    """``sqrt(norm**2 + squares)`` in ``norm``'s dtype (the sum in float64)."""
    return (norm.to(torch.float64).square() + squares).sqrt().to(norm.dtype)
