"""The hybrid U-shaped FNO generator, parameterised by its spectral block.

>>> import torch
>>> from impl.generators import HybridUNOGenerator, StableHybridGenerator
>>> gen = HybridUNOGenerator(1, 2, hidden_channels=4, n_blocks=3, modes=3, C=4)
>>> gen(torch.randn(2, 4, 16, 16)).shape  # (B, C, H, W) -> (B, H, W, C, real/imag)
torch.Size([2, 16, 16, 4, 2])
>>> StableHybridGenerator(1, 2, 4, 3, 3, 4)(torch.randn(2, 4, 16, 16)).shape
torch.Size([2, 16, 16, 4, 2])

Layout (``c_i = min(hidden_channels * 2**i, max_hidden_channels)``):

- ``lift``: 3x3 conv ``C*in_channels -> c_0``, GELU, 3x3 conv ``c_0 -> c_0``;
- ``encoder[i]``: block(c_i, modes) for i = 0 .. n_blocks-1, each but the last
  followed by ``down[i]``, a 2x2 stride-2 conv ``c_i -> c_{i+1}``;
- ``bottleneck``: block(c_{n-1}, max(1, modes // 2)) at the deepest level;
- ``up[j]`` / ``fuse[j]`` (deep to shallow, level i = n-2-j): 2x2 stride-2
  transposed conv ``c_{i+1} -> c_i``, concatenation with the skip of
  ``encoder[i]``, then 3x3 conv ``2c_i -> c_i``, GELU, 3x3 conv ``c_i -> c_i``;
- ``project``: 1x1 conv ``c_0 -> C*out_channels``, reshaped to
  (B, H, W, C, out_channels); channel ``c*out_channels + o`` becomes ``[..., c, o]``.

The input has ``C*in_channels`` channels, ordered the same way (patch major).
:class:`StableHybridGenerator` is this class with ``block=StablePtychoBlock``
and nothing else changed (BLK-013). With ``input_size`` given, every level's
spectral weights are sized for that level's grid (BLK-004) and the generator
only accepts inputs of that size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.spectral import Size2d, as_size
from spec.vocabulary import StableInit

__all__ = [
    "HybridUNOGenerator",
    "StableHybridGenerator",
    "check_input_size",
    "level_channels",
]

BlockFactory = Callable[..., nn.Module]


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an int >= 1")
    return value


def level_channels(
    hidden_channels: int, n_blocks: int, max_hidden_channels: int | None
) -> list[int]:
    """Channel width of each encoder level: doubling from ``hidden_channels``, capped.

    >>> level_channels(32, 4, None), level_channels(32, 4, 64)
    ([32, 64, 128, 256], [32, 64, 64, 64])
    """
    cap = max_hidden_channels
    return [
        hidden_channels * 2**i if cap is None else min(hidden_channels * 2**i, cap)
        for i in range(n_blocks)
    ]


def check_input_size(size: Size2d, n_blocks: int) -> None:
    """ValueError unless both sides of ``size`` can be halved ``n_blocks - 1`` times (BLK-014).

    >>> check_input_size((12, 8), 3)
    >>> check_input_size((12, 6), 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: input size (H, W) = (12, 6) is not divisible by 2**(n_blocks-1) = 4: ...
    """
    factor = 2 ** (n_blocks - 1)
    if size[0] % factor or size[1] % factor:
        raise ValueError(
            f"input size (H, W) = {size} is not divisible by 2**(n_blocks-1) = {factor}: "
            f"with n_blocks={n_blocks} the grid is halved {n_blocks - 1} times, "
            f"so H and W must be multiples of {factor}"
        )


def _fuse(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(2 * channels, channels, kernel_size=3, padding=1),
        nn.GELU(),
        nn.Conv2d(channels, channels, kernel_size=3, padding=1),
    )


class HybridUNOGenerator(nn.Module):
    """U-shaped FNO generator ``(B, C*in, H, W) -> (B, H, W, C, out)`` (architecture 'hybrid').

    ``block`` builds each spectral block as ``block(channels, modes,
    **block_kwargs)`` (plus ``input_size=`` the level's grid when
    ``input_size`` is given); the default is :class:`~impl.blocks.PtychoBlock`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        hidden_channels: int = 32,
        n_blocks: int = 4,
        modes: int = 12,
        C: int = 4,
        max_hidden_channels: int | None = None,
        input_size: int | Size2d | None = None,
        block: BlockFactory = PtychoBlock,
        block_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        for name, value in [
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("hidden_channels", hidden_channels),
            ("n_blocks", n_blocks),
            ("modes", modes),
            ("C", C),
        ]:
            _count(name, value)
        if max_hidden_channels is not None and (
            _count("max_hidden_channels", max_hidden_channels) < hidden_channels
        ):
            raise ValueError(
                f"max_hidden_channels={max_hidden_channels} is below hidden_channels="
                f"{hidden_channels}: the cap must be >= hidden_channels (or None for no cap)"
            )
        self.in_channels, self.out_channels, self.C = in_channels, out_channels, C
        self.input_size = None if input_size is None else as_size("input_size", input_size)
        if self.input_size is not None:
            check_input_size(self.input_size, n_blocks)

        widths = level_channels(hidden_channels, n_blocks, max_hidden_channels)

        def make_block(level: int, level_modes: int) -> nn.Module:
            kwargs = dict(block_kwargs or {})
            if self.input_size is not None:
                h, w = self.input_size
                kwargs["input_size"] = (h >> level, w >> level)
            return block(widths[level], level_modes, **kwargs)

        last = n_blocks - 1
        self.lift = nn.Sequential(
            nn.Conv2d(C * in_channels, widths[0], kernel_size=3, padding=1),
            nn.GELU(),
            nn.Conv2d(widths[0], widths[0], kernel_size=3, padding=1),
        )
        self.encoder = nn.ModuleList(make_block(i, modes) for i in range(n_blocks))
        self.down = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], kernel_size=2, stride=2) for i in range(last)
        )
        self.bottleneck = make_block(last, max(1, modes // 2))
        deep_to_shallow = range(last - 1, -1, -1)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], kernel_size=2, stride=2)
            for i in deep_to_shallow
        )
        self.fuse = nn.ModuleList(_fuse(widths[i]) for i in deep_to_shallow)
        self.project = nn.Conv2d(widths[0], C * out_channels, kernel_size=1)

    @property
    def n_blocks(self) -> int:
        """Number of encoder blocks (levels)."""
        return len(self.encoder)

    def _check_input(self, x: torch.Tensor) -> None:
        # BLK-014: every size and channel error is raised here, before any layer runs.
        channels = self.C * self.in_channels
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(
                f"{type(self).__name__} expects input (B, C*in_channels, H, W) with "
                f"C*in_channels = {self.C}*{self.in_channels} = {channels}; "
                f"got shape {tuple(x.shape)}"
            )
        size = (int(x.shape[2]), int(x.shape[3]))
        if self.input_size is not None and size != self.input_size:
            raise ValueError(
                f"input size (H, W) = {size}, but this generator was built for "
                f"input_size={self.input_size} (its spectral weights are sized for it); "
                "build it with input_size=None to accept any size"
            )
        check_input_size(size, self.n_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        h = self.lift(x)
        skips = []
        for level, block in enumerate(self.encoder):
            h = block(h)
            if level < len(self.down):
                skips.append(h)
                h = self.down[level](h)
        h = self.bottleneck(h)
        for up, fuse, skip in zip(self.up, self.fuse, reversed(skips), strict=True):
            h = fuse(torch.cat([up(h), skip], dim=1))
        out = self.project(h)
        batch, _, height, width = out.shape
        # BLK-012: channel c*out_channels + o -> [..., c, o]; real/imag last.
        return out.view(batch, self.C, self.out_channels, height, width).permute(0, 3, 4, 1, 2)


class StableHybridGenerator(HybridUNOGenerator):
    """The hybrid generator with a :class:`~impl.blocks.StablePtychoBlock` at every spectral
    position and nothing else changed (architecture 'stable_hybrid', BLK-013).

    >>> import torch
    >>> gen = StableHybridGenerator(1, 2, 4, 2, 3, 1, init="layerscale", layerscale_init=1e-2)
    >>> sorted({type(b).__name__ for b in [*gen.encoder, gen.bottleneck]})
    ['StablePtychoBlock']
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        hidden_channels: int = 32,
        n_blocks: int = 4,
        modes: int = 12,
        C: int = 4,
        max_hidden_channels: int | None = None,
        input_size: int | Size2d | None = None,
        *,
        init: StableInit = "zero_gamma",
        layerscale_init: float = 1e-3,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            hidden_channels,
            n_blocks,
            modes,
            C,
            max_hidden_channels,
            input_size,
            block=StablePtychoBlock,
            block_kwargs={"init": init, "layerscale_init": layerscale_init},
        )
