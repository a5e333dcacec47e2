"""Fourier helpers of the study: far-field intensity and Gaussian blurs.

>>> import torch
>>> from impl.study.fourier import diffraction_intensity, gaussian_blur
>>> psi = torch.ones(4, 4, dtype=torch.complex64)
>>> diffraction_intensity(psi)[2, 2].item()  # all energy (16) at the centred zero frequency
16.0
>>> round(float(gaussian_blur(torch.ones(8, 8, dtype=torch.float64), (2.0,)).mean()), 12)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["diffraction_intensity", "gaussian_blur"]


def diffraction_intensity(exit_waves: Tensor) -> Tensor:
    """Far-field intensity ``|FFT2(psi)|²`` of (..., N, N): orthonormal, zero frequency centred.

    Energy is conserved: the intensities of a pattern sum to ``sum |psi|²``.
    """
    spectrum = torch.fft.fftshift(torch.fft.fft2(exit_waves, norm="ortho"), dim=(-2, -1))
    return spectrum.real.square() + spectrum.imag.square()


def gaussian_blur(
    image: Tensor, sigmas: Sequence[float], weights: Sequence[float] | None = None
) -> Tensor:
    """``sum_k w_k * (image * G_sigma_k)`` for real (..., H, W), periodic boundaries (by FFT).

    Each Gaussian is normalised to sum 1, so a constant image maps to ``sum(w) * image``.
    """
    weights = [1.0] * len(sigmas) if weights is None else list(weights)
    if len(weights) != len(sigmas):
        raise ValueError(f"{len(sigmas)} sigmas but {len(weights)} weights")
    h, w = image.shape[-2:]
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    f2 = fy.square() + fx.square()
    transfer = sum(
        float(wk) * torch.exp(-2 * math.pi**2 * float(s) ** 2 * f2)
        for s, wk in zip(sigmas, weights, strict=True)
    )
    spectrum = torch.fft.fft2(image.to(torch.float64)) * transfer
    return torch.fft.ifft2(spectrum).real
