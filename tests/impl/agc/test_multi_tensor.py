"""impl._multi_tensor: the multi-tensor helpers AGC and the dispatch share, and their fallbacks."""

from __future__ import annotations

import itertools
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

import impl._multi_tensor as mt


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("refused")


def test_accumulation_dtype_and_real_view() -> None:
    assert [mt.accumulation_dtype(d) for d in (torch.float16, torch.float64)] == [
        torch.float32,
        torch.float64,
    ]
    z = torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64).conj()
    assert mt.real_view(z).tolist() == [[1.0, -2.0], [3.0, 4.0]]  # conjugation resolved
    x = torch.ones(3)
    assert mt.real_view(x) is x


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_norms_in_chunks_equal_one_reduction(
    dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large half tensors are widened chunk by chunk; the result is the same norm."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(6, 50, generator=gen) * 100).to(dtype)
    whole = torch.linalg.vector_norm(x, dtype=torch.float32)
    rows = torch.linalg.vector_norm(x, dim=1, dtype=torch.float32)
    monkeypatch.setattr(mt, "DIRECT", 16)  # widened through the buffer,
    monkeypatch.setattr(mt, "CHUNK", 64)  # 300 elements: 5 chunks; rows of 50: 1 row per chunk
    torch.testing.assert_close(mt.vector_norm(x, torch.float32), whole, rtol=1e-6, atol=0)
    torch.testing.assert_close(mt.row_norms(x, torch.float32), rows, rtol=1e-6, atol=0)
    long_rows = x.reshape(2, 150)  # rows longer than a chunk: columns in pieces
    want = torch.linalg.vector_norm(long_rows, dim=1, dtype=torch.float32)
    torch.testing.assert_close(mt.row_norms(long_rows, torch.float32), want, rtol=1e-6, atol=0)
    assert mt.vector_norm(x, torch.float32).dtype == torch.float32
    big = torch.full((100,), 60000.0, dtype=torch.float16)
    assert float(mt.vector_norm(big, torch.float32)) == pytest.approx(600000.0, rel=1e-6)


def test_segment_sum_squares_matches_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sums of squares per segment (empty segments too), with the CSR kernel or without."""
    gen = torch.Generator().manual_seed(1)
    lengths, units = [3, 0, 5, 1], [2, 1, 3, 4]
    layout = mt.SegmentLayout(lengths, units, torch.device("cpu"))
    assert layout.count == 10 and layout.total == 25
    assert layout.offsets.dtype == torch.int32 and layout.offsets[-1] == 25
    flat = torch.randn(25, generator=gen)
    cuts = np.cumsum([0] + [n for n, u in zip(lengths, units, strict=True) for _ in range(u)])
    x = flat.double().numpy()
    want = [float(np.sum(x[a:b] ** 2)) for a, b in itertools.pairwise(cuts)]
    got = mt.segment_sum_squares(flat, layout)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=0)
    monkeypatch.setattr(torch, "sparse_csr_tensor", _refuse)
    np.testing.assert_allclose(mt.segment_sum_squares(flat, layout).numpy(), want, rtol=1e-6)


def test_arange_cache_grows_and_slices() -> None:
    a = mt._arange(10, torch.int32, torch.device("cpu"))
    assert a.tolist() == list(range(10))
    big = mt._arange(100_000, torch.int32, torch.device("cpu"))
    assert big.numel() == 100_000 and int(big[-1]) == 99_999
    assert mt._arange(5, torch.int32, torch.device("cpu")).data_ptr() == big.data_ptr()


def test_fallbacks_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each private torch helper refusing (or missing): the per-tensor path, same values."""
    gen = torch.Generator().manual_seed(2)
    xs = [torch.randn(4, 3, generator=gen), torch.randn(5, generator=gen)]
    factors = [torch.tensor([[2.0], [1.0], [0.5], [0.0]]), torch.tensor(3.0)]
    want_norms = mt.norms(xs)
    want_flat = mt.flatten(xs)
    want_groups = mt.group_by_device_and_dtype([*xs, xs[0].double()])
    products = [x.clone() for x in xs]
    mt.mul_each_(products, factors)
    for name in ("_foreach_norm", "_foreach_mul_", "_foreach_copy_"):
        monkeypatch.setattr(torch, name, _refuse)
    monkeypatch.setattr(torch._C._nn, "flatten_dense_tensors", _refuse)
    import torch.utils._foreach_utils as foreach_utils

    monkeypatch.setattr(foreach_utils, "_group_tensors_by_device_and_dtype", _refuse)
    assert [torch.equal(a, b) for a, b in zip(mt.norms(xs), want_norms, strict=True)] == [1, 1]
    assert torch.equal(mt.flatten(xs), want_flat)
    groups = mt.group_by_device_and_dtype([*xs, xs[0].double()])
    assert {k: len(v) for k, v in groups.items()} == {k: len(v) for k, v in want_groups.items()}
    again = [x.clone() for x in xs]
    mt.mul_each_(again, factors)
    assert all(torch.equal(a, b) for a, b in zip(again, products, strict=True))
    targets = [torch.zeros(4, 3, dtype=torch.bfloat16), torch.zeros(5, dtype=torch.bfloat16)]
    mt.copy_each_(targets, xs)
    assert all(torch.equal(t, x.bfloat16()) for t, x in zip(targets, xs, strict=True))


def test_no_warning_reaches_the_user() -> None:
    """torch warns once that sparse CSR is in beta; AGC's packs use it and silence it."""
    code = (
        "import torch, impl\n"
        "p = torch.nn.Parameter(torch.ones(3, 4)); p.grad = torch.ones(3, 4)\n"
        "impl.adaptive_gradient_clip_([p], 0.01)\n"
        "assert float(p.grad.norm()) < 1.0\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Warning" not in run.stderr
