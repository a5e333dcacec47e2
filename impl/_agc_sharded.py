"""AGC on DTensor parameters (FSDP2 and any Shard / Replicate layout): local work, batched sums.

>>> from impl._agc_sharded import ShardedStats
>>> ShardedStats._fields
('clipped', 'before', 'after')

:func:`clip_sharded` clips the DTensor parameters of one
:func:`impl.agc.adaptive_gradient_clip_` call through their local tensors, with the
same tasks as plain tensors (:mod:`impl._agc_tasks`). The parameters are bucketed by
:func:`impl._sharded.placing` (which process groups cut their units, and how):

- units wholly on this rank (``Shard(axis)``, ``Replicate``): clipped at once, with no
  communication (under FSDP2's ``Shard(0)``: every weight whose unit axis is 0);
- units that span ranks (vectors, the spectral and ConvTranspose weights whose unit
  axis is 1, other placements): each rank takes the squared norms of its part of every
  unit; they are summed across the ranks holding the other parts, then each rank
  scales its part.

*Phase A* is one :class:`impl._sharded.Reducer`: the partial squared norms of every
spanning unit and the statistics of the local units (count clipped, squared norms
before and after, summed over the ranks holding the other units) — one ``all_reduce``
per process group that holds any (FSDP2 on a 1-D mesh: one per call). *Phase B* sums
only what needs phase A's result: statistics of spanning units whose units are split
along another mesh dimension too (a 2-D mesh sharding one parameter along and across
its units) and, with ``error_if_nonfinite``, the non-finite flag, so that every rank
raises or none does. No host sync (but that flag's), no gather of a parameter or a
gradient. Spanning units are planned from sizes every rank shares, so that the
ranks' partial norms line up entry for entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from impl import _agc_tasks as tasks
from impl import _multi_tensor as mt
from impl._sharded import Group, Placing, Reducer, local, placing

__all__ = ["ShardedItem", "ShardedStats", "clip_sharded"]

_F64 = torch.float64


class ShardedItem(NamedTuple):
    """One DTensor parameter to clip: its index in the call, the tensors, its unit axis."""

    position: int
    param: Tensor
    grad: Tensor
    axis: int | None


class ShardedStats(NamedTuple):
    """What sharded AGC did over every rank (the same on each): 0-dim float64 tensors.

    ``clipped``: units rescaled; ``before`` / ``after``: squared global gradient norms
    (excluded parameters included).
    """

    clipped: Tensor
    before: Tensor
    after: Tensor


Bucket = dict[tasks.Key, list[tasks.Item]]


def _placing(item: ShardedItem) -> Placing:
    where = f"parameter {item.position}"
    param, grad = item.param, item.grad
    if type(param) is not type(grad) or param.device_mesh != grad.device_mesh:  # type: ignore[attr-defined]
        raise ValueError(
            f"{where}: its gradient is not a DTensor on the parameter's device mesh; "
            "sharded clipping needs both laid out alike (as FSDP2 lays them out)"
        )
    found = placing(grad, item.axis, where)  # refuses Partial and unknown placements
    if tuple(param.placements) != tuple(grad.placements):  # type: ignore[attr-defined]
        raise ValueError(
            f"{where}: the gradient's placements {tuple(grad.placements)} differ from the "  # type: ignore[attr-defined]
            f"parameter's {tuple(param.placements)}; sharded clipping needs both laid out alike"  # type: ignore[attr-defined]
        )
    return found


def _stats(g_norm: Tensor, bound: Tensor, scale: Tensor) -> Tensor:
    """``[units clipped, sum ||G_i||^2, sum (s_i ||G_i||)^2]`` (float64) of some units."""
    g = g_norm.to(_F64)
    after = g * scale.to(_F64)
    clipped = (g_norm > bound).sum().to(_F64)  # AGC-022: a NaN norm compares False
    return torch.stack([clipped, g.square().sum(), after.square().sum()])


def _squares(task: tasks.Task) -> tuple[Tensor, Tensor]:
    """A task's partial squared unit norms (weights, gradients), in its unit order."""
    if isinstance(task, tasks.Pack):
        return task.squares()
    w, g = task.norms()
    return w * w, g * g


def _plan_spanning(groups: Bucket, sizes: dict[int, int], foreach: bool | None) -> list[tasks.Task]:
    """Tasks whose unit order is the same on every rank of the bucket's groups: packs chosen
    and cut by the shared sizes, every other gradient on its own, in order."""
    out: list[tasks.Task] = []
    for (_, dtype), items in groups.items():
        small: list[tuple[tuple[tasks.Item, int], int]] = []
        for item in items:
            _, grad, axis = item
            if axis is not None and grad.shape[axis] == 0:
                continue  # no units here, nor on the ranks sharing this bucket's groups
            shared = sizes[id(grad)]
            if foreach is not False and shared <= tasks.PACK_LIMIT and not grad.is_conj():
                small.append(((item, grad.numel()), shared))
            else:
                out.append(tasks.Single(item))
        out.extend(
            tasks.Pack([thing for thing, _ in run], dtype)
            for run in tasks._runs(small, tasks.PACK_MAX)
        )
    return out


class _Spanning(NamedTuple):
    key: Placing
    todo: list[tasks.Task]
    units: list[int]
    entry: int


class _Call:
    """One call's sharded clipping: what each phase reduces, what is left to write."""

    def __init__(
        self,
        lam: float,
        floor: float,
        check_finite: bool,
        foreach: bool | None,
        one_for: Callable[[tasks.Task], Tensor],
    ) -> None:
        self.lam, self.floor, self.check = lam, floor, check_finite
        self.foreach, self.one_for = foreach, one_for
        self.a, self.b = Reducer(), Reducer()
        self.stats: list[tuple[Reducer, int]] = []
        self.flags: list[Tensor] = []
        self.pending: list[tuple[tasks.Task, Tensor]] = []
        self.groups: set[Group] = set()

    def _scaled(
        self,
        task: tasks.Task,
        w_norm: Tensor,
        g_norm: Tensor,
        along: tuple[Group, ...],
        into: Reducer,
    ) -> None:
        bound, scale = tasks.scales(w_norm, g_norm, self.lam, self.floor, self.one_for(task))
        if self.check:  # written after the check, on every rank or none
            self.flags.append((~torch.isfinite(g_norm)).sum().reshape(1))
            self.pending.append((task, scale))
        else:
            task.apply(scale)
        self.stats.append((into, into.add(_stats(g_norm, bound, scale), along)))

    def whole(self, key: Placing, groups: Bucket) -> None:
        """Units wholly on this rank: clipped now, their statistics summed in phase A."""
        self.groups.update(key.along)
        for task in tasks.plan(groups, self.foreach):
            if self.check:
                w_norm, g_norm = task.norms()
                self._scaled(task, w_norm, g_norm, key.along, self.a)
                continue
            g_norm, bound, scale = task.clip(self.lam, self.floor, self.one_for(task))
            self.stats.append((self.a, self.a.add(_stats(g_norm, bound, scale), key.along)))

    def spanning(self, key: Placing, groups: Bucket, sizes: dict[int, int]) -> _Spanning:
        """Units across ranks: their partial squared norms go into phase A."""
        self.groups.update(key.across, key.along)
        todo = _plan_spanning(groups, sizes, self.foreach)
        parts = [x for task in todo for x in _squares(task)]
        units = [w.numel() for w in parts[::2]]
        flat = torch.cat([p.to(_F64) for p in parts]) if parts else torch.zeros(0, dtype=_F64)
        return _Spanning(key, todo, units, self.a.add(flat, key.across))

    def excluded(self, grad: Tensor) -> None:
        """A DTensor gradient not clipped: its squared norm counts before and after."""
        groups = placing(grad, None, "an excluded parameter").across
        self.groups.update(groups)
        sq = mt.vector_norm(mt.real_view(local(grad)), _F64).square()
        self.stats.append((self.a, self.a.add(torch.stack([torch.zeros_like(sq), sq, sq]), groups)))

    def finish(self, span: _Spanning) -> None:
        """After phase A: norms, scales and write-back of a spanning bucket."""
        sums = self.a[span.entry].split([n for n in span.units for _ in (0, 1)])
        for k, task in enumerate(span.todo):
            w_norm = sums[2 * k].sqrt().to(task.acc)
            g_norm = sums[2 * k + 1].sqrt().to(task.acc)
            self._scaled(task, w_norm, g_norm, span.key.along, self.b)

    def check_all(self, device: torch.device) -> None:
        """With error_if_nonfinite: raise on every rank (or none) before anything is written."""
        flag = torch.cat(self.flags).sum() if self.flags else torch.zeros((), device=device)
        entry = self.b.add(flag, tuple(sorted(self.groups)))
        self.b.run()
        if bool(self.b[entry].sum() > 0):
            raise RuntimeError(
                "adaptive_gradient_clip_: a gradient unit has a non-finite norm (NaN or inf) on "
                "some rank; pass error_if_nonfinite=False to clip anyway (NaN-norm units are "
                "then left unchanged and inf-norm units are multiplied by 0)"
            )
        for task, scale in self.pending:
            task.apply(scale)

    def totals(self, device: torch.device) -> ShardedStats:
        if not self.stats:
            zero = torch.zeros((), dtype=_F64, device=device)
            return ShardedStats(zero, zero, zero)
        total = torch.stack([r[e].to(device) for r, e in self.stats]).sum(0)
        return ShardedStats(total[0], total[1], total[2])


def _buckets(items: list[ShardedItem]) -> tuple[dict[Placing, Bucket], dict[int, int]]:
    """Local items by placing, then device and dtype; and per gradient a size every rank
    shares (the global size over the number of shards), for planning spanning units."""
    buckets: dict[Placing, Bucket] = {}
    sizes: dict[int, int] = {}
    for item in items:
        key = _placing(item)
        g, w = local(item.grad), local(item.param)
        buckets.setdefault(key, {}).setdefault((g.device, g.dtype), []).append((w, g, item.axis))
        if key.across:
            shards = math.prod(grp.pg.size() for grp in (*key.across, *key.along))
            sizes[id(g)] = -(-item.grad.numel() // shards)
    return buckets, sizes


def clip_sharded(
    items: list[ShardedItem],
    excluded: list[Tensor],
    lam: float,
    floor: float,
    check_finite: bool,
    foreach: bool | None,
    one_for: Callable[[tasks.Task], Tensor],
    flags: list[Tensor] | None = None,
) -> ShardedStats:
    """Clip the DTensor ``items`` in place (module docstring); ``excluded``: DTensor gradients
    not clipped but counted in the norms; ``one_for(task)``: a 0-dim 1 for the task;
    ``flags``: counts of non-finite norms found elsewhere, joining the check."""
    buckets, sizes = _buckets(items)
    device = local(items[0].grad if items else excluded[0]).device
    call = _Call(lam, floor, check_finite, foreach, one_for)
    call.flags.extend(f.to(device) for f in flags or ())
    spans = []
    for key, groups in buckets.items():
        if key.across:
            spans.append(call.spanning(key, groups, sizes))
        else:
            call.whole(key, groups)
    for grad in excluded:
        call.excluded(grad)
    call.a.run()
    for span in spans:
        call.finish(span)
    if check_finite:
        call.check_all(device)
    else:
        call.b.run()
    return call.totals(device)
