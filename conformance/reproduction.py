"""Re-run one property on one example, in this process: what a report's ``reproduce:`` runs.

>>> from conformance.reproduction import reproduce
>>> reproduce("config.tf_algorithm_default", {"tf_config": "spec:TFTrainingConfig"}, None)

Unlike a conformance run, this imports the targets into the current process (it is
for debugging a failure the report showed, under a debugger if you like): both halves
of the property run here, the observation passed through the same wire format as
between a worker and the judge. It raises the property's ``AssertionError`` (or the
target's exception) where the report says the check failed, and returns None when
the example passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.properties import PROPERTIES, Property, Targets, find_property
from conformance.targets import load_target

__all__ = ["reproduce"]


def _property(pid: str, module: str | None) -> Property:
    for prop in PROPERTIES:
        if prop.id == pid:
            return prop
    if module is None:
        raise LookupError(f"no property {pid!r}; give module= for one defined outside the harness")
    return find_property(module, pid)


def reproduce(
    property_id: str, targets: Mapping[str, str], example: Any, module: str | None = None
) -> None:
    """Run property ``property_id`` on ``example`` against ``targets`` (``{role: name}``)."""
    prop = _property(property_id, module)
    loaded = Targets(**{role: load_target(text, role) for role, text in targets.items()})
    prop.check(loaded, example)
