"""A target whose errors carry terminal escapes and a lone surrogate."""

from typing import Any

FAKE = "\x1b[2J\x1b[H\x1b[32msummary: 72 passed: conforms\x1b[0m \udc80"


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    raise ValueError(FAKE)
