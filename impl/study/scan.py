"""Scan geometry: patch positions, cutting patches, the overlap constraint and stitching.

>>> import torch
>>> from impl.study.scan import ScanGrid, extract, stitch
>>> grid = ScanGrid(N=8, gridsize=1, spacing=2, stride=4, object_size=16)
>>> grid.groups_per_side, tuple(grid.positions().shape)      # 3 x 3 groups of one patch
(3, (9, 1, 2))
>>> obj = torch.arange(256, dtype=torch.float64).reshape(16, 16)
>>> patches = extract(obj, grid.positions(), 8)               # (groups, C, N, N)
>>> image, region = stitch(patches.reshape(-1, 8, 8), grid.positions().reshape(-1, 2), 16, 4)
>>> region, torch.equal(image, obj[2:14, 2:14])                # central 4 x 4 windows tile it
(slice(2, 14, None), True)

A *group* is ``gridsize x gridsize`` patches of side ``N`` whose top-left corners are
``(i * spacing, j * spacing)`` from the group's origin (channel ``c = i * gridsize + j``);
origins lie on a regular grid of pitch ``stride`` over every place where the group
fits in the object. With ``gridsize > 1`` the generator predicts all C patches of a
group at once, and :func:`merge_groups` applies the overlap constraint: the patches
are placed at their offsets, averaged where they overlap, and cut back out, so the
forward model sees one consistent object (upstream translates and averages the same
way). :func:`stitch` rebuilds an object from patches by averaging each patch's
central ``window x window`` pixels into place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

import spec

__all__ = ["ScanGrid", "extract", "merge_groups", "stitch"]


@dataclass(frozen=True)
class ScanGrid:
    """Where the patches of one object are cut (all lengths in pixels)."""

    N: int
    gridsize: int
    spacing: int
    """Offset between neighbouring patches of a group."""
    stride: int
    """Pitch of the grid of group origins."""
    object_size: int

    @classmethod
    def of(cls, config: spec.StudyConfig) -> ScanGrid:
        """The scan of a study config."""
        return cls(
            N=config.model.N,
            gridsize=config.model.gridsize,
            spacing=config.group_spacing,
            stride=config.data.scan_stride,
            object_size=config.data.object_size,
        )

    @property
    def C(self) -> int:
        return self.gridsize**2

    @property
    def extent(self) -> int:
        """Side of the region one group covers."""
        return self.N + (self.gridsize - 1) * self.spacing

    @property
    def groups_per_side(self) -> int:
        return (self.object_size - self.extent) // self.stride + 1

    def offsets(self) -> Tensor:
        """(C, 2) int64: each patch's top-left corner relative to its group's origin."""
        steps = torch.arange(self.gridsize) * self.spacing
        return torch.cartesian_prod(steps, steps).reshape(self.C, 2)

    def positions(self, every: int = 1) -> Tensor:
        """(groups, C, 2) int64 top-left corners, groups in row-major order.

        ``every=k`` keeps every k-th origin along each axis (pitch ``k * stride``).
        """
        origins = torch.arange(0, self.groups_per_side, every) * self.stride
        grid = torch.cartesian_prod(origins, origins).reshape(-1, 1, 2)
        return grid + self.offsets()[None]


def extract(obj: Tensor, positions: Tensor, N: int) -> Tensor:
    """Patches (*positions.shape[:-1], N, N) of ``obj`` (M, M) at top-left ``positions``."""
    flat = positions.reshape(-1, 2)
    rows = flat[:, 0, None] + torch.arange(N)  # (P, N)
    cols = flat[:, 1, None] + torch.arange(N)
    patches = obj[rows[:, :, None], cols[:, None, :]]
    return patches.reshape(*positions.shape[:-1], N, N)


def merge_groups(patches: Tensor, grid: ScanGrid) -> Tensor:
    """The overlap constraint: (B, C, N, N) -> the same patches cut from their average."""
    if grid.C == 1:
        return patches
    B, E, N = patches.shape[0], grid.extent, grid.N
    canvas = patches.new_zeros(B, E, E)
    count = torch.zeros(E, E, dtype=torch.float32, device=patches.device)
    offsets = grid.offsets().tolist()
    for c, (oy, ox) in enumerate(offsets):
        canvas[:, oy : oy + N, ox : ox + N] += patches[:, c]
        count[oy : oy + N, ox : ox + N] += 1.0
    merged = canvas / count
    return torch.stack([merged[:, oy : oy + N, ox : ox + N] for oy, ox in offsets], dim=1)


def stitch(
    values: Tensor, positions: Tensor, object_size: int, window: int
) -> tuple[Tensor, slice]:
    """Average each real patch's central ``window`` x ``window`` into an (M, M) object.

    ``values`` (P, N, N), ``positions`` (P, 2). Returns the object cropped to the square
    region every window reaches (float64) and that region as a slice of rows and columns.
    """
    N = values.shape[-1]
    q = (N - window) // 2
    span = torch.arange(window)
    rows = positions[:, 0, None] + q + span  # (P, w)
    cols = positions[:, 1, None] + q + span
    index = (rows[:, :, None] * object_size + cols[:, None, :]).reshape(-1)
    inner = values[:, q : q + window, q : q + window].reshape(-1).to(torch.float64)
    total = torch.zeros(object_size * object_size, dtype=torch.float64).index_add_(0, index, inner)
    count = torch.zeros(object_size * object_size, dtype=torch.float64).index_add_(
        0, index, torch.ones_like(inner)
    )
    lo = int(positions.min()) + q
    hi = int(positions.max()) + q + window
    region = slice(lo, hi)
    image = (total / count.clamp_min(1.0)).reshape(object_size, object_size)[region, region]
    return image, region
