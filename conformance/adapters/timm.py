"""timm's ``adaptive_clip_grad`` (``timm/utils/agc.py``) in the ``agc`` role.

>>> from conformance.adapters import timm
>>> timm.LIBRARY.pip, timm.ROLE
('pip install --no-deps timm==1.0.31', 'agc')

Translation: none. ``adaptive_clip_grad(parameters, clip_factor=0.01, eps=1e-3,
norm_type=2.0)`` already has the canonical form. The package import needs torchvision
(and more), so the adapter finds the installed ``timm`` folder without importing it and
executes that one file, which imports only torch.

    python -m conformance check --agc conformance.adapters.timm:agc --profile default
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from conformance.adapters._library import Library, load_file

__all__ = ["LIBRARY", "ROLE", "agc"]

LIBRARY = Library("timm", "1.0.31", "timm")
ROLE = "agc"


@cache
def _adaptive_clip_grad() -> Callable[..., Any]:
    path = LIBRARY.directory() / "utils" / "agc.py"
    clip: Callable[..., Any] = load_file(path, "_conformance_adapter_timm_agc").adaptive_clip_grad
    return clip


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """``timm.utils.agc.adaptive_clip_grad(parameters, clip_factor, eps)``."""
    _adaptive_clip_grad()(parameters, clip_factor=clip_factor, eps=eps)
