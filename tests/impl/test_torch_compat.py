"""Behaviour that differs across the torch versions of the tox matrix (2.4 .. 2.14), pinned.

Each test names the difference it guards against. The whole suite runs on
every matrix version; these are the places where torch itself changed.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import impl
import spec
from impl.clipping import global_grad_norm
from spec.reference import agc_reference


def _complex_params(seed: int = 0) -> list[nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for shape in [(3, 4, 2, 2), (5,), (2, 3)]:
        w = nn.Parameter(torch.randn(*shape, dtype=torch.complex64, generator=gen))
        w.grad = torch.randn(*shape, dtype=torch.complex64, generator=gen) * 10
        out.append(w)
    return out


def test_complex_global_norm_matches_float64_modulus() -> None:
    """Complex norms: taken on view_as_real (torch's complex kernel differs by version)."""
    params = _complex_params()
    expected = np.sqrt(
        sum(float(np.sum(np.abs(p.grad.numpy().astype(np.complex128)) ** 2)) for p in params)
    )
    got = global_grad_norm([p.grad for p in params])
    assert got.dtype == torch.float32
    assert abs(float(got) - expected) <= 1e-5 * expected, (float(got), expected)


def test_norm_dispatch_on_complex_gradients_matches_reference() -> None:
    """clip_grad_norm_ on complex grads: the result must equal the float64 global-norm rule."""
    params = _complex_params(1)
    grads = [p.grad.numpy().astype(np.complex128) for p in params]
    total = np.sqrt(sum(float(np.sum(np.abs(g) ** 2)) for g in grads))
    coef = min(1.0, 0.5 / (total + 1e-6))
    impl.clip_gradients_(params, "norm", 0.5)
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.complex64])
def test_agc_scale_does_not_promote_gradient_dtype(dtype: torch.dtype) -> None:
    """torch.where / in-place mul promotion rules changed over versions: grads keep their dtype."""
    gen = torch.Generator().manual_seed(2)
    w = nn.Parameter(torch.randn(4, 3, generator=gen).to(dtype))
    w.grad = (torch.randn(4, 3, generator=gen) * 100).to(dtype)
    before_ptr = w.grad.data_ptr()
    n = impl.adaptive_gradient_clip_([w], clip_factor=0.01)
    assert w.grad.dtype == dtype and w.grad.data_ptr() == before_ptr
    assert n.dtype == torch.int64 and int(n) == 4


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("refused")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.complex64])
def test_agc_falls_back_without_private_kernels(
    dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch._foreach_*, the C++ flatten helper, sparse CSR and torch's grouping helper are
    private or beta: with each absent or refusing, AGC and the dispatch give the same bits."""
    import impl._agc_tasks

    monkeypatch.setattr(impl._agc_tasks, "PACK_LIMIT", 16)  # packs and rows both exercised

    def make() -> list[nn.Parameter]:
        gen = torch.Generator().manual_seed(3)
        ps = []
        for shape in [(6, 2), (6, 2), (5,), (8, 3), (40,)]:
            p = nn.Parameter(torch.randn(*shape, generator=gen).to(dtype))
            p.grad = (torch.randn(*shape, generator=gen) * 5).to(dtype)
            ps.append(p)
        return ps

    expected, expected_norm = make(), make()
    impl.adaptive_gradient_clip_(expected, 0.05)
    impl.clip_gradients_(expected_norm, "norm", 1.0)
    ref_w = [
        p.detach().to(torch.complex128 if dtype.is_complex else torch.float64).numpy()
        for p in make()
    ]
    ref_g = [
        p.grad.to(torch.complex128 if dtype.is_complex else torch.float64).numpy() for p in make()
    ]
    want, _ = agc_reference(ref_w, ref_g, 0.05, 1e-3, [0] * len(ref_w))
    for name in ("_foreach_mul_", "_foreach_norm", "_foreach_copy_"):
        monkeypatch.delattr(torch, name, raising=False)
    monkeypatch.setattr(torch._C._nn, "flatten_dense_tensors", _refuse)
    monkeypatch.setattr(torch, "sparse_csr_tensor", _refuse)
    import torch.utils._foreach_utils as foreach_utils

    monkeypatch.delattr(foreach_utils, "_group_tensors_by_device_and_dtype")
    got, got_norm = make(), make()
    impl.adaptive_gradient_clip_(got, 0.05)
    impl.clip_gradients_(got_norm, "norm", 1.0)  # the dispatch's own kernels fall back too
    rtol = 1.6e-2 if dtype == torch.bfloat16 else 1e-5
    for a, b, r in zip(expected, got, want, strict=True):
        # CSR and segment_reduce may round a unit norm differently in the last bit
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=0)
        ours = b.grad.to(torch.complex128 if dtype.is_complex else torch.float64).numpy()
        np.testing.assert_allclose(ours, r, rtol=rtol, atol=1e-7)
    for a, b in zip(expected_norm, got_norm, strict=True):
        assert torch.equal(a.grad, b.grad)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_times_float32_factors_round_once(dtype: torch.dtype) -> None:
    """AGC's packs multiply half gradients by float32 factors (0-dim or broadcast) with
    torch._foreach_mul_, relying on torch forming the product in float32: pinned here."""
    gen = torch.Generator().manual_seed(4)
    grads = [torch.randn(4, 3, generator=gen).to(dtype), torch.randn(5, generator=gen).to(dtype)]
    factors = [torch.rand(4, 1, generator=gen) / 3, torch.rand((), generator=gen) / 3]
    want = [(g.float() * f).to(dtype) for g, f in zip(grads, factors, strict=True)]
    torch._foreach_mul_(grads, factors)
    for g, w in zip(grads, want, strict=True):
        assert torch.equal(g, w)


def test_clip_grad_norm_grouping_helper_is_there() -> None:
    """The dispatch's 'norm' sums per-tensor norms in torch's group order (bit-identical to
    clip_grad_norm_) through torch's private grouping helper; present on every matrix version."""
    from torch.utils._foreach_utils import _group_tensors_by_device_and_dtype

    grouped = _group_tensors_by_device_and_dtype([[torch.ones(1), torch.ones(1).double()]])
    assert len(grouped) == 2


@pytest.mark.parametrize("init", spec.STABLE_INITS)
def test_instance_norm_is_per_sample_in_eval_mode(init: str) -> None:
    """InstanceNorm2d's track_running_stats default and eval behaviour: no running statistics."""
    torch.manual_seed(0)
    block = impl.StablePtychoBlock(3, 2, init=init)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                assert not m.track_running_stats
                assert m.running_mean is None
    x = torch.randn(2, 3, 8, 8) * 5 + 3
    block.train()
    y_train = block(x)
    block.eval()
    y_eval = block(x)
    assert torch.allclose(y_train, y_eval, atol=1e-6)


def test_state_dict_round_trips_with_weights_only_loading() -> None:
    """torch.load's weights_only default flipped in 2.6: weights (complex too) load either way."""
    torch.manual_seed(0)
    cfg = spec.ModelConfig(
        architecture="stable_hybrid", N=16, fno_width=4, fno_blocks=2, fno_modes=3
    )
    model = impl.build_generator(cfg)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state: dict[str, Any] = torch.load(buffer, weights_only=True)
    assert any(t.is_complex() for t in state.values())
    for name, tensor in model.state_dict().items():
        assert torch.equal(state[name], tensor), name
