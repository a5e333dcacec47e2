"""impl — the reference implementation of the FNO stability toolkit.

Unit-wise Adaptive Gradient Clipping and the clipping dispatch, the training
step, PtychoBlock / StablePtychoBlock, the hybrid and stable_hybrid
generators, the generator registry and the study runner.
"""

from impl.agc import adaptive_gradient_clip_, agc_unit_dims

__all__: list[str] = ["adaptive_gradient_clip_", "agc_unit_dims"]
