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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["SUPPORTED_DTYPES", "UnitDim", "adaptive_gradient_clip_", "agc_unit_dims"]

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
_WIDE = (torch.float64, torch.complex128)
_STACK_LIMIT = 1 << 15
"""Tensors up to this many elements that share shape, dtype, device and unit axis are stacked
and handled by one set of kernels; larger ones are handled alone (stacking would copy them)."""

_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_MISSING = object()


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


class _Group:
    """Gradients sharing device, dtype, shape and unit axis; clipped by one set of kernels."""

    __slots__ = ("axis", "grads", "scale", "weights")

    def __init__(self, axis: int | None) -> None:
        self.axis = axis
        self.weights: list[Tensor] = []
        self.grads: list[Tensor] = []
        self.scale: Tensor | None = None


def _unit_norms(x: Tensor, axis: int | None, acc: torch.dtype) -> Tensor:
    """Norms of the units of a stacked (n, *shape) tensor, shape (n, units), in ``acc``."""
    if x.is_complex():
        # AGC-016: modulus; view_as_real also avoids the slow complex norm kernel on CPU.
        x = torch.view_as_real(x.resolve_conj())
    n = x.shape[0]
    if axis is None:  # AGC-003: the whole tensor is one unit
        return torch.linalg.vector_norm(x.reshape(n, -1), dim=1, dtype=acc).unsqueeze(1)
    # AGC-002: reduce the trailing dims first (contiguous, fast), then any leading dims.
    a = axis + 1
    rows = x.flatten(a + 1) if a + 1 < x.ndim else x.unsqueeze(-1)
    inner = torch.linalg.vector_norm(rows, dim=-1, dtype=acc)
    if a == 1:
        return inner
    return torch.linalg.vector_norm(inner, dim=tuple(range(1, a)))


def _mul_each(targets: list[Tensor], factors: list[Tensor]) -> None:
    """``t.mul_(f)`` for each pair, through the multi-tensor kernel where torch accepts it."""
    try:
        torch._foreach_mul_(targets, factors)
    except (RuntimeError, TypeError, AttributeError):
        # torch._foreach_* is private: should a torch version refuse these (broadcasting,
        # mixed-dtype) lists, do the same products one by one. The checks run before any write.
        for t, f in zip(targets, factors, strict=True):
            t.mul_(f)


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
        foreach: ``None``/``True``: small same-shaped tensors are stacked and
            written back with multi-tensor (``torch._foreach_*``) kernels;
            ``False``: one tensor at a time.

    Returns:
        A 0-dim int64 tensor on the first gradient's device (CPU when there is no
        gradient): the number of units rescaled. Reading it is the caller's sync.

    Raises:
        TypeError: ``parameters`` or an argument of the wrong type.
        ValueError: ``clip_factor`` or ``eps`` <= 0 / NaN / inf (AGC-019), a sparse
            gradient (AGC-020), an unsupported dtype, an out-of-range unit axis.
    """
    lam = _check_positive("clip_factor", clip_factor)
    floor = _check_positive("eps", eps)
    if not isinstance(error_if_nonfinite, bool):
        raise TypeError(f"error_if_nonfinite must be a bool, got {error_if_nonfinite!r}")
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"foreach must be None or a bool, got {foreach!r}")

    declared: Mapping[Any, int | None] = {}
    if isinstance(parameters, nn.Module):
        declared = agc_unit_dims(parameters)
        params: list[Tensor] = list(parameters.parameters())
    else:
        params = _as_list(parameters)

    explicit: Mapping[Any, int | None] | None = None
    rule: Callable[[Tensor], int | None] | None = None
    fixed: int | None = None
    if isinstance(unit_dim, Mapping):
        explicit = unit_dim
    elif callable(unit_dim):
        rule = unit_dim
    elif unit_dim is not None:
        fixed = _check_axis(unit_dim, "unit_dim")

    stack = foreach is not False
    groups: dict[tuple[Any, ...], _Group] = {}
    seen: set[int] = set()
    for index, param in enumerate(params):
        grad = param.grad
        if grad is None or id(param) in seen:  # AGC-013; a shared parameter is clipped once
            continue
        seen.add(id(param))
        if grad.layout != torch.strided:  # AGC-020
            raise ValueError(
                f"parameter {index} has a sparse gradient (layout {grad.layout}): "
                "adaptive_gradient_clip_ clips dense (strided) gradients only"
            )
        if grad.dtype not in _SUPPORTED:
            raise ValueError(
                f"parameter {index} has a gradient of dtype {grad.dtype}; supported dtypes: "
                f"{', '.join(str(d) for d in SUPPORTED_DTYPES)}"
            )
        # Unit axis: explicit mapping entry > module declaration > rule / int / default.
        if explicit is not None and (found := explicit.get(param, _MISSING)) is not _MISSING:
            axis = _check_axis(found, f"unit_dim[parameter {index}]")
            if axis is None:
                continue
        elif declared and param in declared:
            axis = declared[param]
            if axis is None:
                continue
        elif rule is not None:
            axis = _check_axis(rule(param), f"unit_dim(parameter {index})")
            if axis is None:
                continue
        else:
            axis = 0 if fixed is None else fixed
        ndim = grad.ndim
        if ndim <= 1:
            unit: int | None = None  # AGC-003
        elif -ndim <= axis < ndim:
            unit = axis % ndim
        else:
            raise ValueError(
                f"unit axis {axis} is out of range for parameter {index} of shape "
                f"{tuple(grad.shape)} (allowed: {-ndim} to {ndim - 1})"
            )
        key: tuple[Any, ...] = (grad.device, grad.dtype, grad.shape, unit)
        if not stack or grad.numel() > _STACK_LIMIT:
            key = (*key, index)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(unit)
        group.weights.append(param)  # read only, under no_grad below (AGC-011)
        group.grads.append(grad)

    counts: list[Tensor] = []
    norms: list[Tensor] = []
    with torch.no_grad():
        for group in groups.values():
            acc = torch.float64 if group.grads[0].dtype in _WIDE else torch.float32
            if len(group.grads) == 1:
                g_all = group.grads[0].unsqueeze(0)
                w_all = group.weights[0].unsqueeze(0)
            else:
                g_all = torch.stack(group.grads)
                w_all = torch.stack(group.weights)
            g_norm = _unit_norms(g_all, group.axis, acc)
            w_norm = _unit_norms(w_all, group.axis, acc)
            bound = torch.clamp(w_norm, min=floor) * lam  # AGC-009 (NaN stays NaN)
            clipped = g_norm > bound  # AGC-001 / AGC-022: NaN compares False
            # The division only matters where clipped (g_norm > bound >= 0), so no 0/0 (AGC-010).
            group.scale = torch.where(clipped, bound / g_norm, torch.ones_like(g_norm))
            counts.append(clipped.sum())
            if error_if_nonfinite:
                norms.append(g_norm.flatten())

        if error_if_nonfinite and norms:  # AGC-023: one sync, before anything is modified
            first = norms[0].device
            every = torch.cat([n.to(first, dtype=torch.float64) for n in norms])
            if not bool(torch.isfinite(every).all()):
                raise RuntimeError(
                    "adaptive_gradient_clip_: a gradient unit has a non-finite norm (NaN or inf); "
                    "pass error_if_nonfinite=False to clip anyway (NaN-norm units are then left "
                    "unchanged and inf-norm units are multiplied by 0)"
                )

        for group in groups.values():
            assert group.scale is not None
            # Real views make the factor 1.0 exact for complex entries too (AGC-004).
            targets = [
                torch.view_as_real(g) if g.is_complex() and not g.is_conj() else g
                for g in group.grads
            ]
            shape = [1] * targets[0].ndim
            if group.axis is not None:
                shape[group.axis] = group.scale.shape[1]
            if len(targets) == 1:
                targets[0].mul_(group.scale.view(shape))  # exact for factor 1.0 (AGC-004)
            else:
                _mul_each(targets, list(group.scale.view(-1, *shape).unbind(0)))

    if not counts:
        return torch.zeros((), dtype=torch.int64)
    device = counts[0].device
    return torch.stack([c.to(device) for c in counts]).sum()
