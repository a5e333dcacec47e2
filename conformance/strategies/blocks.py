"""Strategies for blocks, generators and registries: small, rebuildable example objects.

>>> from hypothesis import given, settings
>>> from conformance.strategies.blocks import block_cases
>>> @settings(max_examples=5)
... @given(block_cases())
... def check(case):
...     assert case.make_input().shape == (case.batch, case.channels, case.height, case.width)
>>> check()

Every example is a frozen dataclass of plain values whose ``repr`` is Python
that rebuilds it (after ``from conformance.strategies import *``); tensors are
materialised from the case's ``seed`` with a private ``torch.Generator``, and
:meth:`BlockCase.build` / :meth:`GeneratorCase.build` construct the target
under that seed without touching the global RNG. Sizes stay tiny (channels
<= 6, H and W <= 17, n_blocks <= 3), batches hold >= 2 distinct samples, and
inputs come as normal noise, one constant per sample, all-constant, large
(x 1e4) and tiny (x 1e-6) magnitudes. Everything shrinks toward a 2-sample,
1-channel, 1x1, normal-noise case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from hypothesis import strategies as st

from spec.vocabulary import BUILTIN_ARCHITECTURES

__all__ = [
    "INPUT_KINDS",
    "BadBlockArgument",
    "BlockCase",
    "GeneratorCase",
    "bad_block_arguments",
    "bad_generator_inputs",
    "block_cases",
    "generator_cases",
    "make_input",
    "seeded",
    "unknown_names",
]

InputKind = Literal["normal", "per_sample_constant", "constant", "large", "tiny"]
INPUT_KINDS: tuple[str, ...] = ("normal", "per_sample_constant", "constant", "large", "tiny")
"""Input kinds, simplest first."""

_SCALE = {"large": 1e4, "tiny": 1e-6}


def make_input(shape: tuple[int, ...], kind: str, seed: int) -> torch.Tensor:
    """A float32 tensor of ``shape`` and ``kind``, the same for the same arguments.

    >>> make_input((2, 1, 2, 2), "per_sample_constant", 0)[:, 0, 0, 0].unique().numel()
    2
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"kind={kind!r}: allowed are {INPUT_KINDS}")
    g = torch.Generator().manual_seed(seed)
    if kind == "constant":
        return torch.full(shape, 1.0 + 2.0 * float(torch.rand(1, generator=g)))
    if kind == "per_sample_constant":
        # distinct per sample: 1, 2, 3, ... times a random sign, broadcast over the rest
        signs = torch.randint(0, 2, (shape[0],), generator=g) * 2 - 1
        levels = torch.arange(1, shape[0] + 1, dtype=torch.float32) * signs
        return levels.view(-1, *([1] * (len(shape) - 1))).expand(shape).clone()
    return torch.randn(shape, generator=g) * _SCALE.get(kind, 1.0)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the body with the global torch RNG seeded, restoring its state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class BlockCase:
    """A block ``Block(channels, modes)`` and an input (batch, channels, height, width)."""

    channels: int = 1
    modes: int = 1
    batch: int = 2
    height: int = 1
    width: int = 1
    kind: InputKind = "normal"
    seed: int = 0

    def build(self, block: Callable[[int, int], Any]) -> Any:
        """``block(channels, modes)`` built under this case's seed."""
        with seeded(self.seed):
            return block(self.channels, self.modes)

    def make_input(self) -> torch.Tensor:
        shape = (self.batch, self.channels, self.height, self.width)
        return make_input(shape, self.kind, self.seed + 1)


@dataclass(frozen=True)
class BadBlockArgument:
    """Block constructor arguments of which at least one is out of range."""

    channels: int = 0
    modes: int = 1


@dataclass(frozen=True)
class GeneratorCase:
    """Canonical generator arguments and an input; ``extra_channels`` != 0 makes it wrong."""

    in_channels: int = 1
    out_channels: int = 2
    hidden_channels: int = 1
    n_blocks: int = 1
    modes: int = 1
    C: int = 1
    batch: int = 2
    height: int = 1
    width: int = 1
    kind: InputKind = "normal"
    seed: int = 0
    extra_channels: int = 0

    @property
    def args(self) -> tuple[int, int, int, int, int, int]:
        """``(in_channels, out_channels, hidden_channels, n_blocks, modes, C)``."""
        return (
            self.in_channels,
            self.out_channels,
            self.hidden_channels,
            self.n_blocks,
            self.modes,
            self.C,
        )

    def build(self, generator: Callable[..., Any]) -> Any:
        """``generator(*args)`` built under this case's seed."""
        with seeded(self.seed):
            return generator(*self.args)

    def make_input(self) -> torch.Tensor:
        channels = self.C * self.in_channels + self.extra_channels
        shape = (self.batch, channels, self.height, self.width)
        return make_input(shape, self.kind, self.seed + 1)

    @property
    def size_ok(self) -> bool:
        """Whether H and W can be halved n_blocks - 1 times."""
        factor = 2 ** (self.n_blocks - 1)
        return self.height % factor == 0 and self.width % factor == 0


_kinds = st.sampled_from(INPUT_KINDS)
_seeds = st.integers(min_value=0, max_value=2**16)


@st.composite
def block_cases(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = INPUT_KINDS,
    max_side: int = 17,
    *,
    min_size: int = 1,
    one_by_one: bool = False,
) -> BlockCase:
    """Block examples: channels 1..6, modes 1..3, batch 2..3, H and W from 2 * modes (and
    ``min_size``) up to ``max_side``, odd sizes included: grids that hold the modes; with
    ``one_by_one`` a 1x1 grid (BLK-017)."""
    modes = draw(st.integers(1, 3))
    if one_by_one:
        height = width = 1
    else:
        low = max(2 * modes, min_size)
        high = max(max_side, low + 1)
        height = draw(st.integers(low, high))
        width = draw(st.integers(low, high))
    return BlockCase(
        channels=draw(st.integers(1, 6)),
        modes=modes,
        batch=draw(st.integers(2, 3)),
        height=height,
        width=width,
        kind=draw(st.sampled_from(kinds)),
        seed=draw(_seeds),
    )


@st.composite
def bad_block_arguments(draw: st.DrawFn) -> BadBlockArgument:
    """(channels, modes) with channels < 1 or modes < 1."""
    bad = st.integers(-3, 0)
    good = st.integers(1, 4)
    channels_bad = draw(st.booleans())
    return BadBlockArgument(
        channels=draw(bad if channels_bad else good),
        modes=draw(st.one_of(bad, good) if channels_bad else bad),
    )


@st.composite
def generator_cases(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = INPUT_KINDS,
    *,
    channels: Literal["plan", "any"] = "plan",
    min_size: int = 1,
) -> GeneratorCase:
    """Valid generator examples: n_blocks 1..3, hidden 1..4, modes 1..2, H and W equal to
    s * 2**(n_blocks-1) with s >= 2 * modes (every level's grid holds its modes, at least
    ``min_size``).
    ``channels`` 'plan': one input channel per patch, (real, imag) out; 'any': other counts
    (BLK-018)."""
    n_blocks = draw(st.integers(1, 3))
    modes = draw(st.integers(1, 2))
    factor = 2 ** (n_blocks - 1)
    low = max(2 * modes, -(-min_size // factor))
    height = factor * draw(st.integers(low, low + 2))
    width = factor * draw(st.integers(low, low + 2))
    if channels == "plan":
        in_channels, out_channels = 1, 2
    else:
        in_channels, out_channels = draw(
            st.sampled_from([(1, 1), (2, 2), (1, 3), (2, 1), (2, 3)]), label="channels"
        )
    return GeneratorCase(
        in_channels=in_channels,
        out_channels=out_channels,
        hidden_channels=draw(st.integers(1, 4)),
        n_blocks=n_blocks,
        modes=modes,
        C=draw(st.integers(1, 4)),
        batch=draw(st.integers(2, 3)),
        height=height,
        width=width,
        kind=draw(st.sampled_from(kinds)),
        seed=draw(_seeds),
    )


@st.composite
def bad_generator_inputs(draw: st.DrawFn) -> GeneratorCase:
    """Generator examples whose input is wrong: a side not divisible by 2**(n_blocks-1)
    (n_blocks 2..3), or a channel count other than C*in_channels."""
    case = draw(generator_cases(kinds=("normal",)))
    if draw(st.booleans()):  # wrong channel count
        low = 1 - case.C * case.in_channels
        extra = draw(st.integers(low, 3).filter(lambda e: e != 0))
        return GeneratorCase(**{**case.__dict__, "extra_channels": extra})
    n_blocks = draw(st.integers(2, 3))
    factor = 2 ** (n_blocks - 1)
    height = draw(st.integers(1, 17))
    width = draw(st.integers(1, 17))
    if height % factor == 0 and width % factor == 0:
        height += 1
    return GeneratorCase(
        **{**case.__dict__, "n_blocks": n_blocks, "height": height, "width": width}
    )


def unknown_names(known: tuple[str, ...] = BUILTIN_ARCHITECTURES) -> st.SearchStrategy[str]:
    """Names that are not in ``known``: one-edit misspellings of them, and other text."""

    @st.composite
    def misspelt(draw: st.DrawFn) -> str:
        name = draw(st.sampled_from(known))
        i = draw(st.integers(0, len(name) - 1))
        edit = draw(st.sampled_from(["drop", "double", "swap", "upper"]))
        if edit == "drop":
            return name[:i] + name[i + 1 :]
        if edit == "double":
            return name[:i] + name[i] + name[i:]
        if edit == "swap" and i + 1 < len(name):
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        return name[:i] + name[i].upper() + name[i + 1 :]

    other = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ -", min_size=1, max_size=12)
    return st.one_of(misspelt(), other).filter(lambda s: s not in known)
