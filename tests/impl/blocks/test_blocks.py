"""PtychoBlock and StablePtychoBlock: the plan's block tests as properties (BLK-005..011)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spec
from impl.blocks import InstanceNorm2dAnySize, PtychoBlock, StablePtychoBlock

KINDS = ("normal", "constant", "large", "tiny")


def _input(kind: str, shape: tuple[int, int, int, int], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "constant":
        return torch.full(shape, float(torch.randn(1, generator=g)) * 3.0)
    x = torch.randn(shape, generator=g)
    return {"normal": x, "large": x * 1e4, "tiny": x * 1e-6}[kind]


cases = st.fixed_dictionaries(
    {
        "batch": st.integers(2, 3),
        "channels": st.integers(1, 6),
        "h": st.integers(1, 13),
        "w": st.integers(1, 13),
        "modes": st.integers(1, 6),
        "kind": st.sampled_from(KINDS),
        "seed": st.integers(0, 2**16),
    }
)


def _build(cls: type[torch.nn.Module], c: dict[str, int], **kwargs: object) -> torch.nn.Module:
    torch.manual_seed(c["seed"])
    return cls(c["channels"], c["modes"], **kwargs)


def _x(c: dict[str, int]) -> torch.Tensor:
    shape = (c["batch"], c["channels"], c["h"], c["w"])
    return _input(str(c["kind"]), shape, c["seed"])


@settings(max_examples=40)
@given(
    c=cases,
    variant=st.sampled_from(
        [(PtychoBlock, {}), (StablePtychoBlock, {}), (StablePtychoBlock, {"init": "layerscale"})]
    ),
)
def test_forward_shape(c: dict[str, int], variant: tuple[type, dict[str, object]]) -> None:
    """BLK-006 (plan: test_forward_shape): same shape and dtype, finite, in both modes."""
    block = _build(variant[0], c, **variant[1])
    x = _x(c)
    for mode in (True, False):
        block.train(mode)
        y = block(x)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert torch.isfinite(y).all()


@settings(max_examples=40)
@given(c=cases)
def test_identity_init(c: dict[str, int]) -> None:
    """BLK-007 (plan: test_identity_init): zero-gamma block returns its input, bit for bit."""
    block = _build(StablePtychoBlock, c)
    x = _x(c)
    assert torch.equal(block(x), x)
    assert torch.equal(block.eval()(x), x)


def _zero_mean_violation(block: torch.nn.Module, x: torch.Tensor) -> float:
    """Largest |spatial mean of the update| per (sample, channel), relative to its scale."""
    with torch.no_grad():
        delta = block(x) - x
    scale = 1.0 + float(delta.abs().max())
    return float(delta.mean(dim=(2, 3)).abs().max()) / scale


@settings(max_examples=40)
@given(
    c=cases.filter(lambda c: c["kind"] != "large"),
    init=st.sampled_from(spec.STABLE_INITS),
    gamma=st.floats(0.1, 10.0),
)
def test_zero_mean_update(c: dict[str, int], init: str, gamma: float) -> None:
    """BLK-008 (plan: test_zero_mean_update): with the norm bias at 0 the update has zero
    spatial mean per sample and channel, for any norm weight, in train and eval mode."""
    block = _build(StablePtychoBlock, c, init=init).double()
    assert isinstance(block, StablePtychoBlock)
    with torch.no_grad():
        block.norm.weight.copy_(gamma * (1 + torch.arange(c["channels"])))
    x = _x(c).double()
    for mode in (True, False):
        block.train(mode)
        assert _zero_mean_violation(block, x) < 1e-9


def test_zero_mean_needs_instance_statistics() -> None:
    """The BLK-008 check distinguishes instance from batch statistics."""
    torch.manual_seed(0)
    block = StablePtychoBlock(3, 2)
    with torch.no_grad():
        block.norm.weight.fill_(1.0)
    x = torch.randn(4, 3, 6, 6)
    assert _zero_mean_violation(block, x) < 1e-5
    batch_norm = torch.nn.BatchNorm2d(3)  # the same update, centred over the batch instead
    with torch.no_grad():
        delta = batch_norm(block.update(x))
    assert float(delta.mean(dim=(2, 3)).abs().max()) > 1e-2


def test_norm_has_no_running_stats() -> None:
    block = StablePtychoBlock(2, 2)
    assert isinstance(block.norm, torch.nn.InstanceNorm2d)
    assert not block.norm.track_running_stats and block.norm.affine
    assert block.norm.running_mean is None


@settings(max_examples=40)
@given(c=cases, ls=st.floats(1e-6, 1.0))
def test_layerscale_near_identity(c: dict[str, int], ls: float) -> None:
    """BLK-009: RMS of the update per sample and channel <= layerscale_init at init."""
    block = _build(StablePtychoBlock, c, init="layerscale", layerscale_init=ls)
    x = _x(c)
    rms = (block(x) - x).detach().double().pow(2).mean(dim=(2, 3)).sqrt()
    assert float(rms.max()) <= ls * (1 + 1e-4) + 1e-6 * float(x.abs().max())


def test_layerscale_is_not_the_identity() -> None:
    """Layerscale is near-identity, not identity: a generic input gets an update ~ gate."""
    torch.manual_seed(3)
    block = StablePtychoBlock(4, 3, init="layerscale", layerscale_init=1e-2)
    x = torch.randn(2, 4, 8, 8)
    rms = (block(x) - x).detach().pow(2).mean(dim=(2, 3)).sqrt()
    assert float(rms.min()) > 0.5e-2


def _gelu(v: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * v * (1.0 + erf(v / math.sqrt(2.0)))


def test_ptychoblock_form_dc_gain_and_bias() -> None:
    """BLK-005: y = x + GELU(S x + K x) checked on a constant input with a known DC gain
    a (spectral), a known kernel sum s and bias b (3x3 conv, zero padding), in numpy."""
    block = PtychoBlock(1, 2).double()
    a, s_centre, b = 0.75, -0.375, 0.25  # exact in float32 (complex64 weights)
    with torch.no_grad():
        block.spectral.weight_pos.zero_()
        assert block.spectral.weight_neg is not None
        block.spectral.weight_neg.zero_()
        block.spectral.weight_pos[0, 0, 0, 0] = a  # DC gain only
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 1] = s_centre  # identity-shaped kernel
        block.conv.weight[0, 0, 0, 0] = 0.5  # top-left tap: sees zero padding on the border
        block.conv.bias.fill_(b)
    x = np.full((5, 6), 2.0)
    padded = np.pad(x, 1)
    conv = s_centre * x + 0.5 * padded[:-2, :-2] + b
    expected = x + _gelu(a * x + conv)
    got = block(torch.from_numpy(x)[None, None])[0, 0].detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_stable_layerscale_form() -> None:
    """BLK-008/009: y = x + gate * (u - mean(u)) / sqrt(var(u) + eps) * w + b, in numpy."""
    block = StablePtychoBlock(1, 1, init="layerscale", layerscale_init=0.25).double()
    with torch.no_grad():
        block.spectral.weight_pos.zero_()
        assert block.spectral.weight_neg is not None
        block.spectral.weight_neg.zero_()
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 1] = 1.0  # K x = x -> update u = GELU(x)
        block.conv.bias.zero_()
    x = np.random.default_rng(0).normal(size=(4, 5))
    u = _gelu(x)
    expected = x + 0.25 * (u - u.mean()) / np.sqrt(u.var() + block.norm.eps)
    got = block(torch.from_numpy(x)[None, None])[0, 0].detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_one_by_one_grid() -> None:
    """A 1x1 grid works in both modes: the instance-normalised value is 0, the update the bias."""
    block = StablePtychoBlock(3, 4)
    x = torch.randn(2, 3, 1, 1)
    for mode in (True, False):
        block.train(mode)
        assert torch.equal(block(x), x)
    with torch.no_grad():
        block.norm.weight.fill_(5.0)
        block.norm.bias.copy_(torch.tensor([1.0, -2.0, 0.5]))
    torch.testing.assert_close(block(x), x + block.norm.bias.view(1, 3, 1, 1))
    assert InstanceNorm2dAnySize(3)(torch.randn(2, 3, 1, 1)).abs().max() == 0


@pytest.mark.parametrize("init", spec.STABLE_INITS)
def test_stable_branch_trainable_from_init(init: str) -> None:
    """BLK-011: one SGD step on a regression loss moves the block off its initial map."""
    torch.manual_seed(0)
    block = StablePtychoBlock(3, 2, init=init)  # type: ignore[arg-type]
    x, target = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 6, 6)
    before = block(x).detach()
    opt = torch.optim.SGD(block.parameters(), lr=0.1)
    torch.nn.functional.mse_loss(block(x), target).backward()
    opt.step()
    assert float((block(x).detach() - before).abs().max()) > 1e-3


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"channels": 0, "modes": 2}, r"channels=0: must be an int >= 1"),
        ({"channels": 2, "modes": -1}, r"modes=-1: must be an int >= 1"),
        ({"channels": 2.0, "modes": 2}, r"channels=2.0"),
        ({"channels": 2, "modes": 2, "init": "zero"}, r"init='zero': allowed are"),
        ({"channels": 2, "modes": 2, "layerscale_init": 0.0}, r"layerscale_init=0.0: must be"),
        ({"channels": 2, "modes": 2, "layerscale_init": -1e-3}, r"layerscale_init=-0.001"),
        ({"channels": 2, "modes": 2, "layerscale_init": math.nan}, r"layerscale_init=nan"),
        ({"channels": 2, "modes": 2, "layerscale_init": math.inf}, r"layerscale_init=inf"),
        ({"channels": 2, "modes": 2, "layerscale_init": True}, r"layerscale_init=True"),
        ({"channels": 2, "modes": 2, "layerscale_init": "1e-3"}, r"layerscale_init='1e-3'"),
    ],
)
def test_bad_arguments_named(kwargs: dict[str, object], pattern: str) -> None:
    """BLK-010: a clear ValueError naming argument, value and what is allowed."""
    with pytest.raises(ValueError, match=pattern):
        StablePtychoBlock(**kwargs)  # type: ignore[arg-type]


def test_plain_block_validates_too() -> None:
    with pytest.raises(ValueError, match=r"channels=0"):
        PtychoBlock(0, 2)
    with pytest.raises(ValueError, match=r"PtychoBlock expects input \(B, 2, H, W\)"):
        PtychoBlock(2, 2)(torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"StablePtychoBlock expects input"):
        StablePtychoBlock(2, 2)(torch.randn(3, 4, 4))
