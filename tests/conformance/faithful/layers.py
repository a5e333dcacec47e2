"""The FNO spectral convolution, the plan's blocks and generators, written plainly.

The spectral convolution is the FNO paper's: complex (in, out, modes, modes) weights for
both frequency corners, float32 (``cfloat`` weights). The blocks follow Task 2.1
literally, with ``nn.InstanceNorm2d(channels, affine=True)`` zero-initialised. The
generator follows the field notes' description of ``HybridUNOGenerator``, with its
output layout fixed to (real, imag) and no input checks.
"""

from __future__ import annotations

import torch
from torch import nn


class SpectralConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, modes: int) -> None:
        super().__init__()
        self.out_channels, self.modes = out_channels, modes
        scale = 1 / (in_channels * out_channels)
        shape = (in_channels, out_channels, modes, modes)
        self.weights1 = nn.Parameter(scale * torch.rand(*shape, dtype=torch.cfloat))
        self.weights2 = nn.Parameter(scale * torch.rand(*shape, dtype=torch.cfloat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        m = self.modes
        x_ft = torch.fft.rfft2(x)
        out_ft = torch.zeros(b, self.out_channels, h, w // 2 + 1, dtype=torch.cfloat)
        out_ft[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :m, :m], self.weights1)
        out_ft[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -m:, :m], self.weights2)
        return torch.fft.irfft2(out_ft, s=(h, w))


class PtychoBlock(nn.Module):
    """y = x + GELU(SpectralConv(x) + Conv3x3(x))."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__()
        self.spectral = SpectralConv2d(channels, channels, modes)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + nn.functional.gelu(self.spectral(x) + self.conv(x))


class StablePtychoBlock(nn.Module):
    """Task 2.1: y = x + InstanceNorm(GELU(SpectralConv(x) + Conv3x3(x))), zero-gamma init."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__()
        self.spectral = SpectralConv2d(channels, channels, modes)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm = nn.InstanceNorm2d(channels, affine=True)
        self.norm.weight.data.zero_()
        self.norm.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm(nn.functional.gelu(self.spectral(x) + self.conv(x)))


def _conv3(cin: int, cout: int) -> nn.Module:
    return nn.Conv2d(cin, cout, 3, padding=1)


class HybridUNOGenerator(nn.Module):
    """Lifter, encoder blocks with 2x2 stride-2 downsampling, bottleneck (modes // 2), decoder
    with transposed convs and skips, 1x1 projection to 2*C channels as (B, H, W, C, 2)."""

    block = PtychoBlock

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        n_blocks: int,
        modes: int,
        C: int,
    ) -> None:
        super().__init__()
        self.C = C
        width = hidden_channels
        self.lift = nn.Sequential(_conv3(C * in_channels, width), nn.GELU(), _conv3(width, width))
        self.encoder = nn.ModuleList()
        self.down = nn.ModuleList()
        for _ in range(n_blocks - 1):
            self.encoder.append(self.block(width, modes))
            self.down.append(nn.Conv2d(width, 2 * width, 2, stride=2))
            width *= 2
        self.bottleneck = self.block(width, max(1, modes // 2))
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for _ in range(n_blocks - 1):
            self.up.append(nn.ConvTranspose2d(width, width // 2, 2, stride=2))
            width //= 2
            self.decoder.append(
                nn.Sequential(_conv3(2 * width, width), nn.GELU(), _conv3(width, width))
            )
        self.project = nn.Conv2d(width, 2 * C, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lift(x)
        skips = []
        for block, down in zip(self.encoder, self.down, strict=True):
            h = block(h)
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h)
        for up, dec, skip in zip(self.up, self.decoder, reversed(skips), strict=True):
            h = dec(torch.cat([up(h), skip], dim=1))
        y = self.project(h)
        b, _, height, width = y.shape
        return y.view(b, self.C, 2, height, width).permute(0, 3, 4, 1, 2)


class StableHybridGenerator(HybridUNOGenerator):
    """Task 2.2: the same generator with every block the stable block."""

    block = StablePtychoBlock
