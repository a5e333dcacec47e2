"""impl.metrics: SSIM against a float64 NumPy reference and its known properties; amplitude MAE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.metrics import amplitude_mae, reconstruction_metrics, ssim


def ssim_numpy(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """Independent float64 SSIM (Wang et al. 2004): explicit sliding Gaussian window, valid only."""
    size = min(11, *x.shape)
    if size % 2 == 0:
        size -= 1
    half = (size - 1) / 2
    g = np.exp(-((np.arange(size) - half) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(x.shape[0] - size + 1):
        for j in range(x.shape[1] - size + 1):
            a, b = x[i : i + size, j : j + size], y[i : i + size, j : j + size]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cab = (w * (a - ma) * (b - mb)).sum()
            values.append(
                ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(values))


@settings(max_examples=15)
@given(
    h=st.integers(5, 16),
    w=st.integers(5, 16),
    seed=st.integers(0, 2**16),
    noise=st.floats(0.0, 1.0),
)
def test_ssim_matches_numpy_reference(h: int, w: int, seed: int, noise: float) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random((h, w))
    x = y + noise * rng.standard_normal((h, w))
    span = float(y.max() - y.min())
    expected = ssim_numpy(x, y, span)
    got = float(ssim(torch.from_numpy(x), torch.from_numpy(y)))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ssim_of_identical_images_is_one_and_symmetric() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 20, 20, generator=gen, dtype=torch.float64)
    y = torch.rand(3, 20, 20, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(ssim(x, x), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(ssim(x, y, 1.0), ssim(y, x, 1.0))
    assert bool((ssim(x, y, 1.0) < 0.5).all())


def test_ssim_decreases_with_noise() -> None:
    gen = torch.Generator().manual_seed(2)
    y = torch.rand(24, 24, generator=gen, dtype=torch.float64)
    noise = torch.randn(24, 24, generator=gen, dtype=torch.float64)
    scores = [float(ssim(y + s * noise, y)) for s in (0.0, 0.05, 0.2, 0.8)]
    assert scores[0] == pytest.approx(1.0)
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.3


def test_ssim_batch_shape_and_errors() -> None:
    x = torch.rand(2, 3, 9, 9)
    assert ssim(x, x).shape == (2, 3)
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[..., :8])
    with pytest.raises(ValueError, match="real"):
        ssim(x.to(torch.complex64), x.to(torch.complex64))


def test_amplitude_mae() -> None:
    p = torch.tensor([3 + 4j, 1 + 0j])
    t = torch.tensor([0 + 1j, 0 + 2j])
    assert float(amplitude_mae(p, t)) == pytest.approx((4 + 1) / 2)


def test_reconstruction_metrics_detect_phase_error_and_ignore_global_phase() -> None:
    gen = torch.Generator().manual_seed(3)
    amp = 0.5 + torch.rand(2, 16, 16, generator=gen)
    phase = torch.rand(2, 16, 16, generator=gen)
    truth = torch.polar(amp, phase)
    same = reconstruction_metrics(truth * complex(math.cos(2.0), math.sin(2.0)), truth)
    assert same["phase_ssim"] == pytest.approx(1.0) and same["amp_ssim"] == pytest.approx(1.0)
    flat = reconstruction_metrics(torch.polar(amp, torch.zeros_like(phase)), truth)
    assert flat["amp_ssim"] == pytest.approx(1.0) and flat["phase_ssim"] < 0.5
    with pytest.raises(ValueError, match="complex"):
        reconstruction_metrics(amp, amp)
