"""PtychoBlock and StablePtychoBlock: the residual spectral blocks of the hybrid generators.

>>> import torch
>>> from impl.blocks import PtychoBlock, StablePtychoBlock
>>> x = torch.randn(2, 4, 9, 9)
>>> PtychoBlock(4, modes=3)(x).shape
torch.Size([2, 4, 9, 9])
>>> torch.equal(StablePtychoBlock(4, modes=3)(x), x)  # zero-gamma: identity at init
True

``PtychoBlock``: ``y = x + GELU(S(x) + K(x))`` with ``S`` a
:class:`~impl.spectral.SpectralConv2d` and ``K`` a 3x3 convolution (BLK-005).
``StablePtychoBlock``: ``y = x + N(GELU(S(x) + K(x)))`` with ``N`` an affine
instance norm (BLK-008), started either at weight = bias = 0 (``'zero_gamma'``,
the plan: exactly the identity, BLK-007) or at weight 1, bias 0 followed by a
per-channel gate started at ``layerscale_init`` (``'layerscale'``, upstream's
later form: near-identity, BLK-009).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from impl.spectral import Size2d, SpectralConv2d
from spec.vocabulary import STABLE_INITS, StableInit

__all__ = ["InstanceNorm2dAnySize", "PtychoBlock", "StablePtychoBlock"]


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an int >= 1")
    return value


class InstanceNorm2dAnySize(nn.InstanceNorm2d):
    """Affine instance norm without running statistics that also accepts a 1x1 grid.

    >>> import torch
    >>> norm = InstanceNorm2dAnySize(3)
    >>> norm(torch.randn(2, 3, 1, 1)).abs().max().item()  # one value minus its mean: 0
    0.0

    ``nn.InstanceNorm2d`` raises on a single spatial element; mathematically
    that element minus its own mean is 0, so the output is the affine bias.
    ``track_running_stats=False`` is passed explicitly so the statistics are
    always per sample and channel, in training and in evaluation mode, on
    every torch version.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(channels, affine=True, track_running_stats=False)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.ndim == 4 and input.shape[-1] * input.shape[-2] == 1:
            centred = input - input  # exactly 0, keeps the graph and dtype
            return centred * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return super().forward(input)


class PtychoBlock(nn.Module):
    """Residual spectral block ``y = x + GELU(S(x) + K(x))``, shape-preserving (BLK-005/006).

    >>> import torch
    >>> PtychoBlock(2, modes=4)(torch.randn(3, 2, 5, 6)).shape
    torch.Size([3, 2, 5, 6])
    """

    def __init__(
        self, channels: int, modes: int, *, input_size: int | Size2d | None = None
    ) -> None:
        super().__init__()
        _check_count("channels", channels)
        _check_count("modes", modes)
        self.spectral = SpectralConv2d(channels, channels, modes, input_size=input_size)
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.act = nn.GELU()

    def update(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch ``GELU(S(x) + K(x))``."""
        channels = self.conv.in_channels
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(
                f"{type(self).__name__} expects input (B, {channels}, H, W); "
                f"got shape {tuple(x.shape)}"
            )
        return self.act(self.spectral(x) + self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.update(x)


class StablePtychoBlock(PtychoBlock):
    """``y = x + N(GELU(S(x) + K(x)))`` with an affine instance norm ``N`` (BLK-007..009).

    >>> import torch
    >>> x = torch.randn(2, 3, 8, 8)
    >>> block = StablePtychoBlock(3, modes=4, init="layerscale", layerscale_init=1e-3)
    >>> bool(((block(x) - x).pow(2).mean(dim=(2, 3)).sqrt() <= 1e-3).all())
    True

    ``init='zero_gamma'``: the norm's weight and bias start at 0, so the block
    is exactly the identity, while the norm still centres the update per
    sample and channel. ``init='layerscale'``: the norm starts at weight 1,
    bias 0 and is followed by a per-channel gate ``gate`` started at
    ``layerscale_init``; ``gate`` is None under zero-gamma.
    """

    gate: nn.Parameter | None

    def __init__(
        self,
        channels: int,
        modes: int,
        init: StableInit = "zero_gamma",
        layerscale_init: float = 1e-3,
        *,
        input_size: int | Size2d | None = None,
    ) -> None:
        if init not in STABLE_INITS:
            raise ValueError(f"init={init!r}: allowed are {list(STABLE_INITS)}")
        if (
            isinstance(layerscale_init, bool)
            or not isinstance(layerscale_init, (int, float))
            or not math.isfinite(layerscale_init)
            or layerscale_init <= 0
        ):
            raise ValueError(f"layerscale_init={layerscale_init!r}: must be a finite number > 0")
        super().__init__(channels, modes, input_size=input_size)
        self.norm = InstanceNorm2dAnySize(channels)
        if init == "zero_gamma":
            # BLK-007: weight = bias = 0 -> the update is exactly 0 at init.
            nn.init.zeros_(self.norm.weight)
            nn.init.zeros_(self.norm.bias)
            self.register_parameter("gate", None)
        else:
            # BLK-009: unit norm, then a small per-channel gate -> near-identity.
            nn.init.ones_(self.norm.weight)
            nn.init.zeros_(self.norm.bias)
            self.gate = nn.Parameter(torch.full((channels,), float(layerscale_init)))

    def extra_repr(self) -> str:
        return f"init={'zero_gamma' if self.gate is None else 'layerscale'!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BLK-008: the norm centres the update per sample and channel before its affine.
        delta = self.norm(self.update(x))
        if self.gate is not None:
            delta = delta * self.gate.view(1, -1, 1, 1)
        return x + delta
