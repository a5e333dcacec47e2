"""Task 2.3's registry: a dict; an unknown name raises ValueError listing the known ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faithful.layers import HybridUNOGenerator, StableHybridGenerator

_REGISTRY: dict[str, type] = {"hybrid": HybridUNOGenerator, "stable_hybrid": StableHybridGenerator}


def resolve_generator(name: str) -> type:
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; available: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def register(name: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        _REGISTRY[name] = cls
        return cls

    return add


@dataclass
class ModelConfig:
    architecture: str = "hybrid"
    N: int = 64
    gridsize: int = 2
    fno_width: int = 32
    fno_blocks: int = 4
    fno_modes: int = 12


def build_generator(config: Any) -> Any:
    cls = resolve_generator(config.architecture)
    return cls(1, 2, config.fno_width, config.fno_blocks, config.fno_modes, config.gridsize**2)
