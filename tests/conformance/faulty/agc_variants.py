"""Each known AGC variant of spec.variants.CATALOGUE written plainly in torch, as a test target.

tests/conformance/test_variants.py checks that the report names each one as itself. Every
function takes ``(parameters, clip_factor=0.01, eps=1e-3)`` and clips ``.grad`` in place;
:data:`VARIANTS` maps each target to the catalogue names it should be diagnosed as.
:func:`issue_example` is the AGC of issue 18 (per-tensor norms, ε added to both norms);
:func:`half_bound` matches no known variant (it clips to half the bound).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

__all__ = ["NONE", "VARIANTS"]


def _reduced(ndim: int, units: str) -> tuple[int, ...]:
    """The dims a norm runs over."""
    if ndim <= 1 or units == "tensor":
        return tuple(range(ndim))
    if units == "dim1":
        return tuple(d for d in range(ndim) if d != 1)
    if units == "last":
        return tuple(range(ndim - 1))
    if units == "jax" and ndim in (2, 3):
        return (0,)
    if units == "pyopt" and ndim == 3:
        return (1,)
    return tuple(range(1, ndim))


@torch.no_grad()
def _agc(
    parameters: Iterable[torch.Tensor],
    clip_factor: float,
    eps: float,
    *,
    units: str = "dim0",
    bound: str = "max",
    scale: str = "plain",
    nonstrict: bool = False,
    floor_compared: bool = False,
    half: bool = False,
) -> None:
    for p in parameters:
        if p.grad is None:
            continue
        g = p.grad
        dims = _reduced(g.ndim, units)
        real = g.abs().dtype if half else torch.promote_types(g.abs().dtype, torch.float32)
        w_norm = (p.detach().abs().to(real) ** 2).sum(dim=dims, keepdim=True).sqrt()
        g_norm = (g.abs().to(real) ** 2).sum(dim=dims, keepdim=True).sqrt()
        if floor_compared:
            g_norm = g_norm.clamp(min=1e-6)
        if bound == "max":
            t = clip_factor * w_norm.clamp(min=eps)
        elif bound == "plus":
            t = clip_factor * (w_norm + eps)
        else:
            t = clip_factor * w_norm
        if scale == "plain":
            factor = t / g_norm
        elif scale == "floor":
            factor = t / g_norm.clamp(min=1e-6)
        elif scale == "plus":
            factor = t / (g_norm + eps)
        else:
            factor = 0.5 * t / g_norm
        clip = ~(g_norm < t) if nonstrict else g_norm > t
        wide = g if half else g.to(torch.promote_types(g.dtype, torch.float32))
        new = torch.where(clip, wide * factor, wide)
        g.copy_(new.to(g.dtype))


def _target(**how: object) -> Callable[..., None]:
    def agc(
        parameters: Iterable[torch.Tensor], clip_factor: float = 0.01, eps: float = 1e-3
    ) -> None:
        _agc(parameters, clip_factor, eps, **how)  # type: ignore[arg-type]

    return agc


per_tensor = _target(units="tensor")
units_dim1 = _target(units="dim1")
units_last_axis = _target(units="last")
jax_rank23 = _target(units="jax")
rank3_dim1 = _target(units="pyopt")
grad_floor_compared = _target(floor_compared=True)
bound_eps_added = _target(bound="plus")
bound_no_eps = _target(bound="none")
scale_grad_floor = _target(scale="floor")
scale_eps_added = _target(scale="plus")
clip_unless_below = _target(nonstrict=True)
half_norms = _target(half=True)
issue_example = _target(units="tensor", bound="plus", scale="plus")
"""Issue 18: a per-tensor AGC whose bound is λ·(‖W‖ + ε) and whose scale is T / (‖G‖ + ε)."""
timm_like = _target(scale="floor", nonstrict=True)
"""timm's formula: per-unit norms, ‖G‖ floored at 1e-6 in the division, clip unless below."""
half_bound = _target(scale="half")
"""Clips to half the bound: no known variant."""

VARIANTS: dict[str, tuple[Callable[..., None], tuple[str, ...]]] = {
    "per_tensor": (per_tensor, ("per_tensor",)),
    "units_dim1": (units_dim1, ("units_dim1",)),
    "units_last_axis": (units_last_axis, ("units_last_axis",)),
    "jax_rank23": (jax_rank23, ("jax_rank23",)),
    "rank3_dim1": (rank3_dim1, ("rank3_dim1",)),
    "grad_floor_compared": (grad_floor_compared, ("grad_floor_compared",)),
    "bound_eps_added": (bound_eps_added, ("bound_eps_added",)),
    "bound_no_eps": (bound_no_eps, ("bound_no_eps",)),
    "scale_grad_floor": (scale_grad_floor, ("scale_grad_floor",)),
    "scale_eps_added": (scale_eps_added, ("scale_eps_added",)),
    "clip_unless_below": (clip_unless_below, ("clip_unless_below",)),
    "half_norms": (half_norms, ("half_norms",)),
    "issue_example": (issue_example, ("per_tensor", "bound_eps_added", "scale_eps_added")),
    "timm_like": (timm_like, ("scale_grad_floor", "clip_unless_below")),
}
"""Target name -> (the target, the catalogue variants it should be diagnosed as)."""

NONE = half_bound
