"""conformance — a Hypothesis-driven check of any implementation against the spec clauses.

>>> import conformance
>>> report = conformance.run_conformance(
...     {"torch_config": "spec:TorchTrainingConfig"}, clauses=["CFG-001", "CFG-002"])
>>> report.exit_status, [r.status for r in report.results]
(0, ['passed', 'passed'])

The public API is loaded on first use, so ``import conformance`` (which the
pytest plugin triggers in every pytest run) stays cheap and needs neither torch
nor pytest:

- :func:`run_conformance` (targets -> :class:`Report`), :func:`run_property`,
  :class:`Options` (worker threads, memory cap, import limit)
- :data:`ROLE_TABLE` (one :class:`Role` per role: option, canonical call, bundled
  target), :data:`ROLES`; :class:`TargetError`, :func:`load_target`
- :class:`Report`, :class:`Result`; :class:`Profile`, :data:`PROFILES`
- :func:`load_xfail` / :func:`parse_xfail`; :func:`reproduce`
- :class:`Targets`, :class:`Property`, :data:`PROPERTIES`

Targets are never imported into the calling process: each is loaded and called in a
worker process, and only data comes back (see the README's trust model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance._internal.session import Options
    from conformance.judge import run_conformance, run_property
    from conformance.profiles import PROFILES, Profile
    from conformance.properties import PROPERTIES, Property, Targets
    from conformance.report import Report, Result
    from conformance.reproduce import reproduce
    from conformance.roles import ROLE_TABLE, ROLES, Role
    from conformance.targets import TargetError, load_target
    from conformance.xfail import load_xfail, parse_xfail

__all__ = [
    "PROFILES",
    "PROPERTIES",
    "ROLES",
    "ROLE_TABLE",
    "Options",
    "Profile",
    "Property",
    "Report",
    "Result",
    "Role",
    "TargetError",
    "Targets",
    "load_target",
    "load_xfail",
    "parse_xfail",
    "reproduce",
    "run_conformance",
    "run_property",
]

_HOME = {
    "Options": "_session",
    "PROFILES": "profiles",
    "Profile": "profiles",
    "PROPERTIES": "properties",
    "Property": "properties",
    "Targets": "properties",
    "Report": "report",
    "Result": "report",
    "reproduce": "reproduce",
    "ROLE_TABLE": "roles",
    "ROLES": "roles",
    "Role": "roles",
    "run_conformance": "judge",
    "run_property": "judge",
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
