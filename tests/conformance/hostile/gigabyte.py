"""A target that wants a gigabyte (more than a worker under --memory-limit 512 may add)."""

from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    hoard = bytearray(1 << 30)
    hoard[-1] = 1
