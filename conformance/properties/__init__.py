"""The conformance properties: one module per area of the spec, each property citing a clause.

>>> from conformance.properties import PROPERTIES
>>> all(p.clause for p in PROPERTIES)
True

A property is a check of one clause against the *targets* (the objects under
test, one per role), run over examples drawn from a Hypothesis strategy. It is
declared with :func:`conformance_property`::

    @conformance_property("AGC-003", roles=("agc",), strategy=agc_cases())
    def bound_respected(targets: Targets, case: AGCCase) -> None:
        ...  # call targets.agc(...); raise AssertionError with the values on failure

Rules for authors:

- ``check(targets, example)`` raises ``AssertionError`` (message carrying the
  values) on a violation; any other exception escaping it means the target
  raised where the clause requires it to work, and is reported as such.
- The ``repr`` of every example must be valid Python that rebuilds it (after
  ``import torch`` and ``from conformance.strategies import *``), so a report
  can print a copy-pasteable reproduction.
- Strategies shrink toward simple cases; shared strategies live in
  :mod:`conformance.strategies`, not in property modules.
- ``strategy=None`` declares a single deterministic check, run once.

Roles (attribute names of :class:`Targets`): ``agc``, ``clip``, ``train_step``,
``block``, ``generator``, ``stable_generator``, ``registry``, ``tf_config``,
``torch_config``, ``bridge``, ``spectral_conv``, ``plain_block``, ``register``,
``model_config``, ``build_generator`` (each role's canonical call:
:data:`conformance.targets.ROLE_CALLS`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis.strategies import SearchStrategy

from conformance.roles import ROLES

__all__ = ["PROPERTIES", "ROLES", "Property", "Targets", "conformance_property", "properties_for"]


@dataclass
class Targets:
    """The objects under test, one attribute per role (None: role not checked)."""

    agc: Any = None
    clip: Any = None
    train_step: Any = None
    block: Any = None
    generator: Any = None
    stable_generator: Any = None
    registry: Any = None
    tf_config: Any = None
    torch_config: Any = None
    bridge: Any = None
    spectral_conv: Any = None
    plain_block: Any = None
    register: Any = None
    model_config: Any = None
    build_generator: Any = None
    names: dict[str, str] = field(default_factory=dict)
    """How each target was named on the command line (for reports)."""


@dataclass(frozen=True)
class Property:
    """One checkable property of one clause."""

    id: str
    """Unique id, ``<module>.<function>``, e.g. ``agc.bound_respected``."""
    clause: str
    """The clause id it checks, e.g. ``AGC-003``."""
    roles: tuple[str, ...]
    """Every role the check uses; it is run only when all of them are given."""
    check: Callable[[Targets, Any], None]
    strategy: SearchStrategy[Any] | None = None
    max_examples: int | None = None
    """Cap on examples for an expensive property (the profile's count applies below it)."""
    doc: str = ""


_REGISTRY: dict[str, Property] = {}


def conformance_property(
    clause: str,
    *,
    roles: tuple[str, ...],
    strategy: SearchStrategy[Any] | None = None,
    max_examples: int | None = None,
) -> Callable[[Callable[[Targets, Any], None]], Callable[[Targets, Any], None]]:
    """Register ``check`` as a property of ``clause`` (see the module docstring)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}: allowed are {list(ROLES)}")

    def register(check: Callable[[Targets, Any], None]) -> Callable[[Targets, Any], None]:
        module = check.__module__.rsplit(".", 1)[-1]
        pid = f"{module}.{check.__name__}"
        if pid in _REGISTRY:
            raise RuntimeError(f"property {pid} registered twice")
        _REGISTRY[pid] = Property(
            id=pid,
            clause=clause,
            roles=roles,
            check=check,
            strategy=strategy,
            max_examples=max_examples,
            doc=(check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else "",
        )
        return check

    return register


def _load_all() -> tuple[Property, ...]:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return tuple(_REGISTRY.values())


PROPERTIES: tuple[Property, ...] = _load_all()
"""Every registered property, in module order."""


def properties_for(roles: set[str] | frozenset[str]) -> tuple[Property, ...]:
    """The properties whose roles are all among ``roles``."""
    return tuple(p for p in PROPERTIES if set(p.roles) <= set(roles))
