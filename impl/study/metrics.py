"""Image metrics as upstream scores a reconstruction: SSIM, MAE, PSNR, FRC50, phase-plane removal.

>>> import torch
>>> from impl.study.metrics import frc50, psnr, ssim
>>> y = torch.rand(32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
>>> ssim(y, y), frc50(y, y)                       # the truth scores 1
(1.0, 1.0)
>>> flat = torch.full_like(y, float(y.mean()))
>>> ssim(flat, y) < 0.05, frc50(flat, y)          # a constant scores about 0
(True, 0.0)
>>> psnr(y + 0.01, y) > psnr(y + 0.1, y)
True

:func:`ssim` follows ``skimage.metrics.structural_similarity`` as upstream calls it
(7 x 7 uniform window, sample covariance, ``C1 = (0.01 L)²``, ``C2 = (0.03 L)²``,
mean over the positions where the window fits), with ``L`` the data range of the
*truth* (its max - min; 1 when it is constant); checked against values scikit-image
0.26.0 computed (``tests/test_study_metrics.py``). :func:`psnr` is ``10 log10(L² / MSE)``
with the same ``L`` (None when the images are equal: infinite). :func:`frc50` is where
the Fourier ring correlation of the two images (each with its mean removed and a Hann
window applied, so that the image edges do not correlate) first drops below 0.5, as a
fraction of the Nyquist frequency: 1 when it never does, 0 when it does in the first
ring. :func:`remove_phase_plane` subtracts the least-squares plane ``a + b x + c y``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["data_range", "frc", "frc50", "mae", "psnr", "remove_phase_plane", "ssim"]

WINDOW = 7
K1, K2 = 0.01, 0.03


def _pair(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(
            f"x and y must be 2-D images of one shape; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.is_complex() or y.is_complex():
        raise ValueError("images must be real: take abs() or angle() first")
    return x.to(torch.float64), y.to(torch.float64)


def data_range(truth: Tensor) -> float:
    """max - min of the truth (1.0 when it is constant)."""
    span = float(truth.max() - truth.min())
    return span if span > 0 else 1.0


def ssim(x: Tensor, truth: Tensor, window: int = WINDOW) -> float:
    """SSIM of ``x`` against ``truth`` (2-D), skimage's conventions (see the module)."""
    x, y = _pair(x, truth)
    if window % 2 == 0 or window > min(x.shape):
        raise ValueError(f"window={window}: must be odd and at most the image side {min(x.shape)}")
    L = data_range(y)
    kernel = torch.full((1, 1, window, window), 1.0 / window**2, dtype=torch.float64)
    n = window**2
    cov = n / (n - 1)

    def mean(t: Tensor) -> Tensor:
        return F.conv2d(t[None, None], kernel)[0, 0]

    ux, uy = mean(x), mean(y)
    vx = cov * (mean(x * x) - ux * ux)
    vy = cov * (mean(y * y) - uy * uy)
    vxy = cov * (mean(x * y) - ux * uy)
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s.mean())


def mae(x: Tensor, truth: Tensor) -> float:
    """Mean absolute error."""
    x, y = _pair(x, truth)
    return float((x - y).abs().mean())


def psnr(x: Tensor, truth: Tensor) -> float | None:
    """``10 log10(L² / MSE)`` with L the truth's data range; None when MSE is 0."""
    x, y = _pair(x, truth)
    mse = float((x - y).square().mean())
    return None if mse == 0 else 10 * math.log10(data_range(y) ** 2 / mse)


def _hann(n: int) -> Tensor:
    return torch.hann_window(n, periodic=False, dtype=torch.float64)


def frc(x: Tensor, truth: Tensor) -> Tensor:
    """Fourier ring correlation per integer ring 0 .. side // 2 of two square images.

    A ring where either image has no power (below 1e-20 of the truth's total, i.e. rounding
    noise) correlates 0.
    """
    x, y = _pair(x, truth)
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"frc needs square images; got {tuple(x.shape)}")
    n = x.shape[0]
    w = _hann(n)[:, None] * _hann(n)[None, :]
    fx = torch.fft.fftshift(torch.fft.fft2((x - x.mean()) * w))
    fy = torch.fft.fftshift(torch.fft.fft2((y - y.mean()) * w))
    k = torch.arange(n, dtype=torch.float64) - n // 2
    ring = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2).round().long().reshape(-1)
    keep = ring <= n // 2
    ring = ring[keep]

    def ring_sum(v: Tensor) -> Tensor:
        return torch.zeros(n // 2 + 1, dtype=torch.float64).index_add_(0, ring, v.reshape(-1)[keep])

    cross = ring_sum((fx * fy.conj()).real)
    px, py = ring_sum(fx.abs().square()), ring_sum(fy.abs().square())
    floor = 1e-20 * float(py.sum())
    valid = (px > floor) & (py > floor)
    value = cross / (px * py).clamp_min(1e-300).sqrt()
    return torch.where(valid, value, torch.zeros_like(value))


def frc50(x: Tensor, truth: Tensor) -> float:
    """The frequency (fraction of Nyquist) below which the FRC stays >= 0.5 (ring 0 excluded)."""
    curve = frc(x, truth)[1:]
    below = (curve < 0.5).nonzero()
    last_good = int(below[0]) if below.numel() else curve.numel()
    return last_good / curve.numel()


def remove_phase_plane(phase: Tensor) -> Tensor:
    """``phase`` (2-D) minus its least-squares plane ``a + b x + c y``."""
    h, w = phase.shape
    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    basis = torch.stack([torch.ones_like(xx), xx, yy], dim=-1).reshape(-1, 3)
    p = phase.to(torch.float64).reshape(-1, 1)
    coef = torch.linalg.lstsq(basis, p).solution
    return (p - basis @ coef).reshape(h, w)
