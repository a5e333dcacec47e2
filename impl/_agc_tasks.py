"""How AGC groups gradients into tasks, and each task's norms, scales and write-back.

>>> import torch
>>> from impl._agc_tasks import scales
>>> bound, scale = scales(torch.tensor([5.0]), torch.tensor([50.0]), 0.1, 1e-3, torch.ones(()))
>>> bound.tolist(), scale.tolist()
([0.5], [0.009999999776482582])

:func:`plan` turns the gradients of :func:`impl.agc.adaptive_gradient_clip_`
(grouped by device and dtype) into tasks that each clip many gradients with a
few kernels:

- :class:`Pack`: gradients of up to ``PACK_LIMIT`` elements. Weights and
  gradients are flattened into one buffer and every unit's squared norm comes
  from one sparse matrix-vector product; one multi-tensor multiply writes the
  scales back. However many distinct shapes there are, a pack costs a dozen
  kernels (1,000 random small shapes: ~1.4 x ``clip_grad_norm_``, where one
  set of kernels per shape took 7.6 x).
- :class:`Rows`: larger gradients whose units are contiguous (unit axis 0,
  or one unit), cut into blocks of rows of about ``BLOCK`` elements; a block is
  read for its norms and scaled while still in cache.
- :class:`Single`: the rest (another unit axis, non-contiguous, conjugated),
  and everything with ``foreach=False``.

Every task computes norms in float32 (float64 for float64/complex128), the
scale ``min(1, bound / norm)`` in that dtype, and forms each product in it,
rounded once to the gradient's dtype. On DTensor parameters the same tasks run on the
local tensors (:mod:`impl._agc_sharded`), with the partial squared norms of units that
span ranks summed across them in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

import torch
from torch import Tensor

from impl import _multi_tensor as mt

__all__ = [
    "BLOCK",
    "PACK_LIMIT",
    "PACK_MAX",
    "Item",
    "Key",
    "Pack",
    "Rows",
    "Single",
    "Task",
    "bounds",
    "cat",
    "clip_in_turn",
    "plan",
    "scale_of",
    "scales",
]

PACK_LIMIT = 1 << 14
"""Gradients of up to this many elements are packed together (:class:`Pack`): below it the
fixed cost of a kernel launch outweighs the cost of copying the tensor once."""
PACK_MAX = 1 << 20
"""Elements per pack at most: its flat buffer (weights and gradients, 8 MB in float32) stays
well under glibc's largest heap-served allocation (32 MB), above which every call pays
page faults for a fresh buffer (measured: 8,000 faults, ~+50 % time, at 4 M elements)."""
BLOCK = 1 << 20
"""Elements per block of a large gradient (:class:`Rows`): small enough that a block is still
in cache when it is scaled after its norms (1 M float32 elements: 4 MB, against 1 MB of L2
and 32 MB of L3 on the CPU measured), large enough to amortise a block's few kernels."""

Item = tuple[Tensor, Tensor, "int | None"]
"""One gradient to clip: (its parameter, read only; its ``.grad``; its unit axis or None)."""
Key = tuple[torch.device, torch.dtype]


# --- grouping ------------------------------------------------------------------------------------


def plan(groups: dict[Key, list[Item]], foreach: bool | None) -> list[Task]:
    """Group the gradients into tasks, each clipped by a few kernels.

    ``foreach=False``: one :class:`Single` per gradient. Otherwise, per device
    and dtype: gradients of up to ``PACK_LIMIT`` elements go into
    :class:`Pack` s; larger ones whose units are contiguous (unit axis 0, or
    one unit) go, cut into blocks of rows of about ``BLOCK`` elements, into
    one :class:`Rows`; the rest (another unit axis, non-contiguous,
    conjugated) are :class:`Single`. Empty gradients have nothing to clip.
    """
    tasks: list[Task] = []
    for (_, dtype), items in groups.items():
        if foreach is False:
            tasks.extend(Single(item) for item in items)
            continue
        complex_ = dtype.is_complex
        small: list[tuple[Item, int]] = []
        large: list[tuple[Item, int]] = []
        for item in items:
            weight, grad, axis = item
            n = grad.numel()
            if not n:
                continue
            if complex_ and grad.is_conj():
                tasks.append(Single(item))
            elif n <= PACK_LIMIT:
                small.append((item, n))
            elif axis in (0, None) and grad.is_contiguous() and weight.is_contiguous():
                large.append((item, n))
            else:
                tasks.append(Single(item))
        tasks.extend(Pack(run, dtype) for run in _runs(small, PACK_MAX))
        if large:
            tasks.append(Rows(_row_blocks(large, complex_), dtype))
    return tasks


_T = TypeVar("_T")


def _runs(sized: list[tuple[_T, int]], limit: int) -> Iterator[list[tuple[_T, int]]]:
    """Consecutive runs of ``(thing, size)`` of at most ``limit`` in size (or one thing).

    >>> [[x for x, _ in run] for run in _runs([("a", 3), ("b", 3), ("c", 5)], 6)]
    [['a', 'b'], ['c']]
    """
    run: list[tuple[_T, int]] = []
    size = 0
    for thing, n in sized:
        if run and size + n > limit:
            yield run
            run, size = [], 0
        run.append((thing, n))
        size += n
    if run:
        yield run


_Block = tuple[Tensor, Tensor, int]
"""Consecutive units of one large gradient: (gradient part, weight part, number of units);
0 units: the whole (rank <= 1) tensor is one unit."""


def _row_blocks(large: list[tuple[Item, int]], complex_: bool) -> list[tuple[_Block, int]]:
    """Each large gradient whole, or cut along its unit axis 0 into blocks of about ``BLOCK``."""
    blocks: list[tuple[_Block, int]] = []
    for (weight, grad, axis), n in large:
        if complex_:
            grad, weight, n = torch.view_as_real(grad), torch.view_as_real(weight), 2 * n
        if axis is None:
            blocks.append(((grad, weight, 0), n))
            continue
        rows = grad.shape[0]
        if n <= BLOCK:
            blocks.append(((grad, weight, rows), n))
            continue
        step = max(1, BLOCK * rows // n)
        for g, w in zip(grad.split(step), weight.split(step), strict=True):
            blocks.append(((g, w, g.shape[0]), n * g.shape[0] // rows))
    return blocks


# --- norms, scales and write-back ---------------------------------------------------------------


def scales(
    w_norm: Tensor, g_norm: Tensor, lam: float, floor: float, one: Tensor
) -> tuple[Tensor, Tensor]:
    """Per unit ``bound = lam * max(w_norm, floor)`` and ``scale = min(1, bound / g_norm)``.

    >>> one = torch.ones(())
    >>> b, s = scales(torch.tensor([5.0, 0.0]), torch.tensor([50.0, 0.0]), 0.1, 1e-3, one)
    >>> b.tolist(), s.tolist()
    ([0.5, 0.00010000000474974513], [0.009999999776482582, 1.0])

    ``fmin`` ignores NaN, so the rule holds under IEEE comparison (AGC-022): a
    NaN gradient or weight norm gives scale 1 (unit left unchanged), an
    infinite gradient norm gives 0. ``bound / g_norm >= 1`` exactly when
    ``g_norm <= bound``, so an unclipped unit is multiplied by exactly 1
    (AGC-004), a zero gradient unit too (``bound / 0 = inf``, AGC-010). The
    clamp keeps a NaN weight norm NaN.
    """
    bound = bounds(w_norm, lam, floor)
    return bound, scale_of(bound, g_norm, one)


def bounds(w_norm: Tensor, lam: float, floor: float) -> Tensor:
    """``lam * max(w_norm, floor)`` (AGC-009: zero weights clip against ``lam * floor``)."""
    return torch.clamp(w_norm, min=floor).mul_(lam)


def scale_of(bound: Tensor, g_norm: Tensor, one: Tensor) -> Tensor:
    """``min(1, bound / g_norm)``, NaN counting as 1 (see :func:`scales`)."""
    return torch.fmin(bound / g_norm, one)


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


def _trailing(ndim: int) -> tuple[int, ...]:
    return _TRAILING[ndim] if ndim < len(_TRAILING) else tuple(range(1, ndim))


_TRAILING = [(), (), *(tuple(range(1, n)) for n in range(2, 9))]


def _factors(scale: Tensor, ranks: list[int], units: list[int]) -> list[Tensor]:
    """Views of ``scale`` (one entry per unit) that broadcast against each gradient.

    >>> [f.shape for f in _factors(torch.ones(5), [0, 3, 3], [1, 2, 2])]
    [torch.Size([]), torch.Size([2, 1, 1]), torch.Size([2, 1, 1])]

    ``ranks[k]``: the rank of gradient ``k`` with its units on dim 0, or 0 for a
    gradient that is one unit (a 0-dim factor); ``units[k]``: its unit count.
    Runs of one rank share one ``split``.
    """
    factors: list[Tensor] = []
    start = k = 0
    while k < len(ranks):
        rank, end = ranks[k], k
        while end < len(ranks) and ranks[end] == rank:
            end += 1
        counts = units[k:end]
        stop = start + sum(counts)
        part = scale[start:stop]
        if rank == 0:
            factors.extend(part.unbind(0))
        else:
            factors.extend(part.view(-1, *_ONES[rank - 1]).split(counts))
        start, k = stop, end
    return factors


_ONES = [(1,) * n for n in range(9)]


class Task(Protocol):
    """Some gradients clipped together.

    :meth:`clip` does it all; :meth:`norms` then :meth:`apply` do it in two
    steps, so that every norm can be checked before anything is written.
    """

    acc: torch.dtype
    """float32, or float64 for float64/complex128 gradients: norms, bounds, scales."""
    device: torch.device

    def norms(self) -> tuple[Tensor, Tensor]:
        """``(weight norms, gradient norms)``, one per unit, accumulated in float32/float64."""
        ...

    def apply(self, scale: Tensor) -> None:
        """Multiply each unit's gradient by its ``scale`` in place (one rounding per entry)."""
        ...

    def clip(self, lam: float, floor: float, one: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Norms, scales, write-back: ``(gradient norms, bounds, scales)`` per unit."""
        ...


def clip_in_turn(
    task: Task, lam: float, floor: float, one: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """:meth:`Task.clip` as norms, then scales, then write-back."""
    w_norm, g_norm = task.norms()
    bound, scale = scales(w_norm, g_norm, lam, floor, one)
    task.apply(scale)
    return g_norm, bound, scale


class Single:
    """One gradient on its own: any unit axis, any strides, conjugated complex too."""

    def __init__(self, item: Item) -> None:
        self.item = item
        self.acc = mt.accumulation_dtype(item[1].dtype)
        self.device = item[1].device

    def clip(self, lam: float, floor: float, one: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return clip_in_turn(self, lam, floor, one)

    def norms(self) -> tuple[Tensor, Tensor]:
        weight, grad, axis = self.item
        return (
            _unit_norms(mt.real_view(weight), axis, self.acc),
            _unit_norms(mt.real_view(grad), axis, self.acc),
        )

    def apply(self, scale: Tensor) -> None:
        _, grad, axis = self.item
        # A real view makes the factor 1.0 exact for complex entries too (AGC-004).
        target = grad if grad.is_conj() else _real(grad)
        shape = [1] * target.ndim
        if axis is not None:
            shape[axis] = scale.numel()
        factor = scale.view(shape)
        if target.dtype in mt.HALF:  # the product in float32, rounded once
            target.copy_(target.to(self.acc).mul_(factor))
        else:
            target.mul_(factor)


class Rows:
    """Large gradients with contiguous units, clipped block by block.

    The blocks (:func:`_row_blocks`, at most ``BLOCK`` elements but for a
    single long unit) are clipped one after the other: a block's gradient is
    read for its norms and scaled right after, while it is still in cache (the
    weights' norms, which need no such locality, come first, in one pass).
    Half gradients go through one float32 buffer: a block is copied into it,
    reduced, scaled there and copied back, so the product is formed in float32
    and rounded once (torch has no half kernel taking a float32 factor per unit
    short of converting the whole tensor, and its half norms with a float32
    result are slower than the copy).
    """

    def __init__(self, blocks: list[tuple[_Block, int]], dtype: torch.dtype) -> None:
        self.grads = [g for (g, _, _), _ in blocks]
        self.weights = [w for (_, w, _), _ in blocks]
        self.units = [max(1, u) for (_, _, u), _ in blocks]
        self.ranks = [g.ndim if u else 0 for (g, _, u), _ in blocks]
        self.acc = mt.accumulation_dtype(dtype)
        self.device = self.grads[0].device
        self.half = dtype in mt.HALF

    def _buffer(self) -> Tensor | None:
        if not self.half:
            return None
        return mt.scratch(max(g.numel() for g in self.grads), self.acc, self.device)

    @staticmethod
    def _in(x: Tensor, buffer: Tensor | None) -> Tensor:
        """``x`` itself, or (half) a float32 copy of it in ``buffer``."""
        if buffer is None:
            return x
        copy = buffer[: x.numel()].view(x.shape)
        return copy.copy_(x)

    def _weight_norms(self, buffer: Tensor | None) -> Tensor:
        return cat(
            [
                _block_norms(self._in(w, buffer), r)
                for w, r in zip(self.weights, self.ranks, strict=True)
            ]
        )

    def norms(self) -> tuple[Tensor, Tensor]:
        buffer = self._buffer()
        w_norm = self._weight_norms(buffer)
        g_norm = cat(
            [
                _block_norms(self._in(g, buffer), r)
                for g, r in zip(self.grads, self.ranks, strict=True)
            ]
        )
        return w_norm, g_norm

    def apply(self, scale: Tensor) -> None:
        buffer = self._buffer()
        for g, part, rank in zip(self.grads, scale.split(self.units), self.ranks, strict=True):
            x = self._in(g, buffer)
            x.mul_(_factor(part, rank))
            if buffer is not None:
                g.copy_(x)  # float32 -> half: the one rounding

    def clip(self, lam: float, floor: float, one: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        buffer = self._buffer()
        bound = bounds(self._weight_norms(buffer), lam, floor)
        g_norms: list[Tensor] = []
        factors: list[Tensor] = []
        for g, b, rank in zip(self.grads, bound.split(self.units), self.ranks, strict=True):
            x = self._in(g, buffer)
            g_norm = _block_norms(x, rank)
            scale = scale_of(b, g_norm, one)
            x.mul_(_factor(scale, rank))
            if buffer is not None:
                g.copy_(x)  # float32 -> half: the one rounding
            g_norms.append(g_norm)
            factors.append(scale)
        return cat(g_norms), bound, cat(factors)


def _block_norms(x: Tensor, rank: int) -> Tensor:
    """The unit norms of a block: rank 0, one unit; else units along dim 0."""
    if not rank:
        return torch.linalg.vector_norm(x).reshape(1)
    return torch.linalg.vector_norm(x, dim=_trailing(rank))


def _factor(scale: Tensor, rank: int) -> Tensor:
    """``scale`` (one entry per unit of a block) shaped to broadcast against the block."""
    return scale.view(()) if not rank else scale.view(-1, *_ONES[rank - 1])


class Pack:
    """Small gradients of one device and dtype, packed with their weights into one flat buffer.

    Their units lie end to end, so one kernel takes the squared norm of every
    weight and gradient unit however many shapes there are
    (:func:`impl._multi_tensor.segment_sum_squares`), and one multi-tensor
    multiply writes the scales back through views of the per-unit scale shaped
    to broadcast against each gradient.
    """

    def __init__(self, items: list[tuple[Item, int]], dtype: torch.dtype) -> None:
        complex_ = dtype.is_complex
        # per rank (0: one unit, a 0-dim factor): gradients, weights, unit counts, unit lengths
        buckets: dict[int, tuple[list[Tensor], list[Tensor], list[int], list[int]]] = {}
        for (weight, grad, axis), n in items:
            if complex_:
                grad, weight, n = torch.view_as_real(grad), torch.view_as_real(weight), 2 * n
            if axis is None:
                rank, units = 0, 1
            else:
                if axis:
                    grad, weight = grad.movedim(axis, 0), weight.movedim(axis, 0)
                rank, units = grad.ndim, grad.shape[0]
            bucket = buckets.get(rank)
            if bucket is None:
                bucket = buckets[rank] = ([], [], [], [])
            bucket[0].append(grad)
            bucket[1].append(weight)
            bucket[2].append(units)
            bucket[3].append(n // units)
        self.grads: list[Tensor] = []
        weights: list[Tensor] = []
        self.units: list[int] = []
        self.ranks: list[int] = []
        lengths: list[int] = []
        for rank in sorted(buckets):
            b_grads, b_weights, b_units, b_lengths = buckets[rank]
            self.grads += b_grads
            weights += b_weights
            self.units += b_units
            lengths += b_lengths
            self.ranks += [rank] * len(b_grads)
        self.weights = weights
        self.acc = mt.accumulation_dtype(dtype)
        self.device = self.grads[0].device
        # weights first, then gradients: one flat buffer, one kernel for every unit norm
        self.layout = mt.SegmentLayout(lengths * 2, self.units * 2, self.grads[0].device)

    def clip(self, lam: float, floor: float, one: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return clip_in_turn(self, lam, floor, one)

    def squares(self) -> tuple[Tensor, Tensor]:
        """``(weight, gradient)`` squared unit norms (what sharded AGC sums across ranks)."""
        flat = mt.flatten(self.weights + self.grads).to(self.acc)
        return mt.segment_sum_squares(flat, self.layout).chunk(2)  # type: ignore[return-value]

    def norms(self) -> tuple[Tensor, Tensor]:
        flat = mt.flatten(self.weights + self.grads).to(self.acc)
        both = mt.segment_sum_squares(flat, self.layout).sqrt_()
        return both.chunk(2)  # type: ignore[return-value]

    def apply(self, scale: Tensor) -> None:
        # Half gradients: torch multiplies by the float32 factor in float32, rounded once.
        mt.mul_each_(self.grads, _factors(scale, self.ranks, self.units))


def cat(tensors: list[Tensor]) -> Tensor:
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)
