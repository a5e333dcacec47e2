"""A target that writes garbage into every socket it can find (the worker's channel among them)."""

import os
import stat
from typing import Any


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    for fd in range(3, 256):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, b"\xff" * 64 + b'{"ok": "forged"}')
        except OSError:
            pass
