"""The Fourier-space convolution of an FNO layer, keeping both frequency corners.

>>> import torch
>>> from impl.spectral import SpectralConv2d
>>> conv = SpectralConv2d(3, 5, modes=4)
>>> conv(torch.randn(2, 3, 7, 9)).shape  # any H, W >= 1, odd sizes included
torch.Size([2, 5, 7, 9])

The input's real FFT over the last two axes is truncated to the low
frequencies, multiplied channel-wise by complex weights, and transformed back
with ``irfft2(..., s=(H, W))``. On the first spatial axis both the
non-negative frequencies ``0 .. m-1`` (weight ``weight_pos``) and the negative
frequencies ``-m .. -1`` (weight ``weight_neg``) are kept (BLK-003); on the
last axis the real FFT holds ``0 .. m-1``, their mirrors being implied by
realness. Because the spectrum is multiplied pointwise and ``irfft2`` only
keeps its Hermitian part, the output is real (BLK-001) and the layer commutes
with circular shifts (BLK-002).

Mode counts are capped to what an (H, W) grid holds (:func:`mode_counts`):
``ceil(H/2)`` non-negative and ``floor(H/2)`` negative rows, ``W//2 + 1``
columns, so the two corners never overlap. Built with ``input_size``, the
layer allocates only the weights that grid can use (BLK-004).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

__all__ = ["SpectralConv2d", "mode_counts"]

Size2d = tuple[int, int]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an int >= 1")
    return value


def as_size(name: str, value: int | Size2d) -> Size2d:
    """``value`` as an (H, W) pair of ints >= 1; ValueError naming ``name`` otherwise."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair)
    ):
        raise ValueError(f"{name}={value!r}: must be an int >= 1 or a pair (H, W) of ints >= 1")
    return pair


def mode_counts(modes: int, size: Size2d) -> tuple[int, int, int]:
    """(non-negative rows, negative rows, columns) of the spectrum kept on an (H, W) grid.

    >>> mode_counts(12, (64, 64)), mode_counts(12, (5, 5)), mode_counts(12, (1, 1))
    ((12, 12, 12), (3, 2, 3), (1, 0, 1))
    """
    h, w = size
    return min(modes, (h + 1) // 2), min(modes, h // 2), min(modes, w // 2 + 1)


class SpectralConv2d(nn.Module):
    """FNO spectral convolution ``(B, in, H, W) -> (B, out, H, W)``.

    >>> import torch
    >>> conv = SpectralConv2d(2, 2, modes=12, input_size=8)  # weights sized for 8x8
    >>> tuple(conv.weight_pos.shape), tuple(conv.weight_neg.shape)
    ((2, 2, 4, 5), (2, 2, 4, 5))

    ``weight_pos`` and ``weight_neg`` are complex, shaped (in, out, rows,
    columns): the output unit sits on dim 1, which :data:`AGC_UNIT_DIMS`
    declares for unit-wise gradient clipping. ``weight_neg`` row ``i`` holds
    frequency ``i - rows`` (the last row is frequency -1). On a 1-row grid
    there is no negative frequency and ``weight_neg`` is None.
    """

    AGC_UNIT_DIMS: ClassVar[dict[str, int]] = {"weight_pos": 1, "weight_neg": 1}
    """Output-unit axis of each complex weight, for unit-wise AGC."""

    weight_neg: nn.Parameter | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int,
        input_size: int | Size2d | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.modes = _positive_int("modes", modes)
        if input_size is None:
            pos, neg, cols = modes, modes, modes
        else:
            # BLK-004: no weight for a mode this grid can never hold.
            pos, neg, cols = mode_counts(modes, as_size("input_size", input_size))
        scale = 1.0 / (in_channels * out_channels)
        self.weight_pos = nn.Parameter(
            scale * torch.rand(in_channels, out_channels, pos, cols, dtype=torch.cfloat)
        )
        if neg > 0:
            self.weight_neg = nn.Parameter(
                scale * torch.rand(in_channels, out_channels, neg, cols, dtype=torch.cfloat)
            )
        else:
            self.register_parameter("weight_neg", None)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SpectralConv2d expects input (B, {self.in_channels}, H, W); "
                f"got shape {tuple(x.shape)}"
            )
        batch, _, h, w = x.shape
        x_ft = torch.fft.rfft2(x)
        allocated_neg = 0 if self.weight_neg is None else self.weight_neg.shape[2]
        pos = min(self.weight_pos.shape[2], (h + 1) // 2)
        neg = min(allocated_neg, h // 2)
        cols = min(self.weight_pos.shape[3], w // 2 + 1)
        out_ft = torch.zeros(
            batch, self.out_channels, h, w // 2 + 1, dtype=x_ft.dtype, device=x.device
        )
        w_pos = self.weight_pos[:, :, :pos, :cols].to(x_ft.dtype)
        out_ft[:, :, :pos, :cols] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :pos, :cols], w_pos)
        if neg > 0 and self.weight_neg is not None:
            # BLK-003: the negative-frequency corner (rows h-neg .. h-1 = frequencies -neg .. -1).
            w_neg = self.weight_neg[:, :, allocated_neg - neg :, :cols].to(x_ft.dtype)
            out_ft[:, :, h - neg :, :cols] = torch.einsum(
                "bixy,ioxy->boxy", x_ft[:, :, h - neg :, :cols], w_neg
            )
        # BLK-001/002: irfft2 keeps the Hermitian part of the spectrum -> real, shift-equivariant.
        return torch.fft.irfft2(out_ft, s=(h, w))
