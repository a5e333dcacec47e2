"""SpectralConv2d: realness and any size (BLK-001), shift equivariance (BLK-002),
both frequency corners (BLK-003), no dead weights for a known size (BLK-004)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from faulty.blocks_faults import OneCornerSpectralConv2d
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.spectral import SpectralConv2d, mode_counts

sizes = st.integers(min_value=1, max_value=13)
channels = st.integers(min_value=1, max_value=4)
modes = st.integers(min_value=1, max_value=8)


def _conv(cin: int, cout: int, m: int, seed: int = 0) -> SpectralConv2d:
    torch.manual_seed(seed)
    return SpectralConv2d(cin, cout, m)


@settings(max_examples=40)
@given(
    batch=st.integers(2, 3),
    cin=channels,
    cout=channels,
    m=modes,
    h=sizes,
    w=sizes,
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_blk001_real_output_any_size(
    batch: int, cin: int, cout: int, m: int, h: int, w: int, dtype: torch.dtype
) -> None:
    """BLK-001: real in, real out of the input's dtype, for every H, W >= 1."""
    conv = _conv(cin, cout, m)
    x = torch.randn(batch, cin, h, w, dtype=dtype)
    y = conv(x)
    assert y.shape == (batch, cout, h, w)
    assert y.dtype == dtype and not y.is_complex()
    assert torch.isfinite(y).all()


@settings(max_examples=40)
@given(
    cin=channels,
    cout=channels,
    m=modes,
    h=sizes,
    w=sizes,
    shift=st.tuples(st.integers(-20, 20), st.integers(-20, 20)),
)
def test_blk002_shift_equivariance(
    cin: int, cout: int, m: int, h: int, w: int, shift: tuple[int, int]
) -> None:
    """BLK-002: conv(roll(x)) == roll(conv(x)) for circular shifts."""
    conv = _conv(cin, cout, m).double()
    x = torch.randn(2, cin, h, w, dtype=torch.float64)
    rolled_then_conv = conv(torch.roll(x, shift, dims=(2, 3)))
    conv_then_rolled = torch.roll(conv(x), shift, dims=(2, 3))
    torch.testing.assert_close(rolled_then_conv, conv_then_rolled, rtol=1e-9, atol=1e-9)


def _kept_bins(m: int, h: int, w: int) -> set[tuple[int, int]]:
    """FFT bins (row, column) of the frequencies BLK-003 keeps, mirrors included.

    Derived from numpy's canonical frequencies, independently of impl: signed
    row frequencies in [-m, m) and column frequencies in [0, m) the grid holds.
    """
    rows = [int(k) for k in np.fft.fftfreq(h, 1.0 / h) if -m <= k < m]
    cols = [int(c) for c in np.fft.rfftfreq(w, 1.0 / w) if c < m]
    kept = {(k % h, c % w) for k in rows for c in cols}
    return kept | {((-k) % h, (-c) % w) for k, c in kept}


def _band_violations(
    make: Callable[[int, int, int], torch.nn.Module], m: int, h: int, w: int
) -> list[str]:
    """Send every plane wave of the grid through the conv; list BLK-003 violations."""
    torch.manual_seed(1)
    conv = make(1, 1, m).double()
    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    bins = [(k, c) for k in range(h) for c in range(w)]
    waves = torch.stack([torch.cos(2 * torch.pi * (k * yy / h + c * xx / w)) for k, c in bins])
    with torch.no_grad():
        spectra = torch.fft.fft2(conv(waves[:, None]))[:, 0].abs() / (h * w)
    kept = _kept_bins(m, h, w)
    problems = []
    for (k, c), spectrum in zip(bins, spectra, strict=True):
        present = {(int(r), int(q)) for r, q in torch.nonzero(spectrum > 1e-9).tolist()}
        outside = sorted(present - kept)
        if outside:
            problems.append(f"wave {(k, c)}: output at unkept bins {outside[:3]}")
        if (k, c) in kept and spectrum[k, c] < 1e-4:
            problems.append(f"wave {(k, c)}: no response at a kept frequency")
        if (k, c) not in kept and spectrum.max() > 1e-9:
            problems.append(f"wave {(k, c)}: response to an unkept frequency")
    return problems


@settings(max_examples=30)
@given(m=st.integers(1, 6), h=st.integers(1, 12), w=st.integers(1, 12))
def test_blk003_both_corners_and_nothing_else(m: int, h: int, w: int) -> None:
    """BLK-003: every kept frequency (negative rows included) passes; nothing else appears."""
    assert _band_violations(SpectralConv2d, m, h, w) == []


def test_blk003_detects_a_one_corner_conv() -> None:
    """BLK-003 check fails the upstream fallback that keeps only the non-negative corner."""
    problems = _band_violations(OneCornerSpectralConv2d, 3, 8, 8)
    assert any("no response at a kept frequency" in p for p in problems)


def test_mode_counts_match_numpy_frequencies() -> None:
    for m in range(1, 8):
        for h in range(1, 16):
            for w in range(1, 16):
                rows = np.fft.fftfreq(h, 1.0 / h)
                pos = int(((rows >= 0) & (rows < m)).sum())
                neg = int(((rows < 0) & (rows >= -m)).sum())
                cols = int((np.fft.rfftfreq(w, 1.0 / w) < m).sum())
                assert mode_counts(m, (h, w)) == (pos, neg, cols), (m, h, w)


@settings(max_examples=30)
@given(m=st.integers(1, 8), h=st.integers(1, 13), w=st.integers(1, 13))
def test_blk004_sized_conv_equals_full_conv_and_has_no_dead_weights(m: int, h: int, w: int) -> None:
    """BLK-004: built for (H, W) it keeps the same modes, and every weight gets gradient."""
    full = _conv(2, 3, m)
    sized = SpectralConv2d(2, 3, m, input_size=(h, w))
    pos, neg, cols = mode_counts(m, (h, w))
    assert sized.weight_pos.shape == (2, 3, pos, cols)
    with torch.no_grad():
        sized.weight_pos.copy_(full.weight_pos[:, :, :pos, :cols])
        if neg:
            assert sized.weight_neg is not None and full.weight_neg is not None
            assert sized.weight_neg.shape == (2, 3, neg, cols)
            sized.weight_neg.copy_(full.weight_neg[:, :, m - neg :, :cols])
        else:
            assert sized.weight_neg is None
    x = torch.randn(2, 2, h, w)
    torch.testing.assert_close(sized(x), full(x))
    (sized(x) * torch.randn(2, 3, h, w)).sum().backward()
    for name, p in sized.named_parameters():
        assert p.grad is not None and bool((p.grad.abs() > 0).all()), f"dead weights in {name}"


def test_full_allocation_has_dead_weights_on_small_grids() -> None:
    """Without input_size, a small grid leaves part of the weights unused (why BLK-004)."""
    conv = _conv(1, 1, 6)
    conv(torch.randn(1, 1, 4, 4)).sum().backward()
    assert conv.weight_pos.grad is not None
    assert bool((conv.weight_pos.grad == 0).any())


def test_weights_are_complex_with_unit_axis_one() -> None:
    conv = SpectralConv2d(3, 5, 4)
    assert conv.weight_pos.is_complex() and conv.weight_pos.shape == (3, 5, 4, 4)
    assert SpectralConv2d.AGC_UNIT_DIMS == {"weight_pos": 1, "weight_neg": 1}
    assert conv.weight_pos.abs().max() <= 2**0.5 / 15


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"in_channels": 0, "out_channels": 1, "modes": 1}, "in_channels=0"),
        ({"in_channels": 1, "out_channels": -2, "modes": 1}, "out_channels=-2"),
        ({"in_channels": 1, "out_channels": 1, "modes": 0}, "modes=0"),
        ({"in_channels": 1, "out_channels": 1, "modes": True}, "modes=True"),
        ({"in_channels": 1, "out_channels": 1, "modes": 2, "input_size": (4, 0)}, "input_size"),
        ({"in_channels": 1, "out_channels": 1, "modes": 2, "input_size": "8"}, "input_size"),
    ],
)
def test_bad_arguments_named(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("(", r"\(")):
        SpectralConv2d(**kwargs)  # type: ignore[arg-type]


def test_wrong_input_channels_named() -> None:
    with pytest.raises(ValueError, match=r"expects input \(B, 3, H, W\); got shape \(2, 4, 5, 5\)"):
        SpectralConv2d(3, 3, 2)(torch.randn(2, 4, 5, 5))
