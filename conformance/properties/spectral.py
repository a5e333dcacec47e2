"""Properties of the spectral convolution (BLK-001..003) and the plain PtychoBlock (BLK-005).

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("spectral."))
['BLK-001', 'BLK-002', 'BLK-003', 'BLK-005']

Roles: ``spectral_conv`` is called ``SpectralConv(in_channels, out_channels, modes)``
and maps (B, in, H, W) to (B, out, H, W); ``plain_block`` is called
``PtychoBlock(channels, modes)``. Every parameter is redrawn at random before a
check (:func:`conformance.strategies.layers.randomize`), so a zero-initialised
weight cannot hide a missing frequency corner or a miswired branch. BLK-005 finds
the block's parts by walking its modules: ``K`` is its ``nn.Conv2d`` with a 3x3
kernel, and ``S`` the one other direct child holding parameters.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from conformance.properties import Targets, conformance_property
from conformance.strategies.layers import (
    PlainBlockCase,
    ShiftCase,
    SpectralCase,
    WaveCase,
    plain_block_cases,
    shift_cases,
    spectral_cases,
    wave_cases,
)

__all__: list[str] = []


def _forward(module: Any, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        y = module(x)
    assert isinstance(y, torch.Tensor), f"returned {type(y).__name__}, not a tensor"
    return y


@conformance_property("BLK-001", roles=("spectral_conv",), strategy=spectral_cases())
def real_output_any_size(targets: Targets, case: SpectralCase) -> None:
    """A real (B, in, H, W) input gives a finite real (B, out, H, W) output of its dtype."""
    x = case.make_input()
    y = _forward(case.build(targets.spectral_conv), x)
    want = (case.batch, case.out_channels, case.height, case.width)
    assert not y.is_complex(), f"output is complex ({y.dtype}), not real; case {case!r}"
    assert tuple(y.shape) == want and y.dtype == x.dtype, (
        f"input {tuple(x.shape)} {x.dtype} -> output {tuple(y.shape)} {y.dtype}; expected "
        f"{want} {x.dtype}; case {case!r}"
    )
    assert bool(torch.isfinite(y).all()), f"non-finite output; case {case!r}"


@conformance_property("BLK-002", roles=("spectral_conv",), strategy=shift_cases())
def shift_equivariant(targets: Targets, ex: ShiftCase) -> None:
    """conv(roll(x)) == roll(conv(x)) for circular shifts along both spatial axes."""
    case = ex.case
    conv = case.build(targets.spectral_conv)
    x = case.make_input()
    dims, shifts = (2, 3), (ex.shift_h, ex.shift_w)
    shifted_first = _forward(conv, torch.roll(x, shifts, dims))
    shifted_after = torch.roll(_forward(conv, x), shifts, dims)
    assert shifted_first.shape == shifted_after.shape, f"shapes differ; example {ex!r}"
    gap = float((shifted_first - shifted_after).abs().max()) if x.numel() else 0.0
    scale = float(shifted_after.abs().max()) if x.numel() else 0.0
    tol = (1e-4 if x.dtype == torch.float32 else 1e-9) * (1.0 + scale)
    assert gap <= tol, (
        f"conv(roll(x)) and roll(conv(x)) differ by {gap:.3g} (allowed {tol:.3g}); example {ex!r}"
    )


@conformance_property("BLK-003", roles=("spectral_conv",), strategy=wave_cases())
def both_frequency_corners(targets: Targets, case: WaveCase) -> None:
    """Each kept plane wave (k, l) a grid holds, negative k included, gets a response at
    (k, l) and nothing at any other frequency."""
    y = _forward(case.build(targets.spectral_conv), case.make_input()).to(torch.float64)
    spectra = torch.fft.fft2(y).abs().amax(dim=1)  # (frequency, H, W): max over channels
    floor = 1e-6 * case.height * case.width
    for b, (k, col) in enumerate(case.frequencies()):
        mask = torch.zeros_like(spectra[b], dtype=torch.bool)
        for row, column in case.bins(k, col):
            mask[row, column] = True
        response = float(spectra[b][mask].max())
        elsewhere = float(spectra[b][~mask].max()) if bool((~mask).any()) else 0.0
        assert response > floor, (
            f"no response to the plane wave of frequency (k={k}, l={col}) with "
            f"modes={case.modes} on a {case.height}x{case.width} grid (|Y| = {response:.3g}): "
            f"that frequency corner is not kept; case {case!r}"
        )
        assert elsewhere <= 1e-4 * response + floor, (
            f"the response to frequency (k={k}, l={col}) has a component of {elsewhere:.3g} at "
            f"another frequency (the wave's own: {response:.3g}); case {case!r}"
        )


def _parts(block: nn.Module, channels: int) -> tuple[nn.Conv2d, nn.Module]:
    convs = [
        m
        for m in block.modules()
        if isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (3, 3) and m is not block
    ]
    assert len(convs) == 1, f"expected one 3x3 nn.Conv2d in the block, found {len(convs)}"
    k = convs[0]
    assert (k.in_channels, k.out_channels) == (channels, channels), (
        f"the 3x3 conv maps {k.in_channels} -> {k.out_channels} channels, not "
        f"{channels} -> {channels}"
    )
    assert k.bias is not None, "the 3x3 conv has no bias"
    assert tuple(k.padding) == (1, 1) and k.padding_mode == "zeros", (
        f"the 3x3 conv pads {k.padding} with mode {k.padding_mode!r}: expected zero padding 1"
    )
    others = [
        child
        for child in block.children()
        if child is not k
        and k not in list(child.modules())
        and any(True for _ in child.parameters())
    ]
    assert len(others) == 1, (
        f"expected exactly one other part with parameters (the spectral conv) beside the 3x3 "
        f"conv, found {[type(o).__name__ for o in others]}"
    )
    return k, others[0]


@conformance_property("BLK-005", roles=("plain_block",), strategy=plain_block_cases())
def plain_block_form(targets: Targets, case: PlainBlockCase) -> None:
    """y = x + GELU(S(x) + K(x)), with K the block's 3x3 zero-padded conv and S its other part."""
    block = case.build(targets.plain_block)
    k, s = _parts(block, case.channels)
    x = case.make_input()
    with torch.no_grad():
        want = x + torch.nn.functional.gelu(s(x) + k(x))
    got = _forward(block, x)
    assert got.shape == want.shape, f"output {tuple(got.shape)}, expected {tuple(want.shape)}"
    gap = float((got - want).abs().max())
    tol = 1e-5 * (1.0 + float(want.abs().max()))
    assert gap <= tol, (
        f"block(x) differs from x + GELU(S(x) + K(x)) by {gap:.3g} (allowed {tol:.3g}), with "
        f"S = {type(s).__name__} and K = the 3x3 conv; case {case!r}"
    )
