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
import threading
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from impl import _compat

__all__ = [
    "CHUNK",
    "DIRECT",
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
    "scratch",
    "segment_sum_squares",
    "vector_norm",
]

WIDE: tuple[torch.dtype, ...] = (torch.float64, torch.complex128)
"""Dtypes whose norms are accumulated in float64 (all others: float32)."""
HALF: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16)
"""16-bit float dtypes: computed in float32, rounded once to the dtype."""

CHUNK = 1 << 20
"""Elements a half tensor is widened to float32 at a time by :func:`vector_norm` and
:func:`row_norms` (one 4 MB :func:`scratch` buffer)."""
DIRECT = 1 << 15
"""Half tensors up to this many elements are reduced by torch's own cast-reduction. Above it
they are copied into a reused float32 buffer and reduced there: torch's cast-reduction
allocates a float32 temporary of the whole input each call, which on the CPU measured cost
page faults (14,000 per call on ResNet-50's float16 gradients: 34 ms instead of 10) and
grew ~10x slower above 8 M elements."""
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

    A half input above ``DIRECT`` elements is widened ``CHUNK`` elements at a
    time into a float32 :func:`scratch` buffer; the chunks' norms are combined.
    """
    if acc is None or acc == x.dtype:
        return torch.linalg.vector_norm(x)
    if x.numel() <= DIRECT:
        return torch.linalg.vector_norm(x, dtype=acc)
    buffer = scratch(min(x.numel(), CHUNK), acc, x.device)
    parts = [torch.linalg.vector_norm(_widened(c, buffer)) for c in x.reshape(-1).split(CHUNK)]
    return parts[0].reshape(()) if len(parts) == 1 else torch.linalg.vector_norm(torch.stack(parts))


def row_norms(x: Tensor, acc: torch.dtype | None = None) -> Tensor:
    """The 2-norms of the rows of the 2-D tensor ``x``, accumulated in ``acc``.

    >>> row_norms(torch.tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [5.0, 1.0]

    Half inputs above ``DIRECT`` elements are widened in chunks of rows (rows
    longer than ``CHUNK`` one by one, through :func:`vector_norm`).
    """
    if acc is None or acc == x.dtype:
        return torch.linalg.vector_norm(x, dim=1)
    if x.numel() <= DIRECT:
        return torch.linalg.vector_norm(x, dim=1, dtype=acc)
    if x.shape[1] > CHUNK:
        return torch.stack([vector_norm(row, acc) for row in x.unbind(0)])
    buffer = scratch(min(x.numel(), CHUNK), acc, x.device)
    chunks = x.split(CHUNK // x.shape[1])
    return torch.cat([torch.linalg.vector_norm(_widened(c, buffer), dim=1) for c in chunks])


_SCRATCH = threading.local()


def scratch(numel: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A 1-D buffer of ``numel`` elements to widen half tensors into; contents undefined.

    >>> scratch(4, torch.float32, torch.device("cpu")).shape
    torch.Size([4])

    On the CPU, requests of up to ``CHUNK`` elements are served from one buffer
    per thread and dtype, kept between calls (at most 4 MB in float32): a fresh
    buffer of a few MB costs page faults every call on the CPU measured, more
    than the kernels that fill it. Callers must not hold two at once.
    Elsewhere (and for larger requests) a new tensor.
    """
    if device.type != "cpu" or numel > CHUNK:
        return torch.empty(numel, dtype=dtype, device=device)
    buffers: dict[torch.dtype, Tensor] | None = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = {}
    buffer = buffers.get(dtype)
    if buffer is None or buffer.numel() < numel:
        buffer = buffers[dtype] = torch.empty(CHUNK, dtype=dtype)
    return buffer[:numel]


def _widened(x: Tensor, buffer: Tensor) -> Tensor:
    """``x`` copied (converted) into the front of ``buffer``, in ``x``'s shape."""
    return buffer[: x.numel()].view(x.shape).copy_(x)


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
    torch_grouping = _compat.tensor_grouper()
    if torch_grouping is not None:
        try:
            grouped = torch_grouping([tensors])
            return {k: [t for t in lists[0] if t is not None] for k, (lists, _) in grouped.items()}
        except _REFUSED:
            pass
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
