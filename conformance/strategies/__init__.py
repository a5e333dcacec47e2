"""Hypothesis strategies shared by the conformance properties and the project's tests.

One module per area: :mod:`conformance.strategies.configs` for the config
contract; tensor, block and generator strategies sit beside it.
"""

from conformance.strategies.blocks import BadBlockArgument, BlockCase, GeneratorCase
from conformance.strategies.configs import BadValue, ConfigCase
from conformance.strategies.layers import (
    BuildCase,
    PlainBlockCase,
    ShiftCase,
    SpectralCase,
    WaveCase,
)
from conformance.strategies.tensors import (
    AGCCase,
    BadAGCArgument,
    ClipCase,
    LocalityCase,
    ParamCase,
)
from conformance.strategies.training import TrainCase

__all__ = [
    "AGCCase",
    "BadAGCArgument",
    "BadBlockArgument",
    "BadValue",
    "BlockCase",
    "BuildCase",
    "ClipCase",
    "ConfigCase",
    "GeneratorCase",
    "LocalityCase",
    "ParamCase",
    "PlainBlockCase",
    "ShiftCase",
    "SpectralCase",
    "TrainCase",
    "WaveCase",
]
