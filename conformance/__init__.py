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
- :class:`Report` (the data and the verdict; :mod:`conformance.writers` writes it as
  text, JSON or JUnit XML), :class:`Result`; :class:`Profile`, :data:`PROFILES`
- :func:`load_xfail` / :func:`parse_xfail`; :func:`reproduce`
- :class:`Targets`, :class:`Property`, :data:`PROPERTIES`

Targets are never imported into the calling process: each is loaded and called in a
worker process, and only data comes back (see the README's trust model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The one place that says where each public name lives: mypy checks these imports, and
# the lazy loader below reads its table from them (_homes), so the two cannot disagree.
if TYPE_CHECKING:
    from conformance._internal.session import Options
    from conformance.framework import Property, Targets
    from conformance.judge import run_conformance, run_property
    from conformance.profiles import PROFILES, Profile
    from conformance.properties import PROPERTIES
    from conformance.report import Report, Result
    from conformance.reproduction import reproduce
    from conformance.roles import ROLE_TABLE, ROLES, Role
    from conformance.targets import TargetError, load_target
    from conformance.xfail import load_xfail, parse_xfail

# Written out for the tools that read it without running this module (mkdocstrings, type
# checkers, IDEs); tests/test_exports.py checks that it names the imports above.
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

_HOME: dict[str, str] = {}


def _homes() -> dict[str, str]:
    """Public name -> the module it is loaded from, read from the ``TYPE_CHECKING`` imports
    of this file's source on first use (so ``import conformance`` parses nothing)."""
    if not _HOME:
        import ast
        from pathlib import Path

        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                for imp in node.body:
                    if isinstance(imp, ast.ImportFrom) and imp.module:
                        _HOME.update((a.asname or a.name, imp.module) for a in imp.names)
    return _HOME


def __getattr__(name: str) -> Any:
    home = _homes().get(name) if name in __all__ else None
    if home is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
