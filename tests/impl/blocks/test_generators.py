"""Hybrid and stable_hybrid generators: output layout (BLK-012), stable = hybrid but the
block (BLK-013), size and channel errors (BLK-014), parameter count (BLK-015), no dead
spectral weights (BLK-004)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spec
from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.param_count import count_parameters, hybrid_parameter_count
from impl.registry import build_generator
from impl.spectral import SpectralConv2d


@st.composite
def generator_args(draw: st.DrawFn) -> dict[str, Any]:
    """Small constructor arguments (keys of HybridUNOGenerator) plus an input grid."""
    n_blocks = draw(st.integers(1, 3))
    hidden = draw(st.integers(1, 5))
    factor = 2 ** (n_blocks - 1)
    return {
        "in_channels": draw(st.integers(1, 2)),
        "out_channels": draw(st.integers(1, 3)),
        "hidden_channels": hidden,
        "n_blocks": n_blocks,
        "modes": draw(st.integers(1, 5)),
        "C": draw(st.integers(1, 4)),
        "max_hidden_channels": draw(st.one_of(st.none(), st.integers(hidden, 2 * hidden + 1))),
        "grid": (factor * draw(st.integers(1, 12 // factor)), factor * draw(st.integers(1, 3))),
    }


def _build(cls: type[HybridUNOGenerator], args: dict[str, Any], **extra: Any) -> Any:
    kwargs = {k: v for k, v in args.items() if k != "grid"}
    return cls(**kwargs, **extra)


@settings(max_examples=25)
@given(
    args=generator_args(),
    cls=st.sampled_from([HybridUNOGenerator, StableHybridGenerator]),
    sized=st.booleans(),
    batch=st.integers(2, 3),
)
def test_forward_shape(
    args: dict[str, Any], cls: type[HybridUNOGenerator], sized: bool, batch: int
) -> None:
    """BLK-012 (plan: stable_hybrid produces correct output shapes): (B, C*in, H, W) ->
    finite (B, H, W, C, out), same dtype."""
    torch.manual_seed(0)
    gen = _build(cls, args, input_size=args["grid"] if sized else None)
    h, w = args["grid"]
    x = torch.randn(batch, args["C"] * args["in_channels"], h, w)
    y = gen(x)
    assert y.shape == (batch, h, w, args["C"], args["out_channels"])
    assert y.dtype == x.dtype and torch.isfinite(y).all()


def test_output_layout_follows_projection_channels() -> None:
    """BLK-012: projection channel c*out + o lands at [..., c, o] (real/imag last)."""
    gen = HybridUNOGenerator(1, 2, hidden_channels=3, n_blocks=2, modes=2, C=3)
    seen: list[torch.Tensor] = []
    gen.project.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    y = gen(torch.randn(2, 3, 4, 6)).detach()
    projected = seen[0]
    for c in range(3):
        for o in range(2):
            assert torch.equal(y[..., c, o], projected[:, 2 * c + o])


def _tree(model: torch.nn.Module) -> dict[str, tuple[type, dict[str, tuple[int, ...]]]]:
    return {
        name: (type(m), {p: tuple(t.shape) for p, t in m.named_parameters(recurse=False)})
        for name, m in model.named_modules()
    }


@settings(max_examples=15)
@given(args=generator_args(), init=st.sampled_from(spec.STABLE_INITS))
def test_stable_hybrid_is_hybrid_but_for_the_block(args: dict[str, Any], init: str) -> None:
    """BLK-013: same tree, types and shapes outside the blocks; every block stable."""
    plain = _tree(_build(HybridUNOGenerator, args))
    stable = _tree(_build(StableHybridGenerator, args, init=init))
    del plain[""], stable[""]  # the generator classes themselves differ by name only
    blocks = {f"encoder.{i}" for i in range(args["n_blocks"])} | {"bottleneck"}
    differing = {n for n in plain if n in stable and plain[n][0] is not stable[n][0]}
    assert differing == blocks
    assert {plain[n][0] for n in blocks} == {PtychoBlock}
    assert {stable[n][0] for n in blocks} == {StablePtychoBlock}
    for name in plain:
        if not any(name == b or name.startswith(b + ".") for b in blocks):
            assert plain[name] == stable[name], name
    for b in blocks:  # inside a block: the plain block's layers plus the norm (and gate)
        inside_plain = {n: plain[n] for n in plain if n.startswith(b + ".")}
        inside_stable = {n: stable[n] for n in stable if n.startswith(b + ".")}
        assert inside_stable == {**inside_plain, f"{b}.norm": inside_stable[f"{b}.norm"]}
        assert set(stable[b][1]) == ({"gate"} if init == "layerscale" else set())


def test_stable_hybrid_loads_a_hybrid_state_dict() -> None:
    """BLK-013: a hybrid checkpoint loads into stable_hybrid; only norm/gate keys are new."""
    args = {"hidden_channels": 3, "n_blocks": 3, "modes": 3, "C": 2, "input_size": 8}
    plain = HybridUNOGenerator(**args)
    stable = StableHybridGenerator(**args, init="layerscale")
    result = stable.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    suffixes = (".norm.weight", ".norm.bias", ".gate")
    assert all(k.endswith(suffixes) for k in result.missing_keys), result.missing_keys
    assert len(result.missing_keys) == 3 * (3 + 1)  # 3 encoder blocks + bottleneck


def _no_layer_ran(gen: torch.nn.Module, x: torch.Tensor) -> tuple[str, list[str]]:
    ran: list[str] = []
    for name, module in gen.named_modules():
        if name:
            module.register_forward_pre_hook(lambda *_a, _n=name: ran.append(_n))
    with pytest.raises(ValueError) as info:
        gen(x)
    return str(info.value), ran


@settings(max_examples=20)
@given(
    n_blocks=st.integers(2, 4),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
)
def test_size_error_before_any_layer(n_blocks: int, h: int, w: int) -> None:
    """BLK-014: H or W not divisible by 2**(n_blocks-1) -> ValueError naming both, raised
    before any layer runs."""
    factor = 2 ** (n_blocks - 1)
    gen = HybridUNOGenerator(1, 2, hidden_channels=2, n_blocks=n_blocks, modes=2, C=1)
    x = torch.randn(2, 1, h, w)
    if h % factor == 0 and w % factor == 0:
        assert gen(x).shape == (2, h, w, 1, 2)
        return
    message, ran = _no_layer_ran(gen, x)
    assert f"({h}, {w})" in message and f"multiples of {factor}" in message
    assert ran == []


@pytest.mark.parametrize(
    ("shape", "pattern"),
    [
        ((2, 3, 8, 8), r"C\*in_channels = 4\*1 = 4; got shape \(2, 3, 8, 8\)"),
        ((4, 8, 8), r"got shape \(4, 8, 8\)"),
        ((2, 4, 16, 16), r"built for input_size=\(8, 8\)"),
    ],
)
def test_channel_and_size_mismatch_named(shape: tuple[int, ...], pattern: str) -> None:
    """BLK-014: wrong channel count, rank or size -> ValueError before any layer runs."""
    gen = StableHybridGenerator(1, 2, hidden_channels=2, n_blocks=2, modes=2, C=4, input_size=8)
    message, ran = _no_layer_ran(gen, torch.randn(*shape))
    assert ran == []
    with pytest.raises(ValueError, match=pattern):
        gen(torch.randn(*shape))
    assert message


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_blocks": 0}, r"n_blocks=0: must be an int >= 1"),
        ({"hidden_channels": 0}, r"hidden_channels=0"),
        ({"C": True}, r"C=True"),
        ({"modes": 2.5}, r"modes=2.5"),
        ({"hidden_channels": 8, "max_hidden_channels": 4}, r"max_hidden_channels=4 is below"),
        ({"n_blocks": 3, "input_size": 6}, r"\(6, 6\) is not divisible by 2\*\*\(n_blocks-1\)"),
        ({"input_size": (8, 0)}, r"input_size=\(8, 0\)"),
        ({"init": "gamma"}, r"init='gamma': allowed are"),
        ({"layerscale_init": -1.0}, r"layerscale_init=-1.0"),
    ],
)
def test_bad_constructor_arguments_named(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        StableHybridGenerator(**{"hidden_channels": 2, "n_blocks": 2, "modes": 2, **kwargs})


def test_one_block_generator_has_no_sampling_layers() -> None:
    gen = HybridUNOGenerator(1, 2, hidden_channels=2, n_blocks=1, modes=2, C=1)
    assert len(gen.down) == len(gen.up) == len(gen.fuse) == 0
    assert gen(torch.randn(2, 1, 5, 3)).shape == (2, 5, 3, 1, 2)


def test_channel_cap_stops_doubling() -> None:
    gen = HybridUNOGenerator(hidden_channels=4, n_blocks=4, modes=2, C=1, max_hidden_channels=8)
    widths = [b.conv.in_channels for b in gen.encoder]
    assert widths == [4, 8, 8, 8] and gen.bottleneck.conv.in_channels == 8


def test_no_dead_spectral_weights_when_sized() -> None:
    """BLK-004: built for N, every spectral weight of every level receives gradient."""
    torch.manual_seed(0)
    gen = HybridUNOGenerator(hidden_channels=2, n_blocks=3, modes=6, C=1, input_size=(8, 12))
    (gen(torch.randn(2, 1, 8, 12)) * torch.randn(2, 8, 12, 1, 2)).sum().backward()
    convs = [m for m in gen.modules() if isinstance(m, SpectralConv2d)]
    assert len(convs) == 4
    for conv in convs:
        for name, p in conv.named_parameters():
            assert p.grad is not None and bool((p.grad != 0).all()), name
    unsized = HybridUNOGenerator(hidden_channels=2, n_blocks=3, modes=6, C=1)
    assert sum(p.numel() for p in unsized.parameters()) > sum(p.numel() for p in gen.parameters())


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@settings(max_examples=25)
@given(
    args=generator_args(),
    stable_init=st.sampled_from([None, *spec.STABLE_INITS]),
    sized=st.booleans(),
)
def test_parameter_count_closed_form(
    args: dict[str, Any], stable_init: str | None, sized: bool
) -> None:
    """BLK-015: the closed form equals the built model's count, complex counted once or twice."""
    size = args["grid"] if sized else None
    if stable_init is None:
        model = _build(HybridUNOGenerator, args, input_size=size)
    else:
        model = _build(StableHybridGenerator, args, input_size=size, init=stable_init)
    kwargs = {k: v for k, v in args.items() if k != "grid"}
    count = hybrid_parameter_count(**kwargs, input_size=size, stable_init=stable_init)
    assert count == _numel(model)
    real = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    assert real == hybrid_parameter_count(
        **kwargs, input_size=size, stable_init=stable_init, real_scalars=True
    )


@st.composite
def model_configs(draw: st.DrawFn) -> spec.ModelConfig:
    blocks = draw(st.integers(1, 3))
    width = draw(st.integers(1, 4))
    return spec.ModelConfig(
        architecture=draw(st.sampled_from(spec.BUILTIN_ARCHITECTURES)),
        N=2 ** (blocks - 1) * draw(st.integers(1, 4)),
        gridsize=draw(st.integers(1, 2)),
        fno_width=width,
        fno_blocks=blocks,
        fno_modes=draw(st.integers(1, 6)),
        max_hidden_channels=draw(st.one_of(st.none(), st.integers(width, 2 * width))),
        stable_init=draw(st.sampled_from(spec.STABLE_INITS)),
    )


@settings(max_examples=25)
@given(cfg=model_configs())
def test_count_parameters_matches_build_generator(cfg: spec.ModelConfig) -> None:
    """BLK-015: count_parameters(model_config) == the built generator's count."""
    assert count_parameters(cfg) == _numel(build_generator(cfg))


@pytest.mark.parametrize(
    ("cfg", "one_corner"),
    [
        (spec.ModelConfig(), None),
        (spec.ModelConfig(fno_blocks=8, N=128), None),
        (spec.ModelConfig(fno_blocks=4), 17_203_464),
        (spec.ModelConfig(fno_blocks=8, N=128), 4_417_976_584),
    ],
)
def test_count_at_upstream_scale_without_allocating(
    cfg: spec.ModelConfig, one_corner: int | None
) -> None:
    """BLK-015 at the default width: the closed form against a meta-device build (no
    memory); without input size and with one corner it gives the notes' ~17 M / ~4.4 B."""
    if one_corner is None:
        with torch.device("meta"):
            model = build_generator(cfg)
        assert count_parameters(cfg) == _numel(model)
        return
    full = hybrid_parameter_count(n_blocks=cfg.fno_blocks)
    spectral = sum(
        p.numel() for n, p in _meta(cfg.fno_blocks).named_parameters() if n.endswith("weight_neg")
    )
    assert full - spectral == one_corner
    assert abs(one_corner - (17e6 if cfg.fno_blocks == 4 else 4.4e9)) / one_corner < 0.02


def _meta(n_blocks: int) -> torch.nn.Module:
    with torch.device("meta"):
        return HybridUNOGenerator(n_blocks=n_blocks)
