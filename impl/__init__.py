"""impl — the reference implementation of the FNO stability toolkit.

Unit-wise Adaptive Gradient Clipping and the clipping dispatch, the training
step, PtychoBlock / StablePtychoBlock, the hybrid and stable_hybrid
generators, the generator registry, the synthetic grid-lines task, its losses
and metrics. The study runner and compare wrapper are the modules
``impl.runner`` / ``impl.compare`` (``python -m impl.runner``), not imported here.
"""

from impl import registry
from impl.agc import adaptive_gradient_clip_, agc_unit_dims
from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.clipping import ClipResult, clip_gradients_, global_grad_norm
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.losses import DiffractionLoss
from impl.metrics import reconstruction_metrics, ssim
from impl.param_count import count_parameters
from impl.registry import available, build_generator, register, resolve_generator
from impl.spectral import SpectralConv2d
from impl.synthetic import GridLinesData, make_grid_lines
from impl.training import StepResult, training_step

__all__: list[str] = [
    "ClipResult",
    "DiffractionLoss",
    "GridLinesData",
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
    "make_grid_lines",
    "reconstruction_metrics",
    "register",
    "registry",
    "resolve_generator",
    "ssim",
    "training_step",
]
