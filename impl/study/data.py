"""The study's data: diffraction patterns of grid-lines objects scanned by a fixed probe.

>>> import spec
>>> from impl.study.data import make_study_data
>>> cfg = spec.StudyConfig(
...     model=spec.ModelConfig(N=16, gridsize=1),
...     data=spec.DataConfig(object_size=32, scan_stride=8, n_train_objects=2),
... )
>>> data = make_study_data(cfg)
>>> tuple(data.train.inputs.shape), tuple(data.test.inputs.shape)   # 3 x 3 positions each
((18, 1, 16, 16), (9, 1, 16, 16))
>>> tuple(data.test_objects.shape), data.probe.dtype
((1, 32, 32), torch.complex64)

Objects (:func:`impl.study.objects.grid_lines`) are drawn from seeded generators:
training objects from ``seed``, test objects from their own stream (``seed + 2**32``),
so the test set does not change with ``n_train_objects``. Each group of patches
(:class:`impl.study.scan.ScanGrid`) is multiplied by the probe and propagated to
``|FFT(probe * patch)|²`` (:func:`impl.study.fourier.diffraction_intensity`); the
intensities are scaled so that a pattern holds ``nphotons`` counts on average
(the scale is the same for training and test patterns) and Poisson noise is drawn
from a third seeded stream (``seed + 2 * 2**32``). The generator sees the measured
amplitude in object units, ``sqrt(counts / scale)``; training never sees an object.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

import spec
from impl.study.fourier import diffraction_intensity
from impl.study.objects import grid_lines
from impl.study.probe import probe_for
from impl.study.scan import ScanGrid, extract

__all__ = ["PatternSet", "StudyData", "make_study_data"]

_STREAM = 2**32
_CHUNK = 512


@dataclass(frozen=True)
class PatternSet:
    """Measured diffraction of groups of patches, and where each group was cut."""

    inputs: Tensor
    """(S, C, N, N) float32 measured amplitudes ``sqrt(counts / scale)``: the generator input."""
    positions: Tensor
    """(S, C, 2) int64 top-left corner of every patch in its object."""
    object_index: Tensor
    """(S,) int64: which object of the set each group was cut from."""

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, index: Tensor) -> PatternSet:
        """The groups at ``index`` (a 1-D index tensor or boolean mask)."""
        return PatternSet(self.inputs[index], self.positions[index], self.object_index[index])


@dataclass(frozen=True)
class StudyData:
    """Training and test patterns, the test objects (the truth) and the probe."""

    train: PatternSet
    test: PatternSet
    test_objects: Tensor
    """(n_test_objects, M, M) complex128: the held-out objects the test patterns scan."""
    probe: Tensor
    """(N, N) complex64."""
    scale: float
    """Counts per unit of ``|FFT(probe * patch)|²``."""
    grid: ScanGrid
    set_phi: bool

    def test_patches(self, subset: PatternSet | None = None) -> Tensor:
        """(S, C, N, N) complex128 true patches of the test groups (or of ``subset``)."""
        patterns = self.test if subset is None else subset
        N = self.grid.N
        out = torch.empty(*patterns.positions.shape[:-1], N, N, dtype=self.test_objects.dtype)
        for k in patterns.object_index.unique().tolist():  # one object at a time: memory
            rows = patterns.object_index == k
            out[rows] = extract(self.test_objects[k], patterns.positions[rows], N)
        return out


def _objects(seed: int, count: int, config: spec.StudyConfig) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    d = config.data
    return torch.stack([grid_lines(gen, d.object_size, d.objects, d.set_phi) for _ in range(count)])


def _patterns(objects: Tensor, grid: ScanGrid, probe: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Noise-free intensities (S, C, N, N) float64, positions and object index, in chunks."""
    positions = grid.positions()
    p128 = probe.to(torch.complex128)
    intensities = []
    for obj in objects:
        for start in range(0, positions.shape[0], _CHUNK):
            patches = extract(obj, positions[start : start + _CHUNK], grid.N)
            intensities.append(diffraction_intensity(patches * p128))
    G = positions.shape[0]
    index = torch.arange(objects.shape[0]).repeat_interleave(G)
    return torch.cat(intensities), positions.repeat(objects.shape[0], 1, 1), index


def make_study_data(config: spec.StudyConfig, probe: Tensor | None = None) -> StudyData:
    """Draw the study's data as ``config`` says (deterministic for ``config.training.seed``).

    ``probe`` overrides the probe the config names (it must be (N, N) complex).
    """
    seed, d = config.training.seed, config.data
    grid = ScanGrid.of(config)
    probe = probe_for(d, grid.N) if probe is None else probe
    train_objects = _objects(seed, d.n_train_objects, config)
    test_objects = _objects(seed + _STREAM, d.n_test_objects, config)
    train_i, train_pos, train_idx = _patterns(train_objects, grid, probe)
    test_i, test_pos, test_idx = _patterns(test_objects, grid, probe)
    scale = config.training.nphotons / float(train_i.sum(dim=(-2, -1)).mean())
    noise = torch.Generator().manual_seed(seed + 2 * _STREAM)

    def measure(intensity: Tensor) -> Tensor:
        counts = torch.cat(
            [torch.poisson(c * scale, generator=noise) for c in intensity.split(_CHUNK)]
        )
        return torch.sqrt(counts / scale).to(torch.float32)

    return StudyData(
        train=PatternSet(measure(train_i), train_pos, train_idx),
        test=PatternSet(measure(test_i), test_pos, test_idx),
        test_objects=test_objects,
        probe=probe,
        scale=scale,
        grid=grid,
        set_phi=d.set_phi,
    )
