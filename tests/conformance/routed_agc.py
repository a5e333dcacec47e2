"""The bundled AGC forced down each of its grouping paths, as module-level targets a conformance
worker can import (tests/test_agc_properties.py checks every AGC property on each).

The drawn gradients are small, so the limits of :mod:`impl._agc_tasks` are lowered for the
duration of each call, inside the worker that makes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import impl
import impl._agc_tasks as tasks

ROUTINGS: dict[str, dict[str, int]] = {
    "every_gradient_large": {"PACK_LIMIT": 0},
    "row_blocks_of_7": {"PACK_LIMIT": 0, "BLOCK": 7},
    "packs_of_5": {"PACK_MAX": 5},
}
"""Limits that send gradients down the other paths: rows and single tensors, rows split into
many blocks, packs split into many."""


@contextlib.contextmanager
def _limits(values: dict[str, int]) -> Iterator[None]:
    saved = {name: getattr(tasks, name) for name in values}
    try:
        for name, value in values.items():
            setattr(tasks, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(tasks, name, value)


def every_gradient_large(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> Any:
    with _limits(ROUTINGS["every_gradient_large"]):
        return impl.adaptive_gradient_clip_(parameters, clip_factor, eps)


def row_blocks_of_7(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> Any:
    with _limits(ROUTINGS["row_blocks_of_7"]):
        return impl.adaptive_gradient_clip_(parameters, clip_factor, eps)


def packs_of_5(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> Any:
    with _limits(ROUTINGS["packs_of_5"]):
        return impl.adaptive_gradient_clip_(parameters, clip_factor, eps)


def no_foreach(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> Any:
    return impl.adaptive_gradient_clip_(parameters, clip_factor, eps, foreach=False)


def routed_clip(parameters: Any, algorithm: str, value: float | None) -> Any:
    """The dispatch with every gradient down the rows path."""
    with _limits(ROUTINGS["every_gradient_large"]):
        return impl.clip_gradients_(parameters, algorithm, value)


ROUTES = (every_gradient_large, row_blocks_of_7, packs_of_5, no_foreach)
