"""The conformance properties: one package per clause family, each property citing a clause.

>>> from conformance.properties import PROPERTIES
>>> all(p.clause for p in PROPERTIES)
True

``conformance/properties/<family>/`` holds the properties of one clause family (the
family's stem is ``spec.clauses.FAMILY_STEMS``), one module per concern. Importing this
package imports every one of them; a property is declared with
:func:`conformance.framework.conformance_property` (see :mod:`conformance.framework`).
"""

from __future__ import annotations

import importlib
import pkgutil

from conformance.framework import (
    Attempt,
    Property,
    Targets,
    attempt,
    conformance_property,
    find_property,
    registered,
)
from conformance.roles import ROLES

__all__ = [
    "PROPERTIES",
    "ROLES",
    "Attempt",
    "Property",
    "Targets",
    "attempt",
    "conformance_property",
    "find_property",
    "properties_for",
]


def _load_all() -> tuple[Property, ...]:
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(info.name)
    return registered()


PROPERTIES: tuple[Property, ...] = _load_all()
"""Every registered property, in module order."""


def properties_for(roles: set[str] | frozenset[str]) -> tuple[Property, ...]:
    """The properties whose roles are all among ``roles``."""
    return tuple(p for p in PROPERTIES if set(p.roles) <= set(roles))
