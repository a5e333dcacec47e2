"""A target that asks for a terabyte."""

from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    hoard = bytearray(1 << 40)
    del hoard
