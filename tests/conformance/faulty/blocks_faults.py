"""Faulty spectral convolutions and blocks, each breaking one BLK clause.

Used by tests to show that the checks of those clauses can fail:

- :class:`OneCornerSpectralConv2d` keeps only the non-negative frequencies of
  the first axis, as the upstream fallback did (BLK-003).
- :class:`UnitGammaStableBlock` starts its norm at weight 1 (BLK-007).
- :class:`BatchNormStableBlock` normalises over the batch (BLK-008).
- :class:`UnnormalisedStableBlock` has no norm at all, only a zero gate (BLK-008).
- :class:`FrozenStableBlock` is the identity and stays it: its norm is frozen (BLK-011).
- :class:`SubtractingStableBlock` (y = x - N(...)) and :class:`GelulessStableBlock`
  (y = x + N(S(x) + K(x))) are the identity at init, centred and trainable, but not
  Task 2.1's formula (BLK-020).
- :class:`UngatedLayerscaleBlock` takes ``init='layerscale'`` and starts its norm at weight 1
  with no gate: far from the identity (BLK-009).
- :class:`ChannelsFirstGenerator` returns the wrong layout (BLK-012).
- :class:`PartlyStableGenerator` keeps a plain bottleneck block (BLK-013).
- :class:`ExtraDropoutStableGenerator` changes a layer outside the blocks (BLK-013).
- :class:`UncheckedGenerator` checks no input: bad sizes fail deep in torch (BLK-014).
- :class:`SkippedBottleneckGenerator` builds its bottleneck block and never calls it: the
  output keeps its shape (BLK-021).
"""

from __future__ import annotations

import torch
from torch import nn

from impl.blocks import InstanceNorm2dAnySize, PtychoBlock, StablePtychoBlock
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.spectral import SpectralConv2d

__all__ = [
    "BatchNormStableBlock",
    "ChannelsFirstGenerator",
    "ExtraDropoutStableGenerator",
    "FrozenStableBlock",
    "GelulessStableBlock",
    "OneCornerSpectralConv2d",
    "PartlyStableGenerator",
    "SkippedBottleneckGenerator",
    "SubtractingStableBlock",
    "UncheckedGenerator",
    "UngatedLayerscaleBlock",
    "UnitGammaStableBlock",
    "UnnormalisedStableBlock",
]


class OneCornerSpectralConv2d(SpectralConv2d):
    """Drops the negative-frequency corner (the upstream fallback's spectral conv)."""

    def __init__(self, in_channels: int, out_channels: int, modes: int) -> None:
        super().__init__(in_channels, out_channels, modes)
        self.register_parameter("weight_neg", None)


class UnitGammaStableBlock(PtychoBlock):
    """Instance norm started at weight 1, bias 0, no gate: not the identity at init."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__(channels, modes)
        self.norm = InstanceNorm2dAnySize(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.update(x))


class BatchNormStableBlock(PtychoBlock):
    """Zero-gamma, but normalised with BatchNorm2d: centred over the batch, not per sample."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__(channels, modes)
        self.norm = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.norm.weight)
        nn.init.zeros_(self.norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.update(x))


class UnnormalisedStableBlock(PtychoBlock):
    """Identity at init through a zero per-channel gate, with no normalisation at all."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__(channels, modes)
        self.gate = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gate.view(1, -1, 1, 1) * self.update(x)


class FrozenStableBlock(PtychoBlock):
    """Zero-gamma instance norm whose affine parameters are frozen: stays the identity."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__(channels, modes)
        self.norm = InstanceNorm2dAnySize(channels)
        nn.init.zeros_(self.norm.weight)
        nn.init.zeros_(self.norm.bias)
        self.norm.weight.requires_grad_(False)
        self.norm.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.update(x))


class SubtractingStableBlock(StablePtychoBlock):
    """The stable block with its normalised update subtracted: y = x - N(GELU(S(x) + K(x)))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.norm(self.update(x))


class GelulessStableBlock(StablePtychoBlock):
    """The stable block without its GELU: y = x + N(S(x) + K(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(self.spectral(x) + self.conv(x))


class UngatedLayerscaleBlock(StablePtychoBlock):
    """init='layerscale' starts the norm at weight 1 and drops the gate: y = x + N(...)."""

    def __init__(self, channels: int, modes: int, init: str = "zero_gamma") -> None:
        super().__init__(channels, modes, init=init)  # type: ignore[arg-type]
        self.gate = None


# --- generators ------------------------------------------------------------------------------


class PartlyStableGenerator(HybridUNOGenerator):
    """Stable blocks in the encoder only: the bottleneck keeps the plain block (BLK-013)."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        hidden_channels: int = 32,
        n_blocks: int = 4,
        modes: int = 12,
        C: int = 4,
    ) -> None:
        super().__init__(
            in_channels, out_channels, hidden_channels, n_blocks, modes, C, block=StablePtychoBlock
        )
        self.bottleneck = PtychoBlock(self.bottleneck.conv.in_channels, max(1, modes // 2))


class SkippedBottleneckGenerator(HybridUNOGenerator):
    """The bottleneck block is built (its parameters counted) but replaced by the identity in
    the forward pass."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.unused = self.bottleneck
        self.bottleneck = nn.Identity()


class ExtraDropoutStableGenerator(StableHybridGenerator):
    """Stable blocks, but also a changed projection head (BLK-013: nothing else may change)."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        hidden_channels: int = 32,
        n_blocks: int = 4,
        modes: int = 12,
        C: int = 4,
    ) -> None:
        super().__init__(in_channels, out_channels, hidden_channels, n_blocks, modes, C)
        self.project = nn.Sequential(nn.Dropout(0.0), self.project)


class ChannelsFirstGenerator(HybridUNOGenerator):
    """Returns (B, C, out, H, W) instead of (B, H, W, C, out) (BLK-012)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).permute(0, 3, 4, 1, 2)


class UncheckedGenerator(HybridUNOGenerator):
    """No input checks: a bad size fails deep inside torch, after layers ran (BLK-014)."""

    def _check_input(self, x: torch.Tensor) -> None:
        return None
