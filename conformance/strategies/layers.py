"""Strategies for the spectral convolution, the plain PtychoBlock and the registry's API.

>>> from hypothesis import given, settings
>>> from conformance.strategies.layers import wave_cases
>>> @settings(max_examples=5)
... @given(wave_cases())
... def check(case):
...     x = case.make_input()
...     assert x.shape == (len(case.frequencies()), case.channels, case.height, case.width)
>>> check()

Examples are frozen dataclasses of plain values (``repr`` rebuilds them after
``from conformance.strategies import *``). Modules are built under the case's
seed and then get every parameter redrawn from a seeded normal distribution
(:func:`randomize`), so that an implementation initialising some weights to
zero cannot hide a wiring fault. Sizes stay tiny and odd sizes are common.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import torch
from hypothesis import strategies as st

from conformance.strategies.blocks import seeded
from spec.vocabulary import BUILTIN_ARCHITECTURES, STABLE_INITS, FullDtype, StableInit

__all__ = [
    "BuildCase",
    "PlainBlockCase",
    "ShiftCase",
    "SpectralCase",
    "WaveCase",
    "build_cases",
    "plain_block_cases",
    "randomize",
    "shift_cases",
    "spectral_cases",
    "wave_cases",
]

_seeds = st.integers(0, 2**16)


def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Redraw every parameter of ``module`` (complex ones too) from N(0, 1/2), seeded."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters(), key=lambda item: item[0]):
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


@dataclass(frozen=True)
class SpectralCase:
    """``SpectralConv(in_channels, out_channels, modes)`` and a (batch, in, height, width) input."""

    in_channels: int = 1
    out_channels: int = 1
    modes: int = 1
    batch: int = 1
    height: int = 1
    width: int = 1
    dtype: FullDtype = "float32"
    seed: int = 0

    def build(self, conv: Callable[[int, int, int], Any]) -> Any:
        with seeded(self.seed):
            module = conv(self.in_channels, self.out_channels, self.modes)
        return randomize(module, self.seed)

    def make_input(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + 1)
        shape = (self.batch, self.in_channels, self.height, self.width)
        return torch.randn(shape, generator=g, dtype=getattr(torch, self.dtype))


Grid = Literal["plan", "small"]


def _grid(draw: st.DrawFn, modes: int, grid: Grid, min_size: int, what: str) -> tuple[int, int]:
    """(H, W): 'plan' grids hold the modes (sides 2*modes .. 2*modes + 5, odd ones included);
    'small' grids have at least one side below 2*modes (down to min_size)."""
    if grid == "plan":
        low = max(2 * modes, min_size)
        return draw(st.integers(low, low + 5), label=f"{what} H"), draw(
            st.integers(low, low + 5), label=f"{what} W"
        )
    high = 2 * modes - 1
    small = draw(st.integers(min_size, high), label=f"{what} small side")
    other = draw(st.integers(min_size, high + 4), label=f"{what} other side")
    return (small, other) if draw(st.booleans(), label="small side first") else (other, small)


@st.composite
def spectral_cases(
    draw: st.DrawFn,
    grid: Grid = "plan",
    min_size: int = 1,
    dtypes: tuple[FullDtype, ...] = ("float32",),
) -> SpectralCase:
    """Channels 1..3, modes 1..4, odd and even grids that hold the modes ('plan') or do not
    ('small': some side below 2 * modes); float32 inputs (the FNO's cfloat weights) unless
    ``dtypes`` says otherwise."""
    modes = draw(st.integers(1, 4))
    if grid == "small" and 2 * modes - 1 < min_size:
        modes = (min_size + 2) // 2
    height, width = _grid(draw, modes, grid, min_size, "grid")
    return SpectralCase(
        in_channels=draw(st.integers(1, 3)),
        out_channels=draw(st.integers(1, 3)),
        modes=modes,
        batch=draw(st.integers(1, 3)),
        height=height,
        width=width,
        dtype=draw(st.sampled_from(dtypes)),
        seed=draw(_seeds),
    )


@dataclass(frozen=True)
class ShiftCase:
    """A spectral case and a circular shift (rows, columns) of its input."""

    case: SpectralCase
    shift_h: int = 0
    shift_w: int = 0


@st.composite
def shift_cases(
    draw: st.DrawFn,
    grid: Grid = "plan",
    min_size: int = 1,
    dtypes: tuple[FullDtype, ...] = ("float32",),
) -> ShiftCase:
    case = draw(spectral_cases(grid, min_size, dtypes))
    return ShiftCase(
        case=case,
        shift_h=draw(st.integers(0, case.height - 1)),
        shift_w=draw(st.integers(0, case.width - 1)),
    )


@dataclass(frozen=True)
class WaveCase:
    """Every kept frequency a grid holds, as a batch of real plane waves.

    Sample ``b`` of :meth:`make_input` is cos(2π(k·i/H + l·j/W)) for the ``b``-th (k, l) of
    :meth:`frequencies`, on every input channel (amplitudes 1..channels).
    """

    modes: int = 1
    height: int = 1
    width: int = 1
    channels: int = 1
    seed: int = 0

    def build(self, conv: Callable[[int, int, int], Any]) -> Any:
        with seeded(self.seed):
            module = conv(self.channels, self.channels, self.modes)
        return randomize(module, self.seed)

    def frequencies(self) -> list[tuple[int, int]]:
        """(k, l) with -m <= k < m and 0 <= l < m, below the grid's Nyquist row and column
        (|k| < H/2, l < W/2); on column l = 0 only k >= 0 with -k kept too (k and -k are
        the same real wave there)."""
        m, h, w = self.modes, self.height, self.width
        rows = [k for k in range(-m, m) if 2 * abs(k) < h]
        cols = [col for col in range(m) if 2 * col < w]
        return [(k, col) for col in cols for k in rows if col > 0 or 0 <= k < m]

    def make_input(self) -> torch.Tensor:
        i = torch.arange(self.height, dtype=torch.float64).view(1, -1, 1)
        j = torch.arange(self.width, dtype=torch.float64).view(1, 1, -1)
        k = torch.tensor([f[0] for f in self.frequencies()], dtype=torch.float64).view(-1, 1, 1)
        col = torch.tensor([f[1] for f in self.frequencies()], dtype=torch.float64)
        waves = torch.cos(2 * math.pi * (k * i / self.height + col.view(-1, 1, 1) * j / self.width))
        amplitudes = torch.arange(1, self.channels + 1, dtype=torch.float64).view(1, -1, 1, 1)
        return (waves.unsqueeze(1) * amplitudes).to(torch.float32)

    def bins(self, k: int, col: int) -> set[tuple[int, int]]:
        """(row, column) bins of the full 2-D FFT where the wave (k, col) and its mirror sit."""
        h, w = self.height, self.width
        return {(k % h, col % w), (-k % h, -col % w)}


@st.composite
def wave_cases(draw: st.DrawFn, grid: Grid = "plan", min_size: int = 1) -> WaveCase:
    """Modes 1..4 on odd and even grids that hold them ('plan') or are smaller ('small')."""
    modes = draw(st.integers(1, 4))
    if grid == "small" and 2 * modes - 1 < min_size:
        modes = (min_size + 2) // 2
    height, width = _grid(draw, modes, grid, min_size, "grid")
    return WaveCase(
        modes=modes,
        height=height,
        width=width,
        channels=draw(st.integers(1, 2)),
        seed=draw(_seeds),
    )


@dataclass(frozen=True)
class PlainBlockCase:
    """``PtychoBlock(channels, modes)`` and a (batch, channels, height, width) input."""

    channels: int = 1
    modes: int = 1
    batch: int = 1
    height: int = 1
    width: int = 1
    seed: int = 0

    def build(self, block: Callable[[int, int], Any]) -> Any:
        with seeded(self.seed):
            module = block(self.channels, self.modes)
        return randomize(module, self.seed)

    def make_input(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + 1)
        return torch.randn(self.batch, self.channels, self.height, self.width, generator=g)


@st.composite
def plain_block_cases(draw: st.DrawFn, min_size: int = 1) -> PlainBlockCase:
    """Channels 1..3, modes 1..3 on grids that hold them (sides 2 * modes .. 2 * modes + 4)."""
    modes = draw(st.integers(1, 3))
    height, width = _grid(draw, modes, "plan", min_size, "grid")
    return PlainBlockCase(
        channels=draw(st.integers(1, 3)),
        modes=modes,
        batch=draw(st.integers(1, 2)),
        height=height,
        width=width,
        seed=draw(_seeds),
    )


@dataclass(frozen=True)
class BuildCase:
    """Fields of a small model config, for ``build_generator(ModelConfig(**fields))``."""

    architecture: str = "hybrid"
    N: int = 1
    gridsize: int = 1
    fno_width: int = 1
    fno_blocks: int = 1
    fno_modes: int = 1
    max_hidden_channels: int | None = None
    stable_init: StableInit = "zero_gamma"
    layerscale_init: float = 1e-3

    _EXTENDED: ClassVar[dict[str, Any]] = {
        "max_hidden_channels": None,
        "stable_init": "zero_gamma",
        "layerscale_init": 1e-3,
    }
    """This project's extended fields and their defaults (the plan's configs lack them)."""

    def fields(self) -> dict[str, Any]:
        """The config's keyword arguments: the extended ones only where not at their default."""
        values = dict(self.__dict__)
        for name, default in self._EXTENDED.items():
            if values[name] == default:
                del values[name]
        return values


@st.composite
def build_cases(draw: st.DrawFn, extended: bool = False) -> BuildCase:
    """Both built-in architectures, 1..3 blocks (2 first: channels double once), modes 1..2, N
    = s * 2**(blocks-1) with s >= 2 * modes. ``extended``: a channel cap that binds (= width)
    first and the stable-block init (REG-010); else those at their defaults."""
    blocks = draw(st.sampled_from([2, 1, 3]))
    factor = 2 ** (blocks - 1)
    modes = draw(st.integers(1, 2))
    width = draw(st.integers(1, 4))
    case = BuildCase(
        architecture=draw(st.sampled_from(BUILTIN_ARCHITECTURES)),
        N=factor * draw(st.integers(2 * modes, 2 * modes + 2)),
        gridsize=draw(st.integers(1, 2)),
        fno_width=width,
        fno_blocks=blocks,
        fno_modes=modes,
    )
    if not extended:
        return case
    return replace(
        case,
        max_hidden_channels=draw(st.one_of(st.just(width), st.integers(width, 2 * width))),
        stable_init=draw(st.sampled_from(STABLE_INITS[::-1])),  # shrinks to the non-default
        layerscale_init=draw(st.sampled_from([0.1, 1e-3, 1.0])),
    )
