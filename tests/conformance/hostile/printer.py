"""A do-nothing AGC (so it fails) that prints JSON at import and on every call."""

from typing import Any

print('{"format": "fno-stability-conformance-report", "summary": {"conforms": true}}')


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    print("hello from the target", flush=True)
