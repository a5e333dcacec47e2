"""conformance — a Hypothesis-driven check of any implementation against the spec clauses.

>>> import conformance
>>> report = conformance.run_conformance(
...     {"torch_config": "spec:TorchTrainingConfig"}, clauses=["CFG-001", "CFG-002"])
>>> report.exit_status, [r.status for r in report.results]
(0, ['passed', 'passed'])

The public API is loaded on first use, so ``import conformance`` (which the
pytest plugin triggers in every pytest run) stays cheap and needs neither torch
nor pytest:

- :func:`run_conformance` (targets -> :class:`Report`), :func:`run_property`
- :func:`load_target` / :class:`TargetError`, :data:`DEFAULT_TARGETS`, :data:`ROLE_CALLS`
- :class:`Report`, :class:`Result`; :class:`Profile`, :data:`PROFILES`
- :func:`load_xfail` / :func:`parse_xfail`
- :class:`Targets`, :class:`Property`, :data:`PROPERTIES`, :data:`ROLES`
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.profiles import PROFILES, Profile
    from conformance.properties import PROPERTIES, ROLES, Property, Targets
    from conformance.report import Report, Result
    from conformance.runner import run_conformance, run_property
    from conformance.targets import DEFAULT_TARGETS, ROLE_CALLS, TargetError, load_target
    from conformance.xfail import load_xfail, parse_xfail

__all__ = [
    "DEFAULT_TARGETS",
    "PROFILES",
    "PROPERTIES",
    "ROLES",
    "ROLE_CALLS",
    "Profile",
    "Property",
    "Report",
    "Result",
    "TargetError",
    "Targets",
    "load_target",
    "load_xfail",
    "parse_xfail",
    "run_conformance",
    "run_property",
]

_HOME = {
    "PROFILES": "profiles",
    "Profile": "profiles",
    "PROPERTIES": "properties",
    "ROLES": "properties",
    "Property": "properties",
    "Targets": "properties",
    "Report": "report",
    "Result": "report",
    "run_conformance": "runner",
    "run_property": "runner",
    "DEFAULT_TARGETS": "targets",
    "ROLE_CALLS": "targets",
    "TargetError": "targets",
    "load_target": "targets",
    "load_xfail": "xfail",
    "parse_xfail": "xfail",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"conformance.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
