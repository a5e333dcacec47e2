"""Faulty AGCs, each breaking one AGC clause; all take ``(parameters, clip_factor, eps)``.

Used by tests/test_agc_properties.py to show that the AGC properties can fail:

- :func:`per_tensor_agc` takes one norm per whole tensor, as the upstream utility does (AGC-008).
- :func:`no_eps_guard_agc` bounds by clip_factor * ||W_i|| without the eps floor (AGC-009).
- :func:`rms_bound_agc` bounds by the RMS of the weight unit instead of its norm (AGC-005).
- :func:`replacing_agc` assigns a new ``.grad`` tensor instead of writing in place (AGC-012).
- :func:`nan_spreading_agc` is timm-style: clips right, but turns a NaN-norm unit all NaN (AGC-022).
- :func:`factor_default_agc` and :func:`eps_default_agc` clip right when given both arguments,
  but default to clip_factor 0.1 / eps 1e-4 instead of the plan's 0.01 / 1e-3 (AGC-037).
- :func:`eager_nonfinite_agc` declares ``error_if_nonfinite`` but raises only when it reaches
  the non-finite parameter, after clipping the ones before it (AGC-023).
- :func:`axis_ignoring_agc` declares ``unit_dim`` but clips along dim 0 whatever it says, and
  :func:`exclusion_ignoring_agc` honours int and mapped axes but clips a parameter mapped to
  None along dim 0 instead of leaving it alone (AGC-024); :func:`callable_ignoring_agc`
  honours int and mapping axes but treats a callable as no ``unit_dim`` (AGC-024).
- :func:`declaration_ignoring_agc` takes an ``nn.Module`` and clips its parameters along dim 0
  whatever its modules declare; :func:`declaration_trusting_agc` honours the declarations
  but checks none of them: an unknown name is skipped, an axis out of range raises
  ``IndexError`` from torch, a shared parameter takes the last axis (AGC-024).
- :func:`miscounting_agc` clips right but returns the number of units left alone (AGC-025).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = [
    "axis_ignoring_agc",
    "callable_ignoring_agc",
    "declaration_ignoring_agc",
    "declaration_trusting_agc",
    "eager_nonfinite_agc",
    "eps_default_agc",
    "exclusion_ignoring_agc",
    "factor_default_agc",
    "miscounting_agc",
    "nan_spreading_agc",
    "no_eps_guard_agc",
    "per_tensor_agc",
    "replacing_agc",
    "rms_bound_agc",
]

Norm = Callable[[torch.Tensor, tuple[int, ...] | None], torch.Tensor]


def _params(parameters: torch.Tensor | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    return [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)


def _wide(t: torch.Tensor) -> torch.Tensor:
    wide = torch.complex128 if t.is_complex() else torch.float64
    return t.detach().to(wide)


def _l2(t: torch.Tensor, dims: tuple[int, ...] | None) -> torch.Tensor:
    return torch.linalg.vector_norm(t, dim=dims, keepdim=True)


def _rms(t: torch.Tensor, dims: tuple[int, ...] | None) -> torch.Tensor:
    count = t.numel() if dims is None else max(1, t.numel() // max(1, t.shape[0]))
    return torch.linalg.vector_norm(t, dim=dims, keepdim=True) / count**0.5


def _unit_dims(t: torch.Tensor) -> tuple[int, ...] | None:
    return None if t.ndim <= 1 else tuple(range(1, t.ndim))


def _scaled(
    p: torch.Tensor, clip_factor: float, eps: float | None, w_norm: Norm, per_unit: bool = True
) -> torch.Tensor:
    g, w = _wide(p.grad), _wide(p)
    dims = _unit_dims(g) if per_unit else None
    bound = w_norm(w, dims)
    if eps is not None:
        bound = bound.clamp(min=eps)
    bound = clip_factor * bound
    g_norm = _l2(g, dims)
    scale = torch.where(g_norm > bound, bound / g_norm, torch.ones_like(g_norm))
    return (g * scale).to(p.grad.dtype)


_SKIP = object()
"""An answer of ``axis_of`` in :func:`_rule`: leave the parameter alone."""


def _rule(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    clip_factor: float,
    eps: float,
    axis_of: Callable[[torch.Tensor], object] = lambda p: None,
) -> None:
    """The plan's rule, right, on every parameter with a gradient (what the faults around it
    leave alone), with units along ``axis_of(p)`` (None: the default axes; :data:`_SKIP`: not
    clipped)."""
    for p in _params(parameters):
        axis = axis_of(p)
        if p.grad is None or axis is _SKIP:
            continue
        if p.ndim <= 1 or axis is None:
            p.grad.copy_(_scaled(p, clip_factor, eps, _l2))
        else:
            p.grad.copy_(_along(p, int(axis), clip_factor, eps))


def _along(p: torch.Tensor, axis: int, clip_factor: float, eps: float) -> torch.Tensor:
    """The rule with units along ``axis`` (rank >= 2)."""
    moved = torch.movedim(p.detach(), axis, 0)
    twin = torch.nn.Parameter(moved.clone())
    twin.grad = torch.movedim(p.grad, axis, 0).clone()
    return torch.movedim(_scaled(twin, clip_factor, eps, _l2), 0, axis)


def per_tensor_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """One norm for the whole tensor, even for rank >= 2 (breaks unit locality)."""
    for p in _params(parameters):
        if p.grad is not None:
            p.grad.copy_(_scaled(p, clip_factor, eps, _l2, per_unit=False))


def no_eps_guard_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Bound clip_factor * ||W_i||: zero weights zero the gradient."""
    for p in _params(parameters):
        if p.grad is not None:
            p.grad.copy_(_scaled(p, clip_factor, None, _l2))


def rms_bound_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Bound clip_factor * max(RMS(W_i), eps): the wrong bound for units of more than one entry."""
    for p in _params(parameters):
        if p.grad is not None:
            p.grad.copy_(_scaled(p, clip_factor, eps, _rms))


def replacing_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """Right numbers, but ``p.grad = new tensor``: the caller's gradient buffer is dropped."""
    for p in _params(parameters):
        if p.grad is not None:
            p.grad = _scaled(p, clip_factor, eps, _l2).contiguous()


def nan_spreading_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> None:
    """timm-style select: ``where(||G|| < bound, G, G * bound / ||G||)`` spreads a NaN norm."""
    for p in _params(parameters):
        if p.grad is None:
            continue
        g, w = _wide(p.grad), _wide(p)
        dims = _unit_dims(g)
        bound = clip_factor * _l2(w, dims).clamp(min=eps)
        g_norm = _l2(g, dims)
        clipped = g * (bound / g_norm.clamp(min=1e-30))
        p.grad.copy_(torch.where(g_norm <= bound, g, clipped).to(p.grad.dtype))


def factor_default_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.1, eps: float = 1e-3
) -> None:
    """The rule right, the default clip_factor 0.1 (the plan's is 0.01)."""
    _rule(parameters, clip_factor, eps)


def eps_default_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-4
) -> None:
    """The rule right, the default eps 1e-4 (the plan's is 1e-3)."""
    _rule(parameters, clip_factor, eps)


def eager_nonfinite_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    error_if_nonfinite: bool = False,
) -> None:
    """The switch checked one parameter at a time: the earlier ones are already clipped."""
    for p in _params(parameters):
        if p.grad is None:
            continue
        if error_if_nonfinite and not torch.isfinite(_l2(_wide(p.grad), None)).all():
            raise RuntimeError("non-finite gradient norm")
        p.grad.copy_(_scaled(p, clip_factor, eps, _l2))


eager_nonfinite_agc.conformance_domain = {"extensions": ["error_if_nonfinite"]}  # type: ignore[attr-defined]


def axis_ignoring_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    unit_dim: object = None,
) -> None:
    """Accepts ``unit_dim`` and ignores it: units along dim 0 always."""
    _rule(parameters, clip_factor, eps)


axis_ignoring_agc.conformance_domain = {"extensions": ["unit_dim"]}  # type: ignore[attr-defined]


def exclusion_ignoring_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    unit_dim: object = None,
) -> None:
    """Int and mapped axes honoured; a parameter mapped to None is clipped along dim 0."""
    _rule(
        parameters,
        clip_factor,
        eps,
        lambda p: unit_dim.get(p) if isinstance(unit_dim, dict) else unit_dim,
    )


exclusion_ignoring_agc.conformance_domain = {"extensions": ["unit_dim"]}  # type: ignore[attr-defined]


def callable_ignoring_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor],
    clip_factor: float = 0.01,
    eps: float = 1e-3,
    *,
    unit_dim: object = None,
) -> None:
    """Int and mapped axes honoured (None excludes); a callable ``unit_dim`` is ignored."""

    def axis_of(p: torch.Tensor) -> object:
        if isinstance(unit_dim, dict):
            axis = unit_dim.get(p, 0)
            return _SKIP if axis is None else axis
        return 0 if callable(unit_dim) else unit_dim

    _rule(parameters, clip_factor, eps, axis_of)


callable_ignoring_agc.conformance_domain = {"extensions": ["unit_dim"]}  # type: ignore[attr-defined]


def declaration_ignoring_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor] | torch.nn.Module,
    clip_factor: float = 0.01,
    eps: float = 1e-3,
) -> None:
    """A module's parameters clipped along dim 0, its declarations (AGC_UNIT_DIMS) unread."""
    if isinstance(parameters, torch.nn.Module):
        parameters = list(parameters.parameters())
    _rule(parameters, clip_factor, eps)


declaration_ignoring_agc.conformance_domain = {"extensions": ["module"]}  # type: ignore[attr-defined]


def declaration_trusting_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor] | torch.nn.Module,
    clip_factor: float = 0.01,
    eps: float = 1e-3,
) -> None:
    """A module's declared axes (AGC_UNIT_DIMS; 1 for ConvTranspose weights) honoured, none
    of them checked."""
    if not isinstance(parameters, torch.nn.Module):
        _rule(parameters, clip_factor, eps)
        return
    axes: dict[torch.Tensor, object] = {}
    for sub in parameters.modules():
        declared = dict(getattr(sub, "AGC_UNIT_DIMS", None) or {})
        if isinstance(sub, torch.nn.ConvTranspose2d):
            declared.setdefault("weight", 1)
        for name, axis in declared.items():
            if sub._parameters.get(name) is not None:
                axes[sub._parameters[name]] = _SKIP if axis is None else axis
    _rule(list(parameters.parameters()), clip_factor, eps, lambda p: axes.get(p))


declaration_trusting_agc.conformance_domain = {"extensions": ["module"]}  # type: ignore[attr-defined]


def miscounting_agc(
    parameters: torch.Tensor | Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
) -> torch.Tensor:
    """The rule right; the count returned is of the units left alone, not of those clipped."""
    left = torch.zeros((), dtype=torch.int64)
    for p in _params(parameters):
        if p.grad is None:
            continue
        dims = _unit_dims(p.grad)
        bound = clip_factor * _l2(_wide(p), dims).clamp(min=eps)
        left += (_l2(_wide(p.grad), dims) <= bound).sum()
        p.grad.copy_(_scaled(p, clip_factor, eps, _l2))
    return left
