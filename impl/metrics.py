"""Reconstruction quality: SSIM of amplitude and phase, amplitude MAE (torch, no extra dependency).

>>> import torch
>>> from impl.metrics import ssim
>>> x = torch.rand(2, 16, 16, dtype=torch.float64)
>>> round(float(ssim(x, x).mean()), 6)
1.0
>>> bool((ssim(x, x + 0.3 * torch.randn_like(x)) < 0.9).all())
True

:func:`ssim` is the SSIM of Wang et al. (2004): means, variances and
covariance under an 11 x 11 Gaussian window of standard deviation 1.5 (the
window shrinks to the image's smaller side, kept odd, for images under 11
pixels), ``C1 = (0.01 L)²``, ``C2 = (0.03 L)²`` with ``L`` the data range,
valid positions only (no padding), averaged over the image. The data range
is given, or taken per image from the reference ``y`` (max - min; 1 when
``y`` is constant).

:func:`reconstruction_metrics` compares predicted and true complex patches:
amplitude SSIM and MAE on ``|o|``; phase SSIM on ``angle(o)`` after removing
each patch's mean phase from both (a global phase is not observable from
diffraction intensities).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["amplitude_mae", "gaussian_window", "reconstruction_metrics", "ssim"]

K1, K2 = 0.01, 0.03
WINDOW, SIGMA = 11, 1.5


def gaussian_window(size: int, sigma: float = SIGMA, dtype: torch.dtype = torch.float64) -> Tensor:
    """Normalised 2-D Gaussian window (size, size), summing to 1.

    >>> round(float(gaussian_window(5).sum()), 12)
    1.0
    """
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).to(dtype)


def _as_images(name: str, t: Tensor) -> Tensor:
    if not isinstance(t, Tensor) or t.ndim < 2:
        raise ValueError(f"{name} must be a tensor (..., H, W); got {getattr(t, 'shape', t)!r}")
    if t.is_complex():
        raise ValueError(f"{name} must be real (take abs() or angle() first); got {t.dtype}")
    return t.reshape(-1, 1, *t.shape[-2:])


def ssim(x: Tensor, y: Tensor, data_range: float | Tensor | None = None) -> Tensor:
    """SSIM of each image in ``x`` (..., H, W) against the reference ``y``; shape (...).

    Computed in float64 at least.
    """
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    batch_shape = x.shape[:-2]
    xi, yi = _as_images("x", x), _as_images("y", y)
    dtype = torch.promote_types(torch.promote_types(xi.dtype, yi.dtype), torch.float64)
    xi, yi = xi.to(dtype), yi.to(dtype)
    size = min(WINDOW, *xi.shape[-2:])
    size -= 1 - size % 2  # odd
    window = gaussian_window(size, dtype=dtype).to(xi.device)[None, None]
    if data_range is None:
        span = yi.amax(dim=(-2, -1)) - yi.amin(dim=(-2, -1))  # (n, 1)
        L = torch.where(span > 0, span, torch.ones_like(span))[..., None, None]
    else:
        L = torch.as_tensor(data_range, dtype=dtype, device=xi.device)
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, window)

    mx, my = blur(xi), blur(yi)
    vx = blur(xi * xi) - mx * mx
    vy = blur(yi * yi) - my * my
    cxy = blur(xi * yi) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return index.mean(dim=(-3, -2, -1)).reshape(batch_shape)


def amplitude_mae(prediction: Tensor, truth: Tensor) -> Tensor:
    """Mean absolute error of the amplitudes of two complex tensors (a 0-dim tensor).

    >>> import torch
    >>> float(amplitude_mae(torch.tensor([3 + 4j]), torch.tensor([1j])))
    4.0
    """
    return (prediction.abs() - truth.abs()).abs().mean()


def _centred_phase(o: Tensor) -> Tensor:
    """angle(o) with each patch's mean phase (as a unit phasor) removed, wrapped to (-pi, pi]."""
    mean = o.sum(dim=(-2, -1), keepdim=True)
    rotated = o * torch.exp(-1j * torch.angle(mean))
    return torch.angle(rotated)


def reconstruction_metrics(prediction: Tensor, truth: Tensor) -> dict[str, float]:
    """``amp_ssim``, ``phase_ssim``, ``amp_mae`` of complex patches (..., H, W), averaged.

    >>> import torch
    >>> o = torch.polar(torch.rand(2, 12, 12) + 0.5, torch.rand(2, 12, 12))
    >>> m = reconstruction_metrics(o * torch.exp(torch.tensor(0.7j)), o)  # global phase only
    >>> round(m["amp_ssim"], 6), round(m["phase_ssim"], 6), round(m["amp_mae"], 6)
    (1.0, 1.0, 0.0)
    """
    if not (prediction.is_complex() and truth.is_complex()) or prediction.shape != truth.shape:
        raise ValueError(
            "prediction and truth must be complex tensors of one shape; got "
            f"{prediction.dtype} {tuple(prediction.shape)} and {truth.dtype} {tuple(truth.shape)}"
        )
    p, t = prediction.to(torch.complex128), truth.to(torch.complex128)
    values = {
        "amp_ssim": ssim(p.abs(), t.abs()).mean(),
        "phase_ssim": ssim(_centred_phase(p), _centred_phase(t)).mean(),
        "amp_mae": amplitude_mae(p, t),
    }
    out = {k: float(v) for k, v in values.items()}
    return {k: (v if math.isfinite(v) else math.nan) for k, v in out.items()}
