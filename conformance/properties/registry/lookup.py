"""Properties of the ``registry`` role: ``resolve(name)`` -> generator class.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("registry.lookup"))
['REG-001', 'REG-002', 'REG-003', 'REG-009']

Registration, config names and building from a config are in
:mod:`conformance.properties.registry.api`; REG-006 and REG-007 need an installed
distribution and are checked by the reference implementation's tests.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from conformance.framework import Targets, attempt, conformance_property
from conformance.properties.blocks.generator import block_swap_problems, structure
from conformance.strategies.blocks import GeneratorCase, generator_cases, unknown_names
from conformance.strategies.near_miss import names_beside, near_misses
from spec import BUILTIN_ARCHITECTURES

BUILTIN = BUILTIN_ARCHITECTURES
"""The names every conforming registry resolves (``spec.BUILTIN_ARCHITECTURES``)."""
UNKNOWN = names_beside(BUILTIN_ARCHITECTURES, unknown_names())
"""Names the registry must not know: near misses of the built-in names (case, whitespace,
separators, 'default', 'stable', ...) beside misspellings and random text."""
NEAR_MISSES: tuple[str, ...] = near_misses(BUILTIN_ARCHITECTURES)
"""Every near miss of the built-in names, run as explicit examples on every profile."""
_SMALL = GeneratorCase(hidden_channels=2, n_blocks=2, modes=2, C=4, height=8, width=8)


def _act_builtins(targets: Targets, _: None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    classes = {}
    for name in BUILTIN:
        cls = targets.registry(name)
        classes[name] = cls
        seen: dict[str, Any] = {
            "module_class": isinstance(cls, type) and issubclass(cls, nn.Module)
        }
        seen["repr"] = repr(cls)
        if seen["module_class"]:
            with torch.no_grad():
                y = _SMALL.build(cls)(_SMALL.make_input())
            seen["shape"] = list(y.shape) if isinstance(y, torch.Tensor) else None
        out[name] = seen
    out["distinct"] = classes["hybrid"] is not classes["stable_hybrid"]
    return out


@conformance_property("REG-001", roles=("registry",), act=_act_builtins)
def builtins_resolve(_: None, seen: dict[str, Any]) -> None:
    """'hybrid' and 'stable_hybrid' resolve to distinct classes built with the canonical six."""
    for name in BUILTIN:
        one = seen[name]
        assert one["module_class"], (
            f"resolve({name!r}) returned {one['repr']}, not an nn.Module subclass"
        )
        assert one["shape"] == [2, 8, 8, 4, 2], f"{name}: output shape {one['shape']}"
    assert seen["distinct"], "both names resolve to one class"


def _act_swap(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    plain = case.build(targets.registry("hybrid"))
    stable = case.build(targets.registry("stable_hybrid"))
    plain_summary, stable_summary = structure(plain, stable)
    return {"plain": plain_summary, "stable": stable_summary}


@conformance_property(
    "REG-002",
    roles=("registry",),
    strategy=lambda domain: generator_cases(kinds=("normal",), min_size=domain.min_size),
    max_examples=10,
    act=_act_swap,
)
def stable_hybrid_resolves_to_stable_blocks(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """The 'stable_hybrid' class is the 'hybrid' class with every block stable (BLK-013)."""
    problems = block_swap_problems(seen["plain"], seen["stable"])
    assert not problems, "; ".join(problems)


def _act_unknown(targets: Targets, name: str) -> dict[str, Any]:
    got = attempt(targets.registry, name)
    return {
        "raised": got.raised,
        "returned": None if got.ok and got.value is None else repr(got.value),
    }


@conformance_property(
    "REG-003",
    roles=("registry",),
    strategy=UNKNOWN,
    examples=NEAR_MISSES,
    max_examples=30,
    act=_act_unknown,
)
def unknown_name_refused(name: str, seen: dict[str, Any]) -> None:
    """An unknown name raises (it returns nothing, no default class)."""
    if seen["raised"] is None:
        raise AssertionError(f"resolve({name!r}) returned {seen['returned']}: expected an error")


@conformance_property(
    "REG-009",
    roles=("registry",),
    strategy=UNKNOWN,
    examples=NEAR_MISSES,
    max_examples=30,
    act=_act_unknown,
)
def unknown_name_rejected(name: str, seen: dict[str, Any]) -> None:
    """An unknown name raises LookupError naming the built-in names."""
    info = seen["raised"]
    if info is None:
        raise AssertionError(f"resolve({name!r}) returned {seen['returned']}: expected LookupError")
    if not info.is_a("LookupError"):
        raise AssertionError(
            f"resolve({name!r}) raised {info.name}, not LookupError: {info.message}"
        )
    listed = all(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", info.message) for n in BUILTIN)
    assert listed, f"error for {name!r} does not list the available names: {info.message}"
