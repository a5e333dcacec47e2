"""impl — the reference implementation of the FNO stability toolkit.

Unit-wise Adaptive Gradient Clipping and the clipping dispatch, the training
step, PtychoBlock / StablePtychoBlock, the hybrid and stable_hybrid
generators, the generator registry and the study runner.
"""

from impl import registry
from impl.agc import adaptive_gradient_clip_, agc_unit_dims
from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.param_count import count_parameters
from impl.registry import available, build_generator, register, resolve_generator
from impl.spectral import SpectralConv2d

__all__: list[str] = [
    "HybridUNOGenerator",
    "PtychoBlock",
    "SpectralConv2d",
    "StableHybridGenerator",
    "StablePtychoBlock",
    "adaptive_gradient_clip_",
    "agc_unit_dims",
    "available",
    "build_generator",
    "count_parameters",
    "register",
    "registry",
    "resolve_generator",
]
