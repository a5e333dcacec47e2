"""A target that closes every file descriptor it did not open, then carries on."""

import os
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    os.closerange(3, 4096)
