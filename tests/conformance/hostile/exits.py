"""A target that ends its own process in the middle of a call."""

import os
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    os._exit(0)


def block(channels: int, modes: int) -> Any:
    raise SystemExit(3)  # caught like any exception: the worker goes on
