"""A bridge module for the whole-module mutation test: spec's conversions, one line each."""

from __future__ import annotations

from typing import Any

import spec


def to_tf(cfg: Any) -> Any:
    return spec.to_tf(cfg)


def to_torch(cfg: Any) -> Any:
    return spec.to_torch(cfg)
