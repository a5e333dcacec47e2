"""The synthetic grid-lines coherent-diffraction task of the Stage A study.

>>> from impl.synthetic import make_grid_lines
>>> data = make_grid_lines(n_samples=3, N=16, gridsize=2, nphotons=1e6, set_phi=True, seed=0)
>>> tuple(data.inputs.shape), tuple(data.objects.shape), tuple(data.probe.shape)
((3, 4, 16, 16), (3, 16, 16, 4, 2), (16, 16))
>>> bool((data.counts >= 0).all()), float(data.counts.sum(dim=(2, 3)).mean()) > 0.9e6
(True, True)

For each sample an object of side ``M = N + (gridsize - 1) * (N // 4)`` is drawn:
its amplitude is ``0.5 + 0.5 * L_a`` and its phase ``(pi / 3) * L_p`` (0
without ``set_phi``), where ``L_a`` and ``L_p`` are independent random grids of
soft lines (a random period between N/8 and 3N/8 and a random offset on each
axis, Gaussian line profile of width ~1 px; values in [0, 1]). ``gridsize²``
overlapping N x N patches are cut from it at a stride of N // 4 (channel
``c = i * gridsize + j`` for patch row i, column j). A fixed probe (a Gaussian
of standard deviation N/8 with a weak quadratic phase, so that the exit wave
lives in the central half of the patch and the N x N diffraction pattern
oversamples it about twice per axis) illuminates each patch;
the far-field intensity ``|FFT(probe * patch)|²`` (orthonormal FFT,
zero frequency centred) is scaled so that a pattern holds ``nphotons`` counts
on average over the data set, and Poisson noise is drawn with a seeded
``torch.Generator``. Everything is deterministic for a seed.

The generator sees the measured amplitude in object units,
``inputs = sqrt(counts / scale)`` (so without noise ``inputs = |FFT(probe * patch)|``);
its target is the patch itself as (real, imag).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["GridLinesData", "diffraction_intensity", "make_grid_lines", "make_probe"]


@dataclass(frozen=True)
class GridLinesData:
    """One synthetic data set (all tensors on the CPU)."""

    inputs: Tensor
    """Measured amplitudes ``sqrt(counts / scale)``, (S, C, N, N) float32: the generator input."""
    counts: Tensor
    """Poisson photon counts, (S, C, N, N) float32."""
    objects: Tensor
    """Ground-truth object patches, (S, N, N, C, 2) float32 (real, imag): the target."""
    probe: Tensor
    """The probe, (N, N) complex64."""
    scale: float
    """Counts per unit of ``|FFT(probe * patch)|²`` (sets the photon budget)."""

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, start: int, stop: int) -> GridLinesData:
        """Samples ``start:stop`` (same probe and scale)."""
        return GridLinesData(
            self.inputs[start:stop],
            self.counts[start:stop],
            self.objects[start:stop],
            self.probe,
            self.scale,
        )


def make_probe(N: int) -> Tensor:
    """The fixed probe: Gaussian amplitude (std N/8), quadratic phase; (N, N) complex64.

    >>> p = make_probe(9)  # odd N: a pixel sits on the centre
    >>> p.dtype, tuple(p.shape), round(float(p.abs().max()), 3)
    (torch.complex64, (9, 9), 1.0)
    """
    coords = torch.arange(N, dtype=torch.float64) - (N - 1) / 2
    r2 = coords[:, None] ** 2 + coords[None, :] ** 2
    amplitude = torch.exp(-r2 / (2 * (N / 8) ** 2))
    phase = 2 * math.pi * r2 / (2 * N**2)
    return torch.polar(amplitude, phase).to(torch.complex64)


def diffraction_intensity(exit_waves: Tensor) -> Tensor:
    """Far-field intensity ``|FFT2(psi)|²`` (orthonormal, zero frequency centred) of (..., N, N).

    >>> import torch
    >>> psi = torch.ones(4, 4, dtype=torch.complex64)
    >>> diffraction_intensity(psi)[2, 2].item()  # all energy (16) at the centred DC bin
    16.0
    """
    spectrum = torch.fft.fftshift(torch.fft.fft2(exit_waves, norm="ortho"), dim=(-2, -1))
    return spectrum.real.square() + spectrum.imag.square()


def _line_grids(gen: torch.Generator, samples: int, M: int, N: int) -> Tensor:
    """Random grids of soft lines in [0, 1], (samples, M, M), float64."""
    period = N / 8 + torch.rand(samples, 2, 1, generator=gen, dtype=torch.float64) * (N / 4)
    offset = torch.rand(samples, 2, 1, generator=gen, dtype=torch.float64) * period
    coords = torch.arange(M, dtype=torch.float64)[None, None, :]
    phase = torch.remainder(coords - offset, period)
    distance = torch.minimum(phase, period - phase)  # to the nearest line, per axis
    profile = torch.exp(-((distance / 0.8) ** 2))  # (samples, 2, M)
    rows, cols = profile[:, 0, :, None], profile[:, 1, None, :]
    return torch.maximum(rows, cols)


def _check(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r}: must be an int >= {minimum}")
    return value


def make_grid_lines(
    n_samples: int,
    N: int,
    gridsize: int,
    nphotons: float,
    set_phi: bool,
    seed: int,
) -> GridLinesData:
    """Draw ``n_samples`` grid-lines samples (deterministic for ``seed``).

    Raises:
        ValueError: a count below its minimum (n_samples >= 1, N >= 4, gridsize >= 1),
            or ``nphotons`` not a finite number > 0.
    """
    _check("n_samples", n_samples, 1)
    _check("N", N, 4)
    _check("gridsize", gridsize, 1)
    if not isinstance(nphotons, (int, float)) or not math.isfinite(nphotons) or nphotons <= 0:
        raise ValueError(f"nphotons={nphotons!r}: must be a finite number > 0")
    gen = torch.Generator().manual_seed(int(seed))
    step = max(1, N // 4)
    M = N + (gridsize - 1) * step
    amplitude = 0.5 + 0.5 * _line_grids(gen, n_samples, M, N)
    phase_grid = _line_grids(gen, n_samples, M, N)
    phase = (math.pi / 3) * phase_grid if set_phi else torch.zeros_like(phase_grid)
    obj = torch.polar(amplitude, phase)  # (S, M, M) complex128
    patches = torch.stack(
        [
            obj[:, i * step : i * step + N, j * step : j * step + N]
            for i in range(gridsize)
            for j in range(gridsize)
        ],
        dim=1,
    )  # (S, C, N, N)
    probe = make_probe(N)
    intensity = diffraction_intensity(patches * probe.to(torch.complex128))
    scale = float(nphotons) / float(intensity.sum(dim=(-2, -1)).mean())
    counts = torch.poisson(intensity * scale, generator=gen)
    inputs = torch.sqrt(counts / scale)
    objects = torch.view_as_real(patches.permute(0, 2, 3, 1).contiguous())  # (S, N, N, C, 2)
    return GridLinesData(
        inputs=inputs.to(torch.float32),
        counts=counts.to(torch.float32),
        objects=objects.to(torch.float32),
        probe=probe,
        scale=scale,
    )
