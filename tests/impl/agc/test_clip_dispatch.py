"""impl.clip_gradients_: the plan-1.3 dispatch, its config source, result and errors.

The dispatch rules themselves (AGC-026 to AGC-030) are checked generically by the
``clip.*`` conformance properties in tests/test_agc_properties.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

import spec
from impl.clipping import ClipResult, clip_gradients_, global_grad_norm


def _params(*grads: list[float], dtype: torch.dtype = torch.float32) -> list[nn.Parameter]:
    out = []
    for g in grads:
        p = nn.Parameter(torch.ones(len(g), dtype=dtype))
        p.grad = torch.tensor(g, dtype=dtype)
        out.append(p)
    return out


def test_algorithms_are_the_contract_set() -> None:
    """CFG-001 / AGC-030: the dispatch takes every algorithm the config allows."""
    ps = _params([3.0], [4.0])
    for algorithm in spec.CLIP_ALGORITHMS:
        assert isinstance(clip_gradients_(ps, algorithm, 1e9), ClipResult)


def test_norm_result_statistics() -> None:
    """AGC-027: global norm 5 clipped to 1; statistics before/after; units_clipped 1."""
    ps = _params([3.0], [4.0])
    out = clip_gradients_(ps, "norm", 1.0)
    assert isinstance(out, ClipResult)
    assert math.isclose(float(out.grad_norm_before), 5.0, rel_tol=1e-6)
    assert math.isclose(float(out.grad_norm_after), 1.0, rel_tol=1e-5)
    assert int(out.units_clipped) == 1
    torch.testing.assert_close(torch.cat([p.grad for p in ps]), torch.tensor([0.6, 0.8]))


def test_norm_below_threshold_counts_zero() -> None:
    ps = _params([0.3], [0.4])
    out = clip_gradients_(ps, "norm", 1.0)
    assert int(out.units_clipped) == 0
    assert math.isclose(float(out.grad_norm_after), 0.5, rel_tol=1e-6)


def test_value_counts_clamped_entries() -> None:
    """AGC-028: 'value' clamps entries to [-v, v] and counts the entries it clamped."""
    ps = _params([3.0, -0.5], [-2.0, 0.0])
    out = clip_gradients_(ps, "value", 1.0)
    assert int(out.units_clipped) == 2
    assert torch.equal(ps[0].grad, torch.tensor([1.0, -0.5]))
    assert torch.equal(ps[1].grad, torch.tensor([-1.0, 0.0]))


def test_value_rejects_complex_gradients_clearly() -> None:
    (p,) = _params([1.0, 2.0], dtype=torch.complex64)
    with pytest.raises(ValueError, match="'value' cannot clip complex gradients"):
        clip_gradients_([p], "value", 1.0)


def test_agc_counts_units_and_uses_module_unit_axes() -> None:
    """AGC-029 via a module: ConvTranspose weights are clipped along dim 1 (AGC-024)."""
    torch.manual_seed(0)
    model = nn.ConvTranspose2d(3, 4, 2, bias=False)
    model.weight.grad = torch.randn_like(model.weight) * 100
    grad = model.weight.grad
    out = clip_gradients_(model, "agc", 0.01)
    assert int(out.units_clipped) == 4  # four output channels on dim 1, all far above the bound
    norms = torch.linalg.vector_norm(grad.transpose(0, 1).reshape(4, -1), dim=1)
    bounds = 0.01 * torch.linalg.vector_norm(
        model.weight.detach().transpose(0, 1).reshape(4, -1), dim=1
    ).clamp(min=1e-3)
    torch.testing.assert_close(norms, bounds, rtol=1e-5, atol=0)


@pytest.mark.parametrize("algorithm", spec.CLIP_ALGORITHMS)
@pytest.mark.parametrize("value", [None, 0.0, -1.0])
def test_nonpositive_value_returns_unclipped_statistics(
    algorithm: str, value: float | None
) -> None:
    """AGC-026: no clipping; before == after; nothing counted."""
    ps = _params([3.0], [4.0])
    out = clip_gradients_(ps, algorithm, value)
    assert float(out.grad_norm_before) == float(out.grad_norm_after) == 5.0
    assert int(out.units_clipped) == 0
    assert float(ps[0].grad) == 3.0


@pytest.mark.parametrize("side", [spec.TorchTrainingConfig, spec.TFTrainingConfig])
def test_config_supplies_algorithm_and_value(side: Any) -> None:
    """AGC-031: either side's config drives the dispatch."""
    cfg = side(gradient_clip_algorithm="value", gradient_clip_val=1.0)
    ps = _params([3.0, -3.0])
    clip_gradients_(ps, config=cfg)
    assert torch.equal(ps[0].grad, torch.tensor([1.0, -1.0]))
    off = side(gradient_clip_algorithm="agc", gradient_clip_val=0.0)
    qs = _params([3.0, -3.0])
    clip_gradients_(qs, config=off)
    assert torch.equal(qs[0].grad, torch.tensor([3.0, -3.0]))


def test_explicit_arguments_must_agree_with_config() -> None:
    """AGC-031: contradicting explicit arguments raise; agreeing ones are fine."""
    cfg = spec.TorchTrainingConfig(gradient_clip_algorithm="norm", gradient_clip_val=1.0)
    ps = _params([3.0])
    with pytest.raises(ValueError, match=r"algorithm='agc' contradicts .*gradient_clip_algorithm"):
        clip_gradients_(ps, "agc", config=cfg)
    with pytest.raises(ValueError, match=r"value=2\.0 contradicts .*gradient_clip_val=1\.0"):
        clip_gradients_(ps, value=2.0, config=cfg)
    assert float(ps[0].grad) == 3.0
    clip_gradients_(ps, "norm", 1.0, config=cfg)
    assert math.isclose(float(ps[0].grad), 1.0, rel_tol=1e-6)


def test_default_algorithm_is_norm() -> None:
    """CFG-002: with a value but no algorithm the dispatch clips by norm."""
    ps = _params([3.0], [4.0])
    clip_gradients_(ps, value=1.0)
    assert math.isclose(float(global_grad_norm([p.grad for p in ps])), 1.0, rel_tol=1e-5)


def test_bad_arguments() -> None:
    ps = _params([3.0])
    with pytest.raises(ValueError, match=r"algorithm 'L2' .*allowed are") as info:
        clip_gradients_(ps, "L2", 1.0)
    assert all(repr(a) in str(info.value) for a in spec.CLIP_ALGORITHMS)
    with pytest.raises(ValueError, match=r"algorithm 3 "):
        clip_gradients_(ps, 3, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="value must be None or a real number"):
        clip_gradients_(ps, "norm", "1.0")  # type: ignore[arg-type]
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="value must be None or a finite number"):
            clip_gradients_(ps, "norm", bad)
    with pytest.raises(TypeError, match=r"config must be a spec\.TorchTrainingConfig"):
        clip_gradients_(ps, config={"gradient_clip_val": 1.0})  # type: ignore[arg-type]
    assert float(ps[0].grad) == 3.0


def test_error_if_nonfinite() -> None:
    ps = _params([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="global gradient norm is inf"):
        clip_gradients_(ps, "agc", 0.01, error_if_nonfinite=True)
    assert ps[0].grad[1] == 1.0
    out = clip_gradients_(ps, "agc", 0.01)  # default: no error, documented convention
    assert not bool(torch.isfinite(out.grad_norm_before))


def test_no_gradients_at_all() -> None:
    """Nothing to clip: zero statistics, no error (torch's clip_grad_value_ fails here)."""
    p = nn.Parameter(torch.ones(3))
    for algorithm in spec.CLIP_ALGORITHMS:
        out = clip_gradients_([p], algorithm, 1.0)
        assert float(out.grad_norm_before) == 0.0 and int(out.units_clipped) == 0


def test_global_grad_norm_dtypes() -> None:
    """Half norms do not overflow; complex counts by modulus; float64 stays float64."""
    half = torch.full((100,), 60000.0, dtype=torch.float16)
    assert math.isclose(float(global_grad_norm([half])), 600000.0, rel_tol=1e-3)
    cplx = torch.tensor([3 + 4j], dtype=torch.complex64)
    assert math.isclose(float(global_grad_norm([cplx, torch.tensor([12.0])])), 13.0, rel_tol=1e-6)
    wide = global_grad_norm([torch.tensor([1e200, 1e200], dtype=torch.float64) * 1e-100])
    assert wide.dtype == torch.float64
    assert math.isclose(float(wide), math.sqrt(2) * 1e100, rel_tol=1e-12)
    assert float(global_grad_norm([])) == 0.0


def test_no_host_sync(host_reads: list[str]) -> None:
    """AGC-025 for the dispatch: no tensor is read on the host by any algorithm."""
    ps = _params([3.0, 1.0], [4.0, 0.5])
    ps += _mixed([torch.bfloat16, torch.float16, torch.float64])
    big = nn.Parameter(torch.ones(300, 100))
    big.grad = torch.ones(300, 100)
    cplx = _mixed([torch.complex64])
    for algorithm in spec.CLIP_ALGORITHMS:
        clip_gradients_([*ps, big, *(cplx if algorithm != "value" else [])], algorithm, 0.5)
    assert host_reads == []


# --- 'norm' is clip_grad_norm_'s arithmetic; the statistics cost no extra pass ------------------


def _mixed(dtypes: list[torch.dtype], seed: int = 0) -> list[nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k, dtype in enumerate(dtypes):
        shape = [(7, 5), (13,), (3, 4, 2)][k % 3]
        p = nn.Parameter(torch.randn(shape, generator=gen).to(dtype))
        p.grad = (torch.randn(shape, generator=gen) * (k + 1)).to(dtype)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "dtypes",
    [
        [torch.float32] * 4,
        [torch.float64] * 3,
        [torch.bfloat16] * 3,
        [torch.float32, torch.bfloat16, torch.float64, torch.float32],
    ],
    ids=["float32", "float64", "bfloat16", "mixed"],
)
@pytest.mark.parametrize("foreach", [None, True, False])
def test_norm_gives_clip_grad_norm_gradients_bit_for_bit(
    dtypes: list[torch.dtype], foreach: bool | None
) -> None:
    """AGC-027, issue 13: the same gradients as torch's own call, and its total as 'before'."""
    ours, theirs = _mixed(dtypes), _mixed(dtypes)
    out = clip_gradients_(ours, "norm", 0.5, foreach=foreach)
    total = torch.nn.utils.clip_grad_norm_(theirs, 0.5, foreach=foreach)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a.grad, b.grad)
    assert float(out.grad_norm_before) == float(total)
    wide = torch.float64 in dtypes
    assert out.grad_norm_before.dtype == (torch.float64 if wide else torch.float32)
    coef = min(1.0, 0.5 / (float(total) + 1e-6))
    # the factor is in the total's dtype, as torch computes it (bfloat16 for bfloat16 grads)
    rel = 4e-3 if dtypes == [torch.bfloat16] * 3 else 1e-6
    assert float(out.grad_norm_after) == pytest.approx(float(total) * coef, rel=rel)
    assert math.isclose(float(global_grad_norm([p.grad for p in ours])), 0.5, rel_tol=2e-2)


def test_norm_on_float16_accumulates_in_float32() -> None:
    """float16 norms in float32: torch's float16 norm overflows above 65504 and zeroes them."""
    big = _params([300.0] * 100, dtype=torch.float16)  # norm 3000: fine in float16
    huge = _params([30000.0] * 100, dtype=torch.float16)  # norm 3e5: inf in float16
    torch_huge = _params([30000.0] * 100, dtype=torch.float16)
    out = clip_gradients_(huge, "norm", 1.0)
    torch.nn.utils.clip_grad_norm_(torch_huge, 1.0)
    assert float(torch_huge[0].grad.abs().max()) == 0.0  # torch: total inf, factor 0
    assert float(out.grad_norm_before) == pytest.approx(3e5, rel=1e-3)
    assert float(global_grad_norm([huge[0].grad])) == pytest.approx(1.0, rel=2e-3)
    reference = _params([300.0] * 100, dtype=torch.float16)
    clip_gradients_(big, "norm", 1.0)
    torch.nn.utils.clip_grad_norm_(reference, 1.0)
    torch.testing.assert_close(big[0].grad, reference[0].grad, rtol=2e-3, atol=0)


def test_agc_statistics_are_the_global_norms() -> None:
    """'agc': before/after derived from AGC's unit norms equal the global norms taken anew."""
    ps = _mixed([torch.float32, torch.complex64, torch.float32], seed=3)
    before = float(global_grad_norm([p.grad for p in ps]))
    out = clip_gradients_(ps, "agc", 0.01)
    assert float(out.grad_norm_before) == pytest.approx(before, rel=1e-6)
    assert float(out.grad_norm_after) == pytest.approx(
        float(global_grad_norm([p.grad for p in ps])), rel=1e-5
    )
    assert float(out.grad_norm_after) < float(out.grad_norm_before)
