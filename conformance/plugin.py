"""pytest plugin: run the conformance properties inside any project's own test suite.

Installed through the ``pytest11`` entry point ``conformance``. Given a target
for at least one role, pytest collects one test per applicable property, named
``CLAUSE::property`` (e.g. ``AGC-003::agc.rank_le1_is_one_unit``)::

    pytest --conformance-agc=mypkg.clipping:agc --conformance-profile=default
    pytest --conformance-block=src/blocks.py:StableBlock -k BLK-007

Options: ``--conformance-<role>=TARGET`` for each role of
:data:`conformance.roles.ROLE_TABLE`, ``--conformance-profile``,
``--conformance-seed``, ``--conformance-xfail=FILE``,
``--conformance-time-limit=SECONDS``, ``--conformance-call-limit=SECONDS``,
``--conformance-threads=N``, the domain (``--conformance-dtypes``,
``--conformance-max-rank``, ``--conformance-clip-factor``, ``--conformance-min-size``,
``--conformance-distributed``) and ``--conformance-strict``.

The targets are never imported into the pytest process: the plugin starts a judge
process of its own (the installed distribution, whatever folder pytest runs in), which
loads each target in a worker process, exactly as ``conformance check`` does; each item
asks the judge for one property's result. A target that cannot be loaded is a usage
error. Entries of the xfail file become ``xfail`` marks; a failing SHOULD clause or
strict-tier clause is reported as xfailed (advisory) unless ``--conformance-strict``. Without any
``--conformance-<role>`` option the plugin adds nothing and imports nothing beyond
this module and the role table.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.roles import ROLE_TABLE

__all__ = ["ConformanceFailure", "ConformanceItem", "Judge"]

_PROFILES = ("quick", "default", "thorough")
_BAD = ("failed", "error", "crashed", "timeout")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "fno-stability conformance properties")
    for row in ROLE_TABLE:
        group.addoption(
            row.plugin_option,
            dest=f"conformance_{row.name}",
            metavar="TARGET",
            default=None,
            help=f"check this 'pkg.mod:attr' or 'file.py:attr' as the {row.name} role",
        )
    group.addoption("--conformance-profile", choices=_PROFILES, default="quick")
    group.addoption("--conformance-seed", type=int, default=0, metavar="N")
    group.addoption("--conformance-xfail", metavar="FILE", default=None)
    group.addoption("--conformance-time-limit", type=float, metavar="SECONDS", default=None)
    group.addoption("--conformance-call-limit", type=float, metavar="SECONDS", default=None)
    group.addoption("--conformance-threads", type=int, metavar="N", default=1)
    group.addoption("--conformance-dtypes", metavar="LIST", help="narrow the domain: float32,...")
    group.addoption("--conformance-max-rank", type=int, metavar="N", help="narrow the domain")
    group.addoption("--conformance-clip-factor", metavar="LOW:HIGH", help="narrow the domain")
    group.addoption("--conformance-min-size", type=int, metavar="N", help="narrow the domain")
    group.addoption(
        "--conformance-distributed",
        type=int,
        metavar="N",
        help="check AGC-035/AGC-036 on N gloo ranks (default: not applicable)",
    )
    group.addoption("--conformance-strict", action="store_true", help="failing SHOULD clauses fail")


def _given(config: pytest.Config) -> dict[str, str]:
    return {
        row.name: value
        for row in ROLE_TABLE
        if (value := config.getoption(f"conformance_{row.name}", default=None)) is not None
    }


class Judge:
    """The judge process the plugin talks to (JSON lines over its stdin and stdout)."""

    def __init__(self) -> None:
        from conformance._internal.serve import BOOT
        from conformance._internal.session import worker_sys_path

        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, json.dumps(worker_sys_path())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            start_new_session=True,  # Ctrl-C reaches pytest, which stops the judge
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            raise RuntimeError(f"the conformance judge process ended (status {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask({"op": "bye"})
        with contextlib.suppress(Exception):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class ConformanceFailure(AssertionError):
    """A property was bad (failed, errored, crashed, timed out); carries its result dict."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("message", ""))
        self.result = result


class ConformanceItem(pytest.Item):
    """One property, checked by the plugin's judge against the targets given."""

    def __init__(self, *, entry: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.result: dict[str, Any] | None = None

    def runtest(self) -> None:
        if self.entry["skip"] is not None:
            pytest.skip(self.entry["skip"])
        judge: Judge = self.config.stash[_JUDGE]
        result = judge.ask({"op": "run", "property": self.entry["id"]})["result"]
        self.result = result
        if result["status"] not in _BAD:
            return
        if not self.config.getoption("conformance_strict"):
            if result["level"] == "SHOULD":
                pytest.xfail(
                    f"advisory SHOULD clause {result['clause']} fails: {result['message']}"
                )
            if result.get("tier") == "strict":
                pytest.xfail(
                    f"strict-tier clause {result['clause']} fails (counted with "
                    f"--conformance-strict): {result['message']}"
                )
        raise ConformanceFailure(result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            r = excinfo.value.result
            parts = [f"{r['clause']} ({r['level']}) {r['title']}: {r['property']} {r['status']}"]
            parts.append(r["message"])
            if r.get("output"):
                parts += ["the target printed:", r["output"]]
            if r.get("example") is not None:
                parts += ["counterexample:", r["example"]]
            if r.get("reproduction"):
                parts += ["reproduce:", r["reproduction"]]
            return "\n".join(parts)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


_JUDGE = pytest.StashKey[Judge]()
_LISTED = pytest.StashKey[list[dict[str, Any]]]()


class ConformanceCollector(pytest.Collector):
    """Holds the conformance items (parent of every :class:`ConformanceItem`)."""

    def collect(self) -> Iterator[pytest.Item]:
        for entry in self.config.stash[_LISTED]:
            item = ConformanceItem.from_parent(
                self, name=f"{entry['clause']}::{entry['id']}", entry=entry
            )
            if entry["xfail"] is not None:
                item.add_marker(pytest.mark.xfail(reason=entry["xfail"], strict=False))
            item.add_marker(pytest.mark.conformance)
            yield item


def pytest_configure(config: pytest.Config) -> None:
    """Start the judge and load the targets given; one that cannot be loaded is a usage error."""
    given = _given(config)
    if not given:
        return
    config.addinivalue_line(
        "markers", "conformance: a conformance property (added by --conformance-* options)"
    )
    opt = config.getoption
    xfail = opt("conformance_xfail")
    judge = Judge()
    reply = judge.ask(
        {
            "op": "start",
            "targets": given,
            "profile": opt("conformance_profile"),
            "seed": opt("conformance_seed"),
            "time_limit": opt("conformance_time_limit"),
            "call_limit": opt("conformance_call_limit"),
            "threads": opt("conformance_threads"),
            "xfail": str(Path(xfail).resolve()) if xfail else None,
            "domain": _domain(config),
        }
    )
    if "error" in reply:
        judge.close()
        raise pytest.UsageError(reply["error"])
    config.stash[_JUDGE] = judge
    config.stash[_LISTED] = reply["properties"]


def _domain(config: pytest.Config) -> dict[str, Any]:
    opt = config.getoption
    found: dict[str, Any] = {}
    if opt("conformance_dtypes"):
        found["dtypes"] = [d.strip() for d in opt("conformance_dtypes").split(",") if d.strip()]
    for key in ("max_rank", "clip_factor", "min_size", "distributed"):
        value = opt(f"conformance_{key}")
        if value is not None:
            found[key] = value
    return found


def pytest_unconfigure(config: pytest.Config) -> None:
    judge = config.stash.get(_JUDGE, None)
    if judge is not None:
        judge.close()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """Add the conformance collector to the session's own collection."""
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and _JUDGE in collector.config.stash:
        report.result.append(
            ConformanceCollector.from_parent(collector, name="conformance", nodeid="conformance")
        )
    return report
