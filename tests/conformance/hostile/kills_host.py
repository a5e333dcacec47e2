"""A target that kills the process that started it (the harness's worker host)."""

import os
import signal
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(1)
