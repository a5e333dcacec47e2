"""pytest plugin: run the conformance properties inside any project's own test suite.

Installed through the ``pytest11`` entry point ``conformance``. Given a target
for at least one role, pytest collects one test per applicable property, named
``CLAUSE::property`` (e.g. ``AGC-003::agc.rank_le1_is_one_unit``)::

    pytest --conformance-agc=mypkg.clipping:agc --conformance-profile=default
    pytest --conformance-block=src/blocks.py:StableBlock -k BLK-007

Options: ``--conformance-<role>=TARGET`` for each role (``agc``, ``clip``,
``train-step``, ``block``, ``generator``, ``stable-generator``, ``registry``,
``tf-config``, ``torch-config``, ``bridge``, ``spectral-conv``, ``plain-block``,
``register``, ``model-config``, ``build-generator``), ``--conformance-profile``,
``--conformance-seed``, ``--conformance-xfail=FILE``,
``--conformance-time-limit=SECONDS`` and ``--conformance-strict``. A target that
cannot be loaded is a usage error. Entries of the xfail file become ``xfail``
marks; a failing SHOULD clause is reported as xfailed (advisory) unless
``--conformance-strict``. Without any ``--conformance-<role>`` option the
plugin adds nothing and imports nothing beyond this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.roles import ROLES

if TYPE_CHECKING:
    from conformance.properties import Property, Targets
    from conformance.report import Result

__all__ = ["ConformanceFailure", "ConformanceItem"]


_PROFILES = ("quick", "default", "thorough")


def _option(role: str) -> str:
    return "--conformance-" + role.replace("_", "-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "fno-stability conformance properties")
    for role in ROLES:
        group.addoption(
            _option(role),
            dest=f"conformance_{role}",
            metavar="TARGET",
            default=None,
            help=f"check this 'pkg.mod:attr' or 'file.py:attr' as the {role} role",
        )
    group.addoption("--conformance-profile", choices=_PROFILES, default="quick")
    group.addoption("--conformance-seed", type=int, default=0, metavar="N")
    group.addoption("--conformance-xfail", metavar="FILE", default=None)
    group.addoption("--conformance-time-limit", type=float, metavar="SECONDS", default=None)
    group.addoption("--conformance-strict", action="store_true", help="failing SHOULD clauses fail")


def _given(config: pytest.Config) -> dict[str, str]:
    return {
        role: value
        for role in ROLES
        if (value := config.getoption(f"conformance_{role}", default=None)) is not None
    }


class ConformanceFailure(AssertionError):
    """A property failed or errored; carries the runner's :class:`Result`."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


class ConformanceItem(pytest.Item):
    """One property checked against the targets given on the command line."""

    def __init__(
        self, *, prop: Property, targets: Targets, skip: str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.prop, self.targets, self.skip = prop, targets, skip
        self.result: Result | None = None

    def runtest(self) -> None:
        from conformance.runner import run_property

        if self.skip is not None:
            pytest.skip(self.skip)
        opt = self.config.getoption
        result = run_property(
            self.prop,
            self.targets,
            opt("conformance_profile"),
            opt("conformance_seed"),
            opt("conformance_time_limit"),
        )
        self.result = result
        if not result.bad:
            return
        if result.level == "SHOULD" and not opt("conformance_strict"):
            pytest.xfail(f"advisory SHOULD clause {result.clause} fails: {result.message}")
        raise ConformanceFailure(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            r = excinfo.value.result
            parts = [f"{r.clause} ({r.level}) {r.title}: {r.property} {r.status}", r.message]
            if r.example is not None:
                parts += ["counterexample:", r.example]
            if r.reproduction:
                parts += ["reproduce:", r.reproduction]
            return "\n".join(parts)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


_STATE = pytest.StashKey["_Loaded"]()


class _Loaded:
    """Targets and xfail entries, loaded once at configure time."""

    def __init__(self, given: dict[str, str]) -> None:
        from conformance.targets import resolve_targets

        self.given = given
        self.targets, self.unavailable = resolve_targets(given)
        self.entries: list[Any] = []


class ConformanceCollector(pytest.Collector):
    """Holds the conformance items (parent of every :class:`ConformanceItem`)."""

    def collect(self) -> Iterator[pytest.Item]:
        from conformance.runner import _skip_reason, select_properties
        from conformance.xfail import match_xfail

        loaded = self.config.stash[_STATE]
        for prop in select_properties(None):
            if not set(prop.roles) & set(loaded.given):
                continue
            item = ConformanceItem.from_parent(
                self,
                name=f"{prop.clause}::{prop.id}",
                prop=prop,
                targets=loaded.targets,
                skip=_skip_reason(prop, loaded.targets, loaded.unavailable),
            )
            entry = match_xfail(loaded.entries, prop.clause, prop.id)
            if entry is not None:
                item.add_marker(pytest.mark.xfail(reason=entry.reason, strict=False))
            item.add_marker(pytest.mark.conformance)
            yield item


def pytest_configure(config: pytest.Config) -> None:
    """Load the targets (and xfail file) given; a bad one is a usage error."""
    given = _given(config)
    if not given:
        return
    from conformance.targets import TargetError
    from conformance.xfail import XfailError, load_xfail

    config.addinivalue_line(
        "markers", "conformance: a conformance property (added by --conformance-* options)"
    )
    try:
        loaded = _Loaded(given)
        xfail_file = config.getoption("conformance_xfail")
        loaded.entries = load_xfail(xfail_file) if xfail_file else []
    except (TargetError, XfailError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_STATE] = loaded


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Add the conformance collector to the session's own collection."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and _STATE in collector.config.stash:
        report.result.append(
            ConformanceCollector.from_parent(collector, name="conformance", nodeid="conformance")
        )
    return report
