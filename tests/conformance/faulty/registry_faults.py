"""Faulty registries (``resolve(name) -> class``), each breaking one REG clause."""

from __future__ import annotations

from torch import nn

from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.registry import resolve_generator

__all__ = ["hybrid_for_stable", "one_class_for_both", "silent_fallback", "unlisted_key_error"]


def hybrid_for_stable(name: str) -> type[nn.Module]:
    """Returns the plain generator for 'stable_hybrid' (REG-002)."""
    return resolve_generator("hybrid" if name == "stable_hybrid" else name)


def one_class_for_both(name: str) -> type[nn.Module]:
    """Both built-in names give the stable class (REG-001: they must be distinct)."""
    return StableHybridGenerator if name in ("hybrid", "stable_hybrid") else resolve_generator(name)


def silent_fallback(name: str) -> type[nn.Module]:
    """Unknown names quietly fall back to 'hybrid' (REG-003)."""
    return {"stable_hybrid": StableHybridGenerator}.get(name, HybridUNOGenerator)


def unlisted_key_error(name: str) -> type[nn.Module]:
    """Unknown names raise a bare KeyError that lists nothing (REG-009; REG-003 holds)."""
    table: dict[str, type[nn.Module]] = {
        "hybrid": HybridUNOGenerator,
        "stable_hybrid": StableHybridGenerator,
    }
    return table[name]
