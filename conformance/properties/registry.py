"""Properties of the ``registry`` role: ``resolve(name)`` -> generator class.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("registry."))
['REG-001', 'REG-002', 'REG-003']

Registration, config names and plugins (REG-004..008) need more than
``resolve``; the reference implementation's tests check them.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from conformance.properties import Targets, conformance_property
from conformance.properties.generator import block_swap_problems
from conformance.strategies.blocks import GeneratorCase, generator_cases, unknown_names

BUILTIN = ("hybrid", "stable_hybrid")


@conformance_property("REG-001", roles=("registry",))
def builtins_resolve(targets: Targets, _: None) -> None:
    """'hybrid' and 'stable_hybrid' resolve to distinct classes built with the canonical six."""
    classes = {name: targets.registry(name) for name in BUILTIN}
    for name, cls in classes.items():
        assert isinstance(cls, type) and issubclass(cls, nn.Module), (
            f"resolve({name!r}) returned {cls!r}, not an nn.Module subclass"
        )
        case = GeneratorCase(hidden_channels=2, n_blocks=2, modes=2, C=4, height=4, width=4)
        with torch.no_grad():
            y = case.build(cls)(case.make_input())
        assert tuple(y.shape) == (2, 4, 4, 4, 2), f"{name}: output shape {tuple(y.shape)}"
    assert classes["hybrid"] is not classes["stable_hybrid"], "both names resolve to one class"


@conformance_property(
    "REG-002", roles=("registry",), strategy=generator_cases(kinds=("normal",)), max_examples=10
)
def stable_hybrid_resolves_to_stable_blocks(targets: Targets, case: GeneratorCase) -> None:
    """The 'stable_hybrid' class is the 'hybrid' class with every block stable (BLK-013)."""
    plain = case.build(targets.registry("hybrid"))
    stable = case.build(targets.registry("stable_hybrid"))
    problems = block_swap_problems(plain, stable)
    assert not problems, "; ".join(problems)


@conformance_property("REG-003", roles=("registry",), strategy=unknown_names(), max_examples=30)
def unknown_name_rejected(targets: Targets, name: str) -> None:
    """An unknown name raises LookupError naming the built-in names."""
    try:
        found = targets.registry(name)
    except LookupError as error:
        message = str(error)
        listed = "stable_hybrid" in message and re.search(r"(?<!stable_)hybrid", message)
        assert listed, f"error for {name!r} does not list the available names: {message}"
        return
    except Exception as error:
        raise AssertionError(
            f"resolve({name!r}) raised {type(error).__name__}, not LookupError: {error}"
        ) from error
    raise AssertionError(f"resolve({name!r}) returned {found!r}: expected LookupError")
