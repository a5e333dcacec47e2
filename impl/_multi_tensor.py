"""Multi-tensor helpers shared by AGC (:mod:`impl.agc`) and the clipping dispatch.

>>> import torch
>>> from impl._multi_tensor import mul_each_
>>> a, b = torch.ones(2), torch.ones(2, 2)
>>> mul_each_([a, b], [torch.tensor(2.0), torch.tensor([[1.0], [3.0]])])
>>> a.tolist(), b.tolist()
([2.0, 2.0], [[1.0, 1.0], [3.0, 3.0]])

torch's multi-tensor kernels (``torch._foreach_*``), its C++ flatten helper and
its grouping helper are private: each function here falls back to one tensor at
a time when a torch version lacks one or refuses the arguments
(tests/test_torch_compat.py pins the fallbacks). A refusal is an argument check
made before any tensor is written, so falling back never applies an update twice.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "CHUNK",
    "HALF",
    "WIDE",
    "SegmentLayout",
    "accumulation_dtype",
    "copy_each_",
    "flatten",
    "group_by_device_and_dtype",
    "mul_each_",
    "norms",
    "real_view",
    "row_norms",
    "segment_sum_squares",
    "vector_norm",
]

WIDE: tuple[torch.dtype, ...] = (torch.float64, torch.complex128)
"""Dtypes whose norms are accumulated in float64 (all others: float32)."""
HALF: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16)
"""16-bit float dtypes: computed in float32, rounded once to the dtype."""

CHUNK = 1 << 20
"""torch's reductions that cast half inputs to float32 get ~10x slower above a few million
elements on CPU (measured: 0.2 ns/element up to 4 M, 1.9 ns at 8 M); :func:`vector_norm`
and :func:`row_norms` reduce such inputs in chunks of this many elements."""
_REFUSED = (RuntimeError, TypeError, AttributeError, NotImplementedError)


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 for float64/complex128, float32 for every other dtype.

    >>> accumulation_dtype(torch.bfloat16), accumulation_dtype(torch.complex128)
    (torch.float32, torch.float64)
    """
    return torch.float64 if dtype in WIDE else torch.float32


def real_view(t: Tensor) -> Tensor:
    """``t`` itself, or for a complex tensor its real view (..., 2), conjugation resolved.

    >>> real_view(torch.tensor([3 + 4j])).tolist()
    [[3.0, 4.0]]
    """
    return torch.view_as_real(t.resolve_conj()) if t.is_complex() else t


def vector_norm(x: Tensor, acc: torch.dtype | None = None) -> Tensor:
    """The 2-norm of all of ``x``, accumulated in ``acc`` (default: x's own dtype).

    >>> float(vector_norm(torch.full((5,), 60000.0, dtype=torch.float16), torch.float32))
    134164.078125

    A half input larger than ``CHUNK`` elements is reduced in chunks whose
    norms are then combined.
    """
    if acc is None or acc == x.dtype:
        return torch.linalg.vector_norm(x)
    if x.numel() <= CHUNK:
        return torch.linalg.vector_norm(x, dtype=acc)
    parts = [torch.linalg.vector_norm(c, dtype=acc) for c in x.reshape(-1).split(CHUNK)]
    return torch.linalg.vector_norm(torch.stack(parts))


def row_norms(x: Tensor, acc: torch.dtype | None = None) -> Tensor:
    """The 2-norms of the rows of the 2-D tensor ``x``, accumulated in ``acc``.

    >>> row_norms(torch.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [5.0, 1.0]

    Half inputs larger than ``CHUNK`` elements are reduced in chunks of rows
    (or, for rows longer than that, of columns, combined per row).
    """
    if acc is None or acc == x.dtype:
        return torch.linalg.vector_norm(x, dim=1)
    if x.numel() <= CHUNK:
        return torch.linalg.vector_norm(x, dim=1, dtype=acc)
    if x.shape[1] > CHUNK:
        parts = [torch.linalg.vector_norm(c, dim=1, dtype=acc) for c in x.split(CHUNK, dim=1)]
        return torch.linalg.vector_norm(torch.stack(parts, dim=1), dim=1)
    chunks = x.split(CHUNK // x.shape[1])
    return torch.cat([torch.linalg.vector_norm(c, dim=1, dtype=acc) for c in chunks])


def norms(tensors: Sequence[Tensor]) -> list[Tensor]:
    """One 2-norm per tensor, in each tensor's own dtype, as ``torch._foreach_norm`` gives them."""
    try:
        return list(torch._foreach_norm(list(tensors), 2))
    except _REFUSED:
        return [torch.linalg.vector_norm(t) for t in tensors]


def mul_each_(targets: Sequence[Tensor], factors: Sequence[Tensor]) -> None:
    """``t.mul_(f)`` for each pair (``f`` broadcasts against ``t``), multi-tensor where possible."""
    if not targets:
        return
    try:
        torch._foreach_mul_(list(targets), list(factors))
    except _REFUSED:
        for t, f in zip(targets, factors, strict=True):
            t.mul_(f)


def copy_each_(targets: Sequence[Tensor], sources: Sequence[Tensor]) -> None:
    """``t.copy_(s)`` for each pair (a dtype conversion rounds once), multi-tensor if possible."""
    if not targets:
        return
    try:
        torch._foreach_copy_(list(targets), list(sources))
    except _REFUSED:
        for t, s in zip(targets, sources, strict=True):
            t.copy_(s)


def flatten(tensors: Sequence[Tensor]) -> Tensor:
    """All ``tensors`` (one dtype and device) in one new 1-D tensor, each in row-major order.

    >>> flatten([torch.ones(2, 2), torch.zeros(1)]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0]
    """
    try:
        return torch._C._nn.flatten_dense_tensors(list(tensors))
    except _REFUSED:
        return torch.cat([t.reshape(-1) for t in tensors])


def group_by_device_and_dtype(
    tensors: list[Tensor],
) -> dict[tuple[torch.device, torch.dtype], list[Tensor]]:
    """``tensors`` grouped by (device, dtype), in the order ``torch.nn.utils.clip_grad_norm_`` uses.

    >>> groups = group_by_device_and_dtype([torch.ones(1), torch.ones(1, dtype=torch.float64)])
    >>> sorted(str(dtype) for _, dtype in groups)
    ['torch.float32', 'torch.float64']

    The order of the groups (torch's is not the order of first appearance)
    decides the order in which per-tensor norms are summed, so using torch's
    own helper keeps a total norm bit-identical to ``clip_grad_norm_``'s.
    """
    try:
        from torch.utils._foreach_utils import _group_tensors_by_device_and_dtype

        grouped = _group_tensors_by_device_and_dtype([tensors])  # type: ignore[list-item]
        return {key: [t for t in lists[0] if t is not None] for key, (lists, _) in grouped.items()}
    except (ImportError, *_REFUSED):
        out: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
        for t in tensors:
            out.setdefault((t.device, t.dtype), []).append(t)
        return out


class SegmentLayout:
    """Segments laid end to end in a flat tensor: ``units[k]`` segments of ``lengths[k]`` each.

    >>> layout = SegmentLayout([2, 3], [1, 2], torch.device("cpu"))
    >>> layout.lengths.tolist(), layout.offsets.tolist()
    ([2, 3, 3], [0, 2, 5, 8])
    """

    def __init__(self, lengths: list[int], units: list[int], device: torch.device) -> None:
        count = sum(units)
        per_entry = _index_tensor(lengths, device)
        if count == len(units):
            self.lengths = per_entry
        else:  # output_size: no host sync on an accelerator
            repeats = _index_tensor(units, device)
            self.lengths = torch.repeat_interleave(per_entry, repeats, output_size=count)
        self.count = count
        self.total = sum(map(operator.mul, lengths, units))
        index = torch.int32 if self.total < 2**31 else torch.int64
        self.offsets = torch.zeros(count + 1, dtype=index, device=device)
        torch.cumsum(self.lengths, 0, out=self.offsets[1:])
        self.columns = _arange(self.total, index, device)


_ARANGES: dict[tuple[torch.device, torch.dtype], Tensor] = {}


def _arange(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``torch.arange(n)``, sliced from a cached one that only grows.

    Cached because a fresh index buffer of a few MB per call costs more in page
    faults than the kernels that read it (measured on the project's CPU box).
    """
    key = (device, dtype)
    cached = _ARANGES.get(key)
    if cached is None or cached.numel() < n:
        cached = _ARANGES[key] = torch.arange(max(n, 1 << 16), dtype=dtype, device=device)
    return cached[:n]


def _index_tensor(values: list[int], device: torch.device) -> Tensor:
    """``values`` as an int64 tensor on ``device``, copied without waiting for the device."""
    cpu = torch.tensor(values, dtype=torch.int64)
    if device.type == "cpu":
        return cpu
    return cpu.pin_memory().to(device, non_blocking=True)


def segment_sum_squares(flat: Tensor, layout: SegmentLayout) -> Tensor:
    """The sum of squares of each segment of the 1-D ``flat``, accumulated in its dtype.

    >>> layout = SegmentLayout([2, 3], [1, 2], torch.device("cpu"))
    >>> segment_sum_squares(torch.arange(8.0), layout).tolist()
    [1.0, 29.0, 110.0]

    One sparse (CSR) matrix-vector product: row ``i`` holds segment ``i``'s
    entries, and the vector is ``flat`` itself (three times as fast as
    ``torch.segment_reduce`` on CPU, where MKL takes it); ``segment_reduce`` of
    the squares where torch refuses.
    """
    try:
        with warnings.catch_warnings():  # "sparse CSR support is in beta state"
            warnings.simplefilter("ignore", UserWarning)
            matrix = torch.sparse_csr_tensor(
                layout.offsets,
                layout.columns,
                flat,
                size=(layout.count, layout.total),
                check_invariants=False,
            )
        return torch.mv(matrix, flat)
    except _REFUSED:
        return torch.segment_reduce(flat * flat, "sum", lengths=layout.lengths)
