"""A target stuck in one native call that holds the GIL (no Python-level interrupt can stop it)."""

import ctypes
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    ctypes.PyDLL(None).sleep(1000)
