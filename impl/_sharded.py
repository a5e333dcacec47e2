"""Sharded gradients (DTensor): local views, where units lie across ranks, batched all-reduces.

>>> import torch
>>> from impl._sharded import Reducer, dtensor_type
>>> reducer = Reducer()
>>> entry = reducer.add(torch.tensor([1.0, 2.0]), ())   # no process group: nothing to sum
>>> reducer.run(), reducer[entry].tolist()
(0, [1.0, 2.0])

Shared by AGC (:mod:`impl._agc_sharded`) and the clipping dispatch
(:mod:`impl.clipping`). A DTensor parameter (FSDP2's ``fully_shard``, or any
``distribute_tensor``) is handled through its *local* tensors: nothing here runs
a DTensor operator (each would make its own collective) and nothing gathers a
parameter or a gradient. What the ranks must agree on — partial squared norms,
statistics — goes into a :class:`Reducer`: 1-D entries, each to be summed
over a set of process groups, reduced with one ``all_reduce`` per process group
holding anything, whatever the number of tensors and dtypes.

For each mesh dimension of a DTensor, :func:`placing` says how a placement cuts
the units along ``axis``: ``Shard(d)`` with ``d == axis`` gives each rank whole
units (*along*: the ranks' units are distinct, only statistics are summed);
``Shard(d)`` on another dim, or any ``Shard`` of a one-unit tensor, splits every
unit's entries (*across*: partial squared norms are summed); ``Replicate`` changes
nothing. ``Partial`` (a pending sum) and unknown placements are refused.

DTensors exist only once torch's DTensor module is imported, so
:func:`dtensor_type` looks it up in ``sys.modules`` instead of importing it
(~0.5 s): ``import impl`` stays light. Where that module is depends on the torch
version: :mod:`impl._compat` holds that and every other version shim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import Tensor

from impl._compat import dtensor_type

__all__ = [
    "Group",
    "Placing",
    "Reducer",
    "by_shards",
    "dtensor_type",
    "is_dtensor",
    "local",
    "placing",
    "shard_groups",
]


def is_dtensor(t: object, kind: type | None = None) -> bool:
    """Whether ``t`` is a DTensor (``kind``: :func:`dtensor_type`, looked up if not given)."""
    kind = dtensor_type() if kind is None else kind
    return kind is not None and isinstance(t, kind)


def local(t: Tensor) -> Tensor:
    """The local tensor of a DTensor (a view this rank owns: writing it writes the DTensor)."""
    inner = getattr(t, "_local_tensor", None)
    return inner if isinstance(inner, Tensor) else t.to_local()  # type: ignore[attr-defined]


@dataclass(frozen=True, order=True)
class Group:
    """A process group, compared by its name (the same on every member rank)."""

    name: str
    pg: Any = field(compare=False, repr=False)


class Placing(NamedTuple):
    """Where a DTensor's units lie: the process groups to sum over."""

    across: tuple[Group, ...]
    """Groups over which each unit's entries are split: partial squared norms are summed."""
    along: tuple[Group, ...]
    """Groups over which the units are split (each rank holds whole units): statistics summed."""


_GROUPS: dict[tuple[int, int], tuple[Any, Group]] = {}


def _group(mesh: Any, dim: int) -> Group:
    """The process group of ``mesh`` dimension ``dim`` (cached per live mesh object)."""
    key = (id(mesh), dim)
    found = _GROUPS.get(key)
    if found is not None and found[0]() is mesh:
        return found[1]
    import weakref

    pg = mesh.get_group(dim)
    name = str(getattr(pg, "group_name", "") or id(pg))
    group = Group(name, pg)
    try:
        ref: Any = weakref.ref(mesh)
    except TypeError:
        ref = lambda: None  # noqa: E731 - not cacheable: looked up again next time
    _GROUPS[key] = (ref, group)
    return group


def _refused(where: str, placement: object) -> ValueError:
    return ValueError(
        f"{where} has placement {placement!r}: sharded clipping takes Shard(d) and Replicate() "
        "placements (a Partial gradient is a sum not yet reduced: redistribute it first)"
    )


def placing(t: Tensor, axis: int | None, where: str) -> Placing:
    """How ``t``'s placements cut its units (unit ``axis``, or None: one unit); see module doc."""
    mesh = t.device_mesh  # type: ignore[attr-defined]
    across: list[Group] = []
    along: list[Group] = []
    ndim = t.ndim
    for dim, p in enumerate(t.placements):  # type: ignore[attr-defined]
        if p.is_replicate():
            continue
        if not p.is_shard():
            raise _refused(where, p)
        sharded = p.dim % ndim if ndim else 0
        if mesh.size(dim) == 1:
            continue  # a mesh dimension of one rank cuts nothing
        (along if axis is not None and sharded == axis else across).append(_group(mesh, dim))
    return Placing(tuple(sorted(across)), tuple(sorted(along)))


def shard_groups(t: Tensor, where: str) -> tuple[Group, ...]:
    """The groups over which ``t``'s entries are split (every ``Shard`` mesh dimension)."""
    return placing(t, None, where).across


class Reducer:
    """1-D entries, each summed over a set of groups: one ``all_reduce`` per group.

    :meth:`add` an entry with the groups to sum it over (none: it stays as it is),
    :meth:`run` reduces, ``reducer[entry]`` is the result. A group's entries are
    reduced in their own dtype when they share one, else in float64. The groups are
    visited in one order that every rank shares (sorted by name), so ranks that meet
    in several groups cannot wait on each other in a cycle; an entry in several
    groups is summed over each in turn. Every rank must add the same entries, in the
    same order, with the same lengths within each group (they come from the same
    parameters and placements on every rank).
    """

    def __init__(self) -> None:
        self._values: list[Tensor] = []
        self._groups: list[tuple[Group, ...]] = []

    def add(self, value: Tensor, groups: tuple[Group, ...]) -> int:
        """Add an entry (flattened) to be summed over ``groups``; returns its handle."""
        self._values.append(value.reshape(-1))
        self._groups.append(groups)
        return len(self._values) - 1

    def __getitem__(self, entry: int) -> Tensor:
        return self._values[entry]

    def run(self) -> int:
        """Reduce every entry; returns the number of collectives made."""
        import torch.distributed as dist

        made = 0
        for group in sorted({g for groups in self._groups for g in groups}):
            members = [i for i, groups in enumerate(self._groups) if group in groups]
            parts = [self._values[i] for i in members]
            dtypes = {p.dtype for p in parts}
            dtype = dtypes.pop() if len(dtypes) == 1 else torch.float64
            flat = torch.cat([p.to(dtype) for p in parts])
            if not flat.numel():
                continue
            dist.all_reduce(flat, group=group.pg)
            made += 1
            pieces = flat.split([p.numel() for p in parts])
            for i, part, piece in zip(members, parts, pieces, strict=True):
                self._values[i] = piece.to(part.dtype)
        return made


def by_shards(tensors: list[Tensor], where: str) -> dict[tuple[Group, ...], list[Tensor]]:
    """The local tensors of ``tensors`` keyed by the groups their entries are split over
    (``()``: plain tensors and replicated DTensors, whole on this rank)."""
    kind = dtensor_type()
    out: dict[tuple[Group, ...], list[Tensor]] = {}
    for index, t in enumerate(tensors):
        if kind is not None and isinstance(t, kind):
            out.setdefault(shard_groups(t, f"{where} {index}"), []).append(local(t))
        else:
            out.setdefault((), []).append(t)
    return out
