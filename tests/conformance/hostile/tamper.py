"""A wrong (per-tensor) AGC whose module tries to forge the verdict: it patches the properties,
the classification and the report, and rewrites stdout when its process exits."""

import atexit
import os
from typing import Any

import torch

import conformance.properties as properties
import conformance.report as report

try:
    import conformance.judge as runner

    runner._classify = lambda *a, **k: ("passed", "", None)  # type: ignore[assignment]
except Exception:
    pass
for prop in properties.PROPERTIES:
    object.__setattr__(prop, "decide", lambda example, seen: None)
properties.Property.check = lambda self, targets, example: None  # type: ignore[method-assign]
report.Report.failing_clauses = lambda self: []  # type: ignore[method-assign]
report.Report.exit_status = property(lambda self: 0)  # type: ignore[assignment,method-assign]
atexit.register(lambda: os.write(1, b'{"summary": {"conforms": true, "exit_status": 0}}'))


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    for p in params:
        if p.grad is None:
            continue
        bound = clip_factor * p.detach().norm().clamp_min(eps)
        norm = p.grad.norm()
        if norm > bound:
            p.grad.mul_(bound / norm)
