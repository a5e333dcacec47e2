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
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor, nn

from impl import _multi_tensor as mt

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
_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}
_PACK_LIMIT = 1 << 14
"""Gradients of up to this many elements are packed together (:class:`_Pack`): below it the
fixed cost of a kernel launch outweighs the cost of copying the tensor once."""
_PACK_MAX = 1 << 22
"""Elements per pack at most, so that its temporary buffers stay small."""
_WAVE = 1 << 20
"""Elements of large gradients clipped per wave (:class:`_RowWave`): small enough that a
wave's gradients are still in cache when they are scaled, large enough to amortise the
wave's dozen small kernels."""

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

    __slots__ = ("declared", "explicit", "fixed", "rule")

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

    def __call__(self, index: int, param: Tensor) -> int | None | _Excluded:
        if self.explicit is not None and (found := self.explicit.get(param, _MISSING)) is not _MISSING:
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


# --- 3. collection and grouping -----------------------------------------------------------------


class _Item(NamedTuple):
    """One gradient to clip: its parameter (read only), its ``.grad``, its unit axis."""

    weight: Tensor
    grad: Tensor
    axis: int | None


def _collect(params: list[Tensor], axes: _UnitAxes) -> tuple[list[_Item], list[Tensor]]:
    """The gradients to clip, and those excluded by a unit axis of None.

    Every gradient is checked (AGC-020 sparse, AGC-015 dtype) before anything is
    modified; None gradients are skipped (AGC-013) and a parameter listed twice
    is clipped once.
    """
    items: list[_Item] = []
    excluded: list[Tensor] = []
    seen: set[int] = set()
    for index, param in enumerate(params):
        grad = param.grad
        if grad is None or id(param) in seen:
            continue
        seen.add(id(param))
        if grad.layout != torch.strided:
            raise ValueError(
                f"parameter {index} has a sparse gradient (layout {grad.layout}): "
                "adaptive_gradient_clip_ clips dense (strided) gradients only"
            )
        if grad.dtype not in _SUPPORTED:
            raise ValueError(
                f"parameter {index} has a gradient of dtype {grad.dtype}; supported dtypes: "
                f"{', '.join(str(d) for d in SUPPORTED_DTYPES)}"
            )
        axis = axes(index, param)
        if axis is EXCLUDED:
            excluded.append(grad)
        elif grad.numel():  # an empty gradient has nothing to clip
            items.append(_Item(param, grad, axis))  # type: ignore[arg-type]
    return items, excluded


def _plan(items: list[_Item], foreach: bool | None) -> list[_Task]:
    """Group the gradients into tasks, each clipped by a few kernels.

    ``foreach=False``: one :class:`_Single` per gradient. Otherwise, per device
    and (real) dtype: gradients of up to ``_PACK_LIMIT`` elements go into
    :class:`_Pack` s; larger ones whose units are contiguous rows (unit axis 0,
    or one unit) are cut into row blocks and gathered into :class:`_RowWave` s
    of about ``_WAVE`` elements; the rest (another unit axis, non-contiguous or
    conjugated) are :class:`_Single`.
    """
    if foreach is False:
        return [_Single(item) for item in items]
    small: dict[tuple[torch.device, torch.dtype], list[_Item]] = {}
    large: dict[tuple[torch.device, torch.dtype], list[_Item]] = {}
    tasks: list[_Task] = []
    for item in items:
        grad = item.grad
        if grad.is_conj():
            tasks.append(_Single(item))
            continue
        key = (grad.device, _REAL.get(grad.dtype, grad.dtype))
        if grad.numel() <= _PACK_LIMIT:
            small.setdefault(key, []).append(item)
        elif item.axis in (0, None) and grad.is_contiguous() and item.weight.is_contiguous():
            large.setdefault(key, []).append(item)
        else:
            tasks.append(_Single(item))
    for group in small.values():
        tasks.extend(_Pack(chunk) for chunk in _chunks(group, _PACK_MAX))
    for group in large.values():
        tasks.extend(_row_waves(group))
    return tasks


def _chunks(items: list[_Item], limit: int) -> Iterator[list[_Item]]:
    """``items`` in consecutive runs of at most ``limit`` elements (at least one item each)."""
    run: list[_Item] = []
    size = 0
    for item in items:
        n = item.grad.numel()
        if run and size + n > limit:
            yield run
            run, size = [], 0
        run.append(item)
        size += n
    if run:
        yield run


def _row_waves(items: list[_Item]) -> Iterator[_RowWave]:
    """Row blocks of ``items`` (units as rows of a 2-D view) gathered into waves of ~_WAVE."""
    blocks: list[tuple[Tensor, Tensor]] = []
    size = 0
    for item in items:
        grad, weight = _real(item.grad), _real(item.weight)
        rows = grad.shape[0] if item.axis == 0 else 1
        g_rows, w_rows = grad.view(rows, -1), weight.view(rows, -1)
        step = max(1, _WAVE // g_rows.shape[1])
        for g_block, w_block in zip(g_rows.split(step), w_rows.split(step), strict=True):
            n = g_block.numel()
            if blocks and size + n > _WAVE:
                yield _RowWave(blocks)
                blocks, size = [], 0
            blocks.append((g_block, w_block))
            size += n
    if blocks:
        yield _RowWave(blocks)


# --- 4. norms and scales ------------------------------------------------------------------------


def _scales(w_norm: Tensor, g_norm: Tensor, lam: float, floor: float, one: Tensor) -> tuple[Tensor, Tensor]:
    """``(bound, scale)`` per unit: ``bound = lam * max(w_norm, floor)``, ``scale = min(1, bound / g_norm)``.

    >>> b, s = _scales(torch.tensor([5.0, 0.0]), torch.tensor([50.0, 0.0]), 0.1, 1e-3, torch.ones(()))
    >>> b.tolist(), s.tolist()
    ([0.5, 0.00010000000474974513], [0.009999999776482582, 1.0])

    ``fmin`` ignores NaN, so the rule holds under IEEE comparison (AGC-022): a
    NaN gradient or weight norm gives scale 1 (unit left unchanged), an
    infinite gradient norm gives 0. ``bound / g_norm >= 1`` exactly when
    ``g_norm <= bound``, so an unclipped unit is multiplied by exactly 1 (AGC-004),
    and a zero gradient unit (``bound / 0 = inf``) too (AGC-010). The clamp keeps a
    NaN weight norm NaN (AGC-009 guards zero weights, not NaN ones).
    """
    bound = torch.clamp(w_norm, min=floor).mul_(lam)
    return bound, torch.fmin(bound / g_norm, one)


def _unit_norms(x: Tensor, axis: int | None, acc: torch.dtype) -> Tensor:
    """Norms of the units of ``x`` (a real tensor) along ``axis`` (None: one unit), in ``acc``.

    >>> _unit_norms(torch.tensor([[3.0, 0.0], [4.0, 1.0]]), 1, torch.float32).tolist()
    [5.0, 1.0]
    """
    if axis is None:
        return mt.vector_norm(x, acc).reshape(1)
    # AGC-002: reduce the trailing dims first (contiguous, fast), then any leading dims.
    inner = x.flatten(axis + 1) if axis + 1 < x.ndim else x.unsqueeze(-1)
    norms = mt.row_norms(inner.reshape(-1, inner.shape[-1]), acc).view(inner.shape[:-1])
    if axis == 0:
        return norms
    return torch.linalg.vector_norm(norms, dim=tuple(range(axis)))


def _real(t: Tensor) -> Tensor:
    """The real view of a complex tensor (its modulus counts, AGC-016), else ``t``."""
    return torch.view_as_real(t) if t.is_complex() else t


class _Task(Protocol):
    """Some gradients clipped together: their unit norms first, then the scales applied."""

    def norms(self, keep: bool) -> tuple[Tensor, Tensor]:
        """``(weight norms, gradient norms)``, one per unit, accumulated in float32/float64.

        ``keep``: :meth:`apply` follows at once, so work may be kept for it.
        """
        ...

    def apply(self, scale: Tensor) -> None:
        """Multiply each unit's gradient by its ``scale`` in place (one rounding per entry)."""
        ...


class _Single:
    """One gradient on its own: any unit axis, any strides, conjugated complex too."""

    def __init__(self, item: _Item) -> None:
        self.item = item
        self.acc = mt.accumulation_dtype(item.grad.dtype)

    def norms(self, keep: bool) -> tuple[Tensor, Tensor]:
        w, g, axis = self.item
        return (
            _unit_norms(mt.real_view(w), axis, self.acc),
            _unit_norms(mt.real_view(g), axis, self.acc),
        )

    def apply(self, scale: Tensor) -> None:
        grad, axis = self.item.grad, self.item.axis
        # A real view makes the factor 1.0 exact for complex entries too (AGC-004).
        target = grad if grad.is_conj() else _real(grad)
        shape = [1] * target.ndim
        if axis is not None:
            shape[axis] = scale.numel()
        factor = scale.view(shape)
        if target.dtype in mt.HALF:  # product in float32, rounded once
            target.copy_(target.to(self.acc).mul_(factor))
        else:
            target.mul_(factor)


class _RowWave:
    """Row blocks ``(gradient rows, weight rows)`` of large gradients, one device and dtype.

    Each unit is a row; the blocks of one wave add up to about ``_WAVE``
    elements, so that a gradient read for its norm is still in cache when it is
    scaled. Half gradients are copied into a float32 buffer for their norms,
    scaled there and copied back (one rounding; torch has no half kernel that
    takes a float32 factor per row without converting the whole tensor).
    """

    def __init__(self, blocks: list[tuple[Tensor, Tensor]]) -> None:
        self.blocks = blocks
        dtype = blocks[0][0].dtype
        self.acc = mt.accumulation_dtype(dtype)
        self.half = dtype in mt.HALF
        self.buffers: list[Tensor] | None = None

    def norms(self, keep: bool) -> tuple[Tensor, Tensor]:
        acc = self.acc
        w_norm = _cat([mt.row_norms(w, acc) for _, w in self.blocks])
        if self.half and keep:
            self.buffers = self._copies()
            g_norm = _cat([torch.linalg.vector_norm(b, dim=1) for b in self.buffers])
        else:
            g_norm = _cat([mt.row_norms(g, acc) for g, _ in self.blocks])
        return w_norm, g_norm

    def _copies(self) -> list[Tensor]:
        grads = [g for g, _ in self.blocks]
        flat = torch.empty(sum(g.numel() for g in grads), dtype=self.acc, device=grads[0].device)
        buffers = [b.view(g.shape) for b, g in zip(flat.split([g.numel() for g in grads]), grads, strict=True)]
        mt.copy_each_(buffers, grads)
        return buffers

    def apply(self, scale: Tensor) -> None:
        grads = [g for g, _ in self.blocks]
        factors = scale.unsqueeze(1).split([g.shape[0] for g in grads])
        if not self.half:
            mt.mul_each_(grads, factors)
            return
        buffers = self.buffers if self.buffers is not None else self._copies()
        self.buffers = None
        mt.mul_each_(buffers, factors)
        mt.copy_each_(grads, buffers)  # float32 -> half: the one rounding


class _Pack:
    """Small gradients of one device and (real) dtype, packed into one flat buffer.

    Their units are laid end to end, so one kernel takes every unit's squared
    norm (``torch.segment_reduce``) however many shapes there are; the scales
    are written back with one multi-tensor multiply, through views of the
    per-unit scale shaped to broadcast against each gradient.
    """

    def __init__(self, items: list[_Item]) -> None:
        by_rank: dict[int, list[tuple[Tensor, Tensor, int]]] = {}
        for w, g, axis in items:
            g, w = _real(g), _real(w)
            if axis is None:  # one unit: a 0-dim factor broadcasts against any shape
                by_rank.setdefault(0, []).append((g, w, 1))
                continue
            if axis:
                g, w = g.movedim(axis, 0), w.movedim(axis, 0)
            by_rank.setdefault(g.ndim, []).append((g, w, g.shape[0]))
        self.groups = sorted(by_rank.items())
        self.grads = [g for _, group in self.groups for g, _, _ in group]
        self.weights = [w for _, group in self.groups for _, w, _ in group]
        self.counts = [n for _, group in self.groups for _, _, n in group]
        dtype = self.grads[0].dtype
        self.acc = mt.accumulation_dtype(dtype)
        lengths = [g.numel() // n for g, n in zip(self.grads, self.counts, strict=True)]
        self.lengths = torch.repeat_interleave(
            _index_tensor(lengths, self.grads[0].device),
            _index_tensor(self.counts, self.grads[0].device),
        )

    def _segment_norms(self, tensors: list[Tensor]) -> Tensor:
        flat = mt.flatten(tensors).to(self.acc)
        return torch.segment_reduce(flat * flat, "sum", lengths=self.lengths).sqrt_()

    def norms(self, keep: bool) -> tuple[Tensor, Tensor]:
        return self._segment_norms(self.weights), self._segment_norms(self.grads)

    def apply(self, scale: Tensor) -> None:
        factors: list[Tensor] = []
        start = 0
        for rank, group in self.groups:
            counts = [n for _, _, n in group]
            part = scale[start : start + sum(counts)]
            start += sum(counts)
            if rank == 0:
                factors.extend(part.unbind(0))
            else:
                factors.extend(part.view(-1, *([1] * (rank - 1))).split(counts))
        mt.mul_each_(self.grads, factors)  # half grads: float32 product, rounded once


def _index_tensor(values: list[int], device: torch.device) -> Tensor:
    """``values`` as an int64 tensor on ``device``, copied without waiting for the device."""
    cpu = torch.tensor(values, dtype=torch.int64)
    if device.type == "cpu":
        return cpu
    return cpu.pin_memory().to(device, non_blocking=True)


def _cat(tensors: list[Tensor]) -> Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)


# --- 5. running the tasks -----------------------------------------------------------------------


class _Outcome(NamedTuple):
    """Per unit of every task: gradient norm, bound and scale (on the first gradient's device)."""

    g_norm: Tensor
    bound: Tensor
    scale: Tensor


def _run(tasks: list[_Task], lam: float, floor: float, check_finite: bool) -> list[_Outcome]:
    """Norms, scales and write-back of every task; with ``check_finite`` all norms come first."""
    ones: dict[tuple[torch.device, torch.dtype], Tensor] = {}

    def finish(task: _Task, w_norm: Tensor, g_norm: Tensor) -> _Outcome:
        key = (g_norm.device, g_norm.dtype)
        one = ones.get(key)
        if one is None:
            one = ones[key] = torch.ones((), dtype=g_norm.dtype, device=g_norm.device)
        bound, scale = _scales(w_norm, g_norm, lam, floor, one)
        task.apply(scale)
        return _Outcome(g_norm, bound, scale)

    if not check_finite:
        return [finish(task, *task.norms(keep=True)) for task in tasks]
    normed = [task.norms(keep=False) for task in tasks]
    _raise_if_nonfinite([g for _, g in normed])
    return [finish(task, w, g) for task, (w, g) in zip(tasks, normed, strict=True)]


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
    return _cat([p.to(device) for p in parts])


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


def _clip(
    parameters: Tensor | Iterable[Tensor] | nn.Module,
    clip_factor: float,
    eps: float,
    unit_dim: UnitDim,
    error_if_nonfinite: bool,
    foreach: bool | None,
) -> tuple[list[_Outcome], list[_Item], list[Tensor]]:
    lam, floor = _check_arguments(clip_factor, eps, error_if_nonfinite, foreach)
    declared: Mapping[Any, int | None] = {}
    if isinstance(parameters, nn.Module):
        declared = agc_unit_dims(parameters)
        params: list[Tensor] = list(parameters.parameters())
    else:
        params = _as_list(parameters)
    items, excluded = _collect(params, _UnitAxes(unit_dim, declared))
    with torch.no_grad():  # weights are read only (AGC-011)
        outcomes = _run(_plan(items, foreach), lam, floor, error_if_nonfinite)
    return outcomes, items, excluded


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
            multi-tensor kernels (see "Implementation" in the module docstring);
            ``False``: one tensor at a time.

    Returns:
        A 0-dim int64 tensor on the first gradient's device (CPU when there is no
        gradient): the number of units rescaled. Reading it is the caller's sync.

    Raises:
        TypeError: ``parameters`` or an argument of the wrong type.
        ValueError: ``clip_factor`` or ``eps`` <= 0 / NaN / inf (AGC-019), a sparse
            gradient (AGC-020), an unsupported dtype, an out-of-range unit axis.
    """
    outcomes, items, _ = _clip(parameters, clip_factor, eps, unit_dim, error_if_nonfinite, foreach)
    if not outcomes:
        return torch.zeros((), dtype=torch.int64)
    return _count(outcomes, items[0].grad.device)


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
    outcomes, items, excluded = _clip(
        parameters, clip_factor, eps, unit_dim, error_if_nonfinite, foreach
    )
    first = items[0].grad if items else (excluded[0] if excluded else None)
    device = first.device if first is not None else torch.device("cpu")
    wide = any(g.dtype in mt.WIDE for g in [*(i.grad for i in items), *excluded])
    acc = torch.float64 if wide else torch.float32
    if outcomes:
        count = _count(outcomes, device)
        g_norm = _joined([o.g_norm for o in outcomes], device)
        after = g_norm * _joined([o.scale for o in outcomes], device)
    else:
        count = torch.zeros((), dtype=torch.int64, device=device)
        g_norm = after = torch.zeros(0, dtype=acc, device=device)
    return AGCResult(
        count, _global_norm(g_norm, excluded, acc), _global_norm(after, excluded, acc)
    )
