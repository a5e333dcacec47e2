"""An AGC whose module changes process-wide state: the default dtype, a torch function, and
the ``impl`` module itself. Only its own verdict may suffer."""

import sys
import types
from typing import Any

import torch

import impl

_real = impl.adaptive_gradient_clip_
torch.set_default_dtype(torch.float64)
torch.linalg.vector_norm = lambda *a, **k: torch.tensor(0.0)  # type: ignore[assignment]
sys.modules["impl"] = types.ModuleType("impl")


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    _real(parameters, clip_factor=clip_factor, eps=eps)
