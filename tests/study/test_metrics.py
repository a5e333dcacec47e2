"""Upstream-style scoring (impl.study.metrics, impl.study.evaluate): SSIM as scikit-image computes
it, MAE, PSNR, FRC50, phase-plane removal, and the stitched evaluation of test objects.

Clauses: RUN-013 (evaluation as upstream: stitched, amplitude rescaled to the truth's mean, phase
plane removed; a constant prediction scores about 0, the truth 1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spec
from impl.study import metrics
from impl.study.data import make_study_data
from impl.study.evaluate import score


def image(h: int, w: int, a: float, b: float, c: float) -> torch.Tensor:
    i = torch.arange(h, dtype=torch.float64)[:, None]
    j = torch.arange(w, dtype=torch.float64)[None, :]
    return 0.5 + 0.3 * torch.sin(a * i + b * j) + 0.2 * torch.cos(c * i * j / h)


# Computed with scikit-image 0.26.0 (numpy 2.4.6, scipy 1.17.1) in a separate environment:
#   structural_similarity(x, y, win_size=7, data_range=y.max() - y.min())
#   peak_signal_noise_ratio(y, x, data_range=y.max() - y.min())
# for x = image(*args_x), y = image(*args_y) as defined above (not by the code under test).
SKIMAGE_VALUES = [
    ((20, 20, 0.7, 0.3, 1.1), (20, 20, 0.6, 0.35, 1.0), 0.7469186756685777, 14.764564078578744),
    ((33, 17, 1.3, 0.2, 0.5), (33, 17, 1.3, 0.25, 0.45), 0.9099560864198061, 19.55647221171772),
    ((16, 24, 0.2, 0.9, 2.0), (16, 24, 2.1, 0.1, 0.3), 0.04239439246038317, 8.697545270225957),
]


@pytest.mark.parametrize(("args_x", "args_y", "expected_ssim", "expected_psnr"), SKIMAGE_VALUES)
def test_ssim_and_psnr_match_scikit_image(
    args_x: tuple[int, int, float, float, float],
    args_y: tuple[int, int, float, float, float],
    expected_ssim: float,
    expected_psnr: float,
) -> None:
    x, y = image(*args_x), image(*args_y)
    assert metrics.ssim(x, y) == pytest.approx(expected_ssim, rel=1e-12)
    assert metrics.psnr(x, y) == pytest.approx(expected_psnr, rel=1e-12)


def ssim_numpy(x: np.ndarray, y: np.ndarray) -> float:
    """Independent float64 SSIM: an explicit 7 x 7 sliding window, sample statistics."""
    L = float(y.max() - y.min()) or 1.0
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    values = []
    for i in range(x.shape[0] - 6):
        for j in range(x.shape[1] - 6):
            a, b = x[i : i + 7, j : j + 7].ravel(), y[i : i + 7, j : j + 7].ravel()
            va, vb = a.var(ddof=1), b.var(ddof=1)
            cab = np.cov(a, b, ddof=1)[0, 1]
            ma, mb = a.mean(), b.mean()
            values.append(
                ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(values))


@settings(max_examples=10, deadline=None)
@given(
    h=st.integers(7, 14), w=st.integers(7, 14), seed=st.integers(0, 2**16), noise=st.floats(0, 1)
)
def test_ssim_matches_a_sliding_window_reference(h: int, w: int, seed: int, noise: float) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random((h, w))
    x = y + noise * rng.standard_normal((h, w))
    assert metrics.ssim(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        ssim_numpy(x, y), rel=1e-9, abs=1e-12
    )


def test_truth_scores_one_constant_about_zero_noise_in_between() -> None:
    y = torch.rand(48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    flat = torch.full_like(y, float(y.mean()))
    noisy = y + 0.1 * torch.randn(
        48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    assert metrics.ssim(y, y) == 1.0 and metrics.frc50(y, y) == 1.0 and metrics.psnr(y, y) is None
    assert abs(metrics.ssim(flat, y)) < 0.05 and metrics.frc50(flat, y) == 0.0
    assert 0.05 < metrics.ssim(noisy, y) < 1.0
    assert metrics.mae(y + 0.25, y) == pytest.approx(0.25)
    assert metrics.psnr(y + 0.1, y) == pytest.approx(
        10 * math.log10(metrics.data_range(y) ** 2 / 0.01)
    )


def test_frc50_falls_as_noise_drowns_the_finer_scales() -> None:
    """An object whose power falls with frequency, plus white noise: FRC50 moves down with noise."""
    gen = torch.Generator().manual_seed(3)
    k = torch.fft.fftfreq(64, dtype=torch.float64)
    f2 = k[:, None] ** 2 + k[None, :] ** 2
    white = torch.rand(64, 64, dtype=torch.float64, generator=gen)
    y = torch.fft.ifft2(torch.fft.fft2(white) * torch.exp(-2 * math.pi**2 * 1.5**2 * f2)).real
    noise = torch.randn(64, 64, dtype=torch.float64, generator=gen)
    scores = [metrics.frc50(y + s * noise, y) for s in (1e-4, 1e-3, 1e-2)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.0
    curve = metrics.frc(y, y)
    assert curve.shape == (33,) and torch.allclose(curve[1:], torch.ones(32, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        metrics.frc(y[:, :32], y[:, :32])


def test_phase_plane_is_removed() -> None:
    grid = (torch.arange(20, dtype=torch.float64), torch.arange(24, dtype=torch.float64))
    yy, xx = torch.meshgrid(*grid, indexing="ij")
    pattern = torch.sin(xx / 3) * torch.cos(yy / 4)
    tilted = pattern + 0.3 + 0.05 * xx - 0.02 * yy
    torch.testing.assert_close(
        metrics.remove_phase_plane(tilted), metrics.remove_phase_plane(pattern)
    )
    assert float(metrics.remove_phase_plane(0.7 + 0.1 * xx).abs().max()) < 1e-9


def test_bad_images_are_named() -> None:
    x = torch.rand(8, 8)
    with pytest.raises(ValueError, match="one shape"):
        metrics.ssim(x, x[:, :7])
    with pytest.raises(ValueError, match="real"):
        metrics.ssim(x.to(torch.complex64), x.to(torch.complex64))
    with pytest.raises(ValueError, match="window=9"):
        metrics.ssim(x, x, window=9)


def phase_task() -> spec.StudyConfig:
    return spec.StudyConfig(
        model=spec.ModelConfig(N=16, gridsize=1),
        data=spec.DataConfig(object_size=48, scan_stride=4, set_phi=True, n_test_objects=2),
    )


def test_stitched_truth_scores_one_whatever_its_scale_and_global_phase() -> None:
    data = make_study_data(phase_task())
    truth = data.test_patches()
    scores, stitched = score(truth * 0.3 * complex(math.cos(2.5), math.sin(2.5)), data)
    for part in ("amp", "phase"):
        assert scores[f"{part}_ssim"] == pytest.approx(1.0) and scores[f"{part}_frc50"] == 1.0
        assert scores[f"{part}_mae"] == pytest.approx(0.0, abs=1e-6)
    # a random phase per patch is a defect the stitched phase shows (the amplitude does not)
    gauge = torch.exp(
        1j * torch.rand(truth.shape[0], generator=torch.Generator().manual_seed(0)) * 6
    )
    scrambled, _ = score(truth * gauge[:, None, None, None], data)
    assert scrambled["amp_ssim"] == pytest.approx(1.0) and scrambled["phase_ssim"] < 0.5
    assert len(stitched) == 2 and stitched[0]["amplitude"].shape == (40, 40)  # region 4..44
    torch.testing.assert_close(
        stitched[0]["true_amplitude"], data.test_objects[0, 4:44, 4:44].abs()
    )


def test_stitched_constant_scores_about_zero_and_a_phase_tilt_is_not_scored() -> None:
    data = make_study_data(phase_task())
    truth = data.test_patches()
    flat, _ = score(torch.full_like(truth, 0.5 + 0j), data)
    assert flat["amp_ssim"] < 0.1 and flat["amp_frc50"] == 0.0
    assert flat["phase_ssim"] < 0.1 and flat["phase_frc50"] == 0.0
    # a phase ramp across the object (a plane) leaves the phase score at 1
    pos = data.test.positions[:, 0].double()
    y = pos[:, 0, None, None] + torch.arange(16.0)[None, :, None]
    x = pos[:, 1, None, None] + torch.arange(16.0)[None, None, :]
    ramp = torch.exp(1j * (0.02 * x - 0.01 * y))[:, None]
    tilted, _ = score(truth * ramp, data)
    assert tilted["phase_ssim"] == pytest.approx(1.0, abs=1e-6)
    # the twin (point-reflected patches) is not the object
    twin, _ = score(torch.flip(truth, (-2, -1)).conj(), data)
    assert twin["amp_ssim"] < 0.5


def test_without_set_phi_phase_scores_are_none_and_shapes_are_checked() -> None:
    cfg = phase_task()
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"set_phi": False})})
    data = make_study_data(cfg)
    scores, _ = score(data.test_patches(), data)
    assert scores["phase_ssim"] is None and scores["amp_ssim"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="test groups need"):
        score(data.test_patches()[:3], data)
