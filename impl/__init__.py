"""impl — the reference implementation of the FNO stability toolkit.

Unit-wise Adaptive Gradient Clipping and the clipping dispatch, the training
step, PtychoBlock / StablePtychoBlock, the hybrid and stable_hybrid
generators and the generator registry. The Stage A study (synthetic task,
losses, metrics, runner, compare) is an application on top of them, in
:mod:`impl.study` (``python -m impl.runner``, ``python -m impl.compare``); it
is not imported here.
"""

from impl import registry
from impl.agc import adaptive_gradient_clip_, agc_unit_dims
from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.clipping import ClipResult, clip_gradients_, global_grad_norm
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.param_count import count_parameters
from impl.registry import available, build_generator, register, resolve_generator
from impl.spectral import SpectralConv2d
from impl.training import StepResult, training_step

__all__: list[str] = [
    "ClipResult",
    "HybridUNOGenerator",
    "PtychoBlock",
    "SpectralConv2d",
    "StableHybridGenerator",
    "StablePtychoBlock",
    "StepResult",
    "adaptive_gradient_clip_",
    "agc_unit_dims",
    "available",
    "build_generator",
    "clip_gradients_",
    "count_parameters",
    "global_grad_norm",
    "register",
    "registry",
    "resolve_generator",
    "training_step",
]
