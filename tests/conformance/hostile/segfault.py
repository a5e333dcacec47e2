"""A target that dereferences a null pointer."""

import ctypes
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    ctypes.string_at(0)
