"""A module that calls sys.exit(0) while it is imported."""

import sys
from typing import Any

sys.exit(0)


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:  # never reached
    pass
