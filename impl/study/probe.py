"""The probe: a diffuser-like structured probe by default, or one loaded from a file.

>>> from impl.study.probe import make_probe
>>> p = make_probe(32)                      # Gaussian amplitude (std N/8) x phase screen
>>> p.dtype, tuple(p.shape), round(float(p.abs().max()), 2)
(torch.complex64, (32, 32), 0.98)
>>> round(float(p.angle()[p.abs() > 0.5].std()), 1) > 1.0   # a strongly structured phase
True

``diffuser``: amplitude ``exp(-r² / (2 (N/8)²))`` about the array centre
``((N-1)/2, (N-1)/2)``, times ``exp(i s)`` with ``s`` white noise (seeded by
``probe_seed``) blurred by a Gaussian of ``probe_correlation`` px and scaled to
standard deviation ``probe_phase_std`` rad. ``gaussian``: the same amplitude with a
weak quadratic phase ``pi r² / N²`` — centro-symmetric up to a smooth phase, so its
twin image fits the data (see :mod:`impl.study.wellposed`). A file (``.npy``, or
``.npz`` holding one array or one named ``probe``) must hold a complex (N, N) array
with finite values and some non-zero amplitude; its overall scale does not matter
(the photon count sets the dose).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

import spec
from impl.study.fourier import gaussian_blur

__all__ = ["ProbeError", "load_probe", "make_probe", "probe_for"]


class ProbeError(ValueError):
    """A probe file that cannot be used (the message names the file and what is wrong)."""


def make_probe(
    N: int,
    kind: str = "diffuser",
    *,
    phase_std: float = math.pi,
    correlation: float = 1.5,
    seed: int = 0,
) -> Tensor:
    """A built-in (N, N) complex64 probe; amplitude 1 at the centre ``(N-1)/2``."""
    coords = torch.arange(N, dtype=torch.float64) - (N - 1) / 2
    r2 = coords[:, None] ** 2 + coords[None, :] ** 2
    amplitude = torch.exp(-r2 / (2 * (N / 8) ** 2))
    if kind == "gaussian":
        phase = math.pi * r2 / N**2
    elif kind == "diffuser":
        noise = torch.randn(
            N, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        )
        screen = gaussian_blur(noise, (correlation,))
        phase = phase_std * (screen - screen.mean()) / screen.std().clamp_min(1e-30)
    else:
        raise ValueError(f"probe kind {kind!r}: allowed are {list(spec.PROBE_KINDS)}")
    return torch.polar(amplitude, phase).to(torch.complex64)


def _read_array(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise ProbeError(
            f"{path}: a probe file must be .npy or .npz, not {suffix or 'no suffix'!r}"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ProbeError(f"{path}: cannot read the probe ({exc})") from exc
    if suffix == ".npy":
        return np.asarray(loaded)
    with loaded:
        names = list(loaded.files)
        if "probe" in names:
            return np.asarray(loaded["probe"])
        if len(names) == 1:
            return np.asarray(loaded[names[0]])
    raise ProbeError(f"{path}: an .npz probe must hold one array or one named 'probe'; has {names}")


def load_probe(path: str | Path, N: int) -> Tensor:
    """The complex (N, N) probe in ``path`` as complex64; :class:`ProbeError` naming the problem."""
    path = Path(path)
    array = _read_array(path)
    if not np.iscomplexobj(array):
        raise ProbeError(f"{path}: the probe must be a complex array, got dtype {array.dtype}")
    if array.shape != (N, N):
        raise ProbeError(f"{path}: the probe must have shape ({N}, {N}) (N={N}), got {array.shape}")
    if not np.isfinite(array).all():
        raise ProbeError(f"{path}: the probe holds non-finite values")
    if not np.abs(array).max() > 0:
        raise ProbeError(f"{path}: the probe is zero everywhere")
    return torch.from_numpy(array.astype(np.complex64))


def probe_for(data: spec.DataConfig, N: int) -> Tensor:
    """The probe a data config asks for: its ``probe_file`` if set, else the built-in kind."""
    if data.probe_file is not None:
        return load_probe(data.probe_file, N)
    return make_probe(
        N,
        data.probe,
        phase_std=data.probe_phase_std,
        correlation=data.probe_correlation,
        seed=data.probe_seed,
    )
