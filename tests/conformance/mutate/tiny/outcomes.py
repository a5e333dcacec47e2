"""Hand-written 'mutants' of tiny.agc, one per outcome a mutant can have."""

from __future__ import annotations

import os
import time

import torch


def never_clips(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    """Killed: the gradient is left as it is."""


def hangs(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    """Timed out: never returns."""
    while True:
        time.sleep(0.05)


def exits(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    """Killed by a crash: the worker process ends."""
    os._exit(3)


def per_tensor(parameters, clip_factor=0.01, eps=1e-3):  # type: ignore[no-untyped-def]
    """Killed only by the unit-wise clauses: one norm for the whole tensor."""
    with torch.no_grad():
        for p in parameters:
            if p.grad is None:
                continue
            w = torch.linalg.vector_norm(p).clamp(min=eps)
            g = torch.linalg.vector_norm(p.grad)
            if g > clip_factor * w:
                p.grad.mul_(clip_factor * w / g)
