"""The conformance report: one :class:`Result` per property, as text, JSON or JUnit XML.

>>> from conformance.report import Report, Result
>>> r = Report(spec_version="0.1.0", targets={"agc": "impl:adaptive_gradient_clip_"},
...            profile="quick", seed=0, results=[Result(
...                clause="AGC-003", level="MUST", title="rank <= 1 is one unit",
...                property="agc.rank_le1_is_one_unit", roles=("agc",), status="passed",
...                examples=10, seconds=0.25)])
>>> r.exit_status, r.summary()["passed"]
(0, 1)
>>> print(r.to_text().splitlines()[-1])
summary: 1 passed in 0.25 s: conforms to the plan

Statuses: ``passed``; ``failed`` (the clause is violated: a counterexample);
``error`` (the target raised where the clause asks it to work, or returned something
the check cannot use); ``crashed`` (the worker process running the target ended: an
exit, a signal such as a segfault, running out of memory, or garbage on the
channel); ``timeout`` (the target did not answer within the time limit and was
killed); ``not_applicable`` (outside the domain the target declares or the command
line narrows: dtypes, ranks, clip factors, sizes); ``skipped`` (a role the property
needs was not given); ``xfailed`` / ``xpassed`` (listed in the xfail file).
``failed``, ``error``, ``crashed`` and ``timeout`` are *bad*. By default a bad result
counts (fails the run) when its clause is a MUST of the plan tier; bad strict-tier
clauses are reported beside the verdict ("conforms to the plan; 3 strict clauses
fail") and SHOULD clauses are advisory; with ``strict`` every bad result counts.
A bad result whose counterexample also breaks a more basic clause has
``follows_from`` set to it; :meth:`Report.root_causes` are the failing clauses that
follow from no other.

Exit statuses (:attr:`Report.exit_status`): 0 a complete verdict, every counted clause
passes; 1 a counted clause is bad; 3 incomplete: a role that was asked for ran no
property (all skipped); 130 / 143 interrupted by SIGINT / SIGTERM (the results that
finished are kept, ``interrupted`` names the signal). 2 (usage error, unloadable
target) comes from the command line before any report exists.

JSON layout (stable; ``format_version`` changes if a field changes meaning)::

    {
      "format": "fno-stability-conformance-report", "format_version": 2,
      "spec_version": "0.1.0",          # spec.SPEC_VERSION the clauses come from
      "targets": {"agc": "impl:adaptive_gradient_clip_", ...},   # role -> target checked
      "resolved": {"agc": {"target": ..., "object": "impl.agc:adaptive_gradient_clip_",
                           "file": "/abs/path/impl/agc.py", "kind": "function"}},
      "unavailable": {"role": "why it was skipped"},
      "profile": "quick", "seed": 0, "strict": false, "interrupted": null,
      "results": [{
        "clause": "AGC-003", "level": "MUST", "title": "...",
        "property": "agc.rank_le1_is_one_unit", "roles": ["agc"],
        "status": "passed",      # see above
        "examples": 10,          # examples checked (before the first failure, if any)
        "seconds": 0.25,         # wall time of the property, shrinking included
        "message": "",           # why it failed / errored / crashed / was skipped
        "example": null,         # repr of the shrunk counterexample (Python that rebuilds it)
        "reproduction": null,    # a script that re-runs the check on that example
        "output": null,          # what the target printed (tail), for bad results
        "xfail_reason": null     # the xfail file's reason, when an entry matched
      }, ...],
      "summary": {"passed": 40, "failed": 0, ..., "total": 40, "seconds": 12.5,
                  "failing_clauses": [], "idle_roles": {}, "conforms": true,
                  "complete": true, "exit_status": 0},
      "warnings": ["xfail entry 'AGC-099' matches no property"]
    }

Every string in every format is made safe first (:func:`clean`): control characters
and lone surrogates are escaped, very long texts cut (the cut says how much), NumPy
scalars shown as plain numbers — a target cannot rewrite the terminal or break the
file.
"""

from __future__ import annotations

import builtins
import json
import re
import textwrap
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree as ET

__all__ = ["BAD", "STATUSES", "PropertyError", "Report", "Result", "Status", "clean"]

Status = Literal[
    "passed",
    "failed",
    "error",
    "crashed",
    "timeout",
    "not_applicable",
    "skipped",
    "xfailed",
    "xpassed",
]
STATUSES: tuple[str, ...] = typing.get_args(Status)
"""Every status, in report order (from :data:`Status`)."""
BAD: tuple[str, ...] = ("failed", "error", "crashed", "timeout")
"""Statuses that count against conformance."""
_IDLE = ("skipped", "not_applicable")
FORMAT = "fno-stability-conformance-report"
FORMAT_VERSION = 2
MAX_TEXT = 6000
_EXIT_FOR_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NP_SCALAR = re.compile(r"\bnp\.(?:float|int|uint|complex|bool|longdouble)\w*\(([^()]*)\)")


def clean(text: Any, limit: int = MAX_TEXT) -> str:
    """``text`` safe to print and store: control characters (but newline and tab) and lone
    surrogates escaped, NumPy scalar reprs shown as numbers, cut after ``limit`` characters.

    >>> clean("a\\x1b[2Jb\\udc80 np.float64(1.5)")
    'a\\\\x1b[2Jb\\\\udc80 1.5'
    >>> clean("x" * 10, limit=4)
    'xxxx ... (6 more characters)'
    """
    text = str(text)
    text = _NP_SCALAR.sub(r"\1", text)
    text = _UNSAFE.sub(lambda m: repr(m.group())[1:-1] if m.group() != "\r" else "\\r", text)
    if len(text) > limit:
        text = text[:limit] + f" ... ({len(text) - limit} more characters)"
    return text


class PropertyError(RuntimeError):
    """A property errored: the target raised, crashed, hung, or returned something unusable."""


@dataclass
class Result:
    """The outcome of one property against the targets."""

    clause: str
    level: str
    """MUST or SHOULD (``?`` for a clause id the spec does not know)."""
    title: str
    property: str
    roles: tuple[str, ...]
    status: Status
    examples: int = 0
    seconds: float = 0.0
    message: str = ""
    example: str | None = None
    """``repr`` of the (shrunk) counterexample."""
    reproduction: str | None = None
    xfail_reason: str | None = None
    output: str | None = None
    """What the target printed while the property ran (tail), for bad results."""
    tier: str = "plan"
    """``plan`` (counted by default) or ``strict`` (counted with --strict): see spec.clauses."""
    why: str = ""
    """Why the clause is in its tier."""
    follows_from: str | None = None
    """For a bad result: the more basic clause its counterexample also breaks (its root cause)."""

    def __post_init__(self) -> None:
        self.message = clean(self.message)
        self.title = clean(self.title, 200)
        for name in ("example", "reproduction", "output", "xfail_reason"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, clean(value, 4 * MAX_TEXT if name != "output" else 2000))

    @builtins.property
    def bad(self) -> bool:
        """Failed, errored, crashed or timed out."""
        return self.status in BAD

    def counts(self, strict: bool) -> bool:
        """Whether this result, if bad, fails the run: a plan-tier MUST, or anything if strict."""
        return self.bad and (strict or (self.level == "MUST" and self.tier == "plan"))

    def raise_for_status(self) -> None:
        """Raise if the property failed (AssertionError) or was otherwise bad
        (:class:`PropertyError`), with the message and the counterexample.

        >>> Result("CFG-002", "MUST", "", "cfg.p", ("tf_config",), "passed").raise_for_status()
        """
        if not self.bad:
            return
        text = f"{self.clause} {self.property} {self.status}: {self.message}"
        if self.example is not None:
            text += f"\ncounterexample: {self.example}"
        if self.status == "failed":
            raise AssertionError(text)
        raise PropertyError(text)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["roles"] = list(self.roles)
        out["seconds"] = round(self.seconds, 4)
        return out


@dataclass
class Report:
    """Every result of one run, with what was checked and how."""

    spec_version: str
    targets: dict[str, str]
    profile: str
    seed: int
    results: list[Result]
    strict: bool = False
    """Count SHOULD failures toward the exit status too."""
    unavailable: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    resolved: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per role: the target as given, the object loaded (module:qualname), its file."""
    requested: list[str] | None = None
    """Roles asked for (default: those of ``targets``); each must run a property."""
    interrupted: str | None = None
    """``SIGINT`` / ``SIGTERM`` when the run was stopped before it finished."""

    def __post_init__(self) -> None:
        self.targets = {clean(k, 100): clean(v, 1000) for k, v in self.targets.items()}
        self.warnings = [clean(w) for w in self.warnings]
        self.unavailable = {k: clean(v) for k, v in self.unavailable.items()}
        self.resolved = {
            role: {k: clean(v, 1000) for k, v in info.items()}
            for role, info in self.resolved.items()
        }

    def failing_clauses(self) -> list[str]:
        """Clause ids with a bad property that counts (plan-tier MUST, or any if strict)."""
        ids = [r.clause for r in self.results if r.counts(self.strict)]
        return sorted(set(ids), key=ids.index)

    def root_causes(self) -> list[str]:
        """The failing (counted) clauses not explained by another failing clause: a clause is
        explained when every bad result of it follows from another failing clause."""
        failing = self.failing_clauses()
        causes = []
        for clause in failing:
            mine = [r for r in self.results if r.clause == clause and r.counts(self.strict)]
            if not all(r.follows_from in failing and r.follows_from != clause for r in mine):
                causes.append(clause)
        return causes

    def strict_failures(self) -> list[str]:
        """Bad strict-tier MUST clauses, which the default verdict does not count."""
        ids = [
            r.clause
            for r in self.results
            if r.bad and not self.strict and r.level == "MUST" and r.tier == "strict"
        ]
        return sorted(set(ids), key=ids.index)

    def advisory_failures(self) -> list[str]:
        """Bad SHOULD clauses (advisory unless strict)."""
        ids = [r.clause for r in self.results if r.bad and not self.strict and r.level == "SHOULD"]
        return sorted(set(ids), key=ids.index)

    def idle_roles(self) -> dict[str, str]:
        """Roles asked for that ran no property, each with why (the first skip reason)."""
        wanted = self.requested if self.requested is not None else list(self.targets)
        idle = {}
        for role in wanted:
            mine = [r for r in self.results if role in r.roles]
            if any(r.status not in _IDLE for r in mine):
                continue
            reason = next((r.message for r in mine if r.message), "")
            idle[role] = reason or "no property of this selection uses it"
        return idle

    @property
    def exit_status(self) -> int:
        """130/143 interrupted; 1 a counted clause is bad; 3 a role ran nothing; else 0."""
        if self.interrupted:
            return _EXIT_FOR_SIGNAL.get(self.interrupted, 130)
        if self.failing_clauses():
            return 1
        if self.idle_roles():
            return 3
        return 0

    def summary(self) -> dict[str, Any]:
        counts: dict[str, Any] = {s: 0 for s in STATUSES}
        for r in self.results:
            counts[r.status] += 1
        counts["total"] = len(self.results)
        counts["seconds"] = round(sum(r.seconds for r in self.results), 3)
        counts["failing_clauses"] = self.failing_clauses()
        counts["root_causes"] = self.root_causes()
        counts["strict_failures"] = self.strict_failures()
        counts["advisory_failures"] = self.advisory_failures()
        counts["idle_roles"] = self.idle_roles()
        counts["conforms"] = self.exit_status == 0
        counts["complete"] = not self.interrupted and not counts["idle_roles"]
        counts["exit_status"] = self.exit_status
        return counts

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec_version": self.spec_version,
            "targets": dict(self.targets),
            "resolved": {k: dict(v) for k, v in self.resolved.items()},
            "unavailable": dict(self.unavailable),
            "profile": self.profile,
            "seed": self.seed,
            "strict": self.strict,
            "interrupted": self.interrupted,
            "results": [r.to_dict() for r in self.results],
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    # -- text -------------------------------------------------------------------------------

    def summary_line(self) -> str:
        s = self.summary()
        parts = [f"{s[k]} {k}" for k in STATUSES if s[k]]
        head = f"summary: {', '.join(parts) or 'nothing checked'} in {s['seconds']:.2f} s: "
        if self.interrupted:
            return head + f"INTERRUPTED by {self.interrupted}: no verdict (partial results above)"
        failing, causes = s["failing_clauses"], s["root_causes"]
        tail = self._beside()
        if failing:
            scope = "(strict)" if self.strict else "to the plan"
            cause = "root cause" if len(causes) == 1 else "root causes"
            n = len(failing)
            fail = "1 clause fails" if n == 1 else f"{n} clauses fail"
            if failing == causes:
                listed = f"{fail}: {', '.join(failing)}"
            else:
                listed = (
                    f"{fail}, {len(causes)} {cause}: {', '.join(causes)}; all failing: "
                    f"{', '.join(failing)}"
                )
            return head + f"does NOT conform {scope} ({listed})" + tail
        idle = s["idle_roles"]
        if idle:
            why = "; ".join(f"{role}: {reason}" for role, reason in idle.items())
            return head + f"INCOMPLETE: no property ran for {', '.join(idle)} ({why})" + tail
        verdict = (
            "conforms (strict: every clause checked passes)"
            if self.strict
            else "conforms to the plan"
        )
        return head + verdict + tail

    def _beside(self) -> str:
        """'; 3 strict clauses fail: ...; advisory SHOULD failures: ...' (default mode only)."""
        parts = []
        strict, advisory = self.strict_failures(), self.advisory_failures()
        if strict:
            n = len(strict)
            parts.append(f"{n} strict clause{'s' if n != 1 else ''} fail: {', '.join(strict)}")
        if advisory:
            parts.append(f"advisory SHOULD failures: {', '.join(advisory)}")
        return "".join(f"; {p}" for p in parts)

    def to_text(self) -> str:
        lines = [
            f"fno-stability conformance report: spec {self.spec_version}, "
            f"profile {self.profile}, seed {self.seed}",
            "targets:",
        ]
        width = max((len(r) for r in self.targets), default=0)
        for role, name in self.targets.items():
            file = self.resolved.get(role, {}).get("file", "")
            lines.append(f"  {role:{width}}  {name}" + (f"  ({file})" if file else ""))
        lines += [f"  {role:{width}}  (skipped: {why})" for role, why in self.unavailable.items()]
        lines += self._causes()
        lines.append("")
        pw = max([len(r.property) for r in self.results] + [8])
        lines.append(
            f"{'clause':8} {'level':6} {'tier':6} {'property':{pw}} {'status':14} examples  seconds"
        )
        for r in self.results:
            lines.append(
                f"{r.clause:8} {r.level:6} {r.tier:6} {r.property:{pw}} {r.status:14} "
                f"{r.examples:8d} {r.seconds:8.2f}"
            )
        lines += self._details()
        skipped = [r for r in self.results if r.status in ("skipped", "not_applicable", "xfailed")]
        if skipped:
            lines += ["", "SKIPPED / NOT APPLICABLE / XFAILED"]
            for r in skipped:
                why = r.message.splitlines()[0] if r.message else ""
                reason = f" [xfail: {r.xfail_reason}]" if r.xfail_reason else ""
                lines.append(f"  {r.clause} {r.property}: {r.status}{reason} {why}".rstrip())
        if self.warnings:
            lines += ["", "WARNINGS"] + [f"  {w}" for w in self.warnings]
        lines += ["", self.summary_line()]
        return "\n".join(lines)

    def _causes(self) -> list[str]:
        """ROOT CAUSES: each failing clause no other explains, with those that follow from it."""
        causes = self.root_causes()
        if not causes:
            return []
        titles = {r.clause: r.title for r in self.results}
        lines = ["", "ROOT CAUSES (the fewest clauses that explain the failures)"]
        failing = self.failing_clauses()
        for cause in causes:
            lines.append(f"  {cause} {titles.get(cause, '')}")
            after = sorted(
                {
                    r.clause
                    for r in self.results
                    if r.counts(self.strict) and r.follows_from == cause and r.clause != cause
                }
                - set(causes)
            )
            lines += [f"    {c} {titles.get(c, '')}: follows from {cause}" for c in after]
        rest = [c for c in failing if c not in causes]
        if rest:
            word = "root cause" if len(causes) == 1 else "root causes"
            lines.append(f"  ({len(failing)} clauses fail, {len(causes)} {word})")
        return lines

    def _details(self) -> list[str]:
        details = [r for r in self.results if r.bad or r.status == "xpassed"]
        lines = ["", "DETAILS"] if details else []
        for r in details:
            lines += ["", f"{r.clause} ({r.level}, {r.tier}) {r.title}: {r.property} {r.status}"]
            if r.tier == "strict" and r.why:
                lines.append(f"  strict tier: {r.why}")
            if r.follows_from and r.follows_from != r.clause:
                lines.append(f"  follows from {r.follows_from}: its counterexample breaks that too")
            if r.xfail_reason:
                lines.append(f"  xfail entry: {r.xfail_reason}")
            if r.message:
                lines.append(textwrap.indent(r.message, "  "))
            if r.output:
                lines += ["  the target printed:", textwrap.indent(r.output, "    | ")]
            if r.example is not None:
                lines += ["  counterexample:", textwrap.indent(r.example, "    ")]
            if r.reproduction:
                lines += ["  reproduce:", textwrap.indent(r.reproduction, "    ")]
        return lines

    # -- JUnit XML --------------------------------------------------------------------------

    def to_junit(self) -> str:
        """JUnit XML: one testsuite per role group, one testcase ``CLAUSE::property`` each."""
        root = ET.Element("testsuites", name="conformance")
        if self.interrupted:
            root.set("interrupted", self.interrupted)
        suites: dict[str, list[Result]] = {}
        for r in self.results:
            suites.setdefault("+".join(r.roles), []).append(r)
        for group, results in suites.items():
            self._junit_suite(root, group, results)
        ET.indent(root)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")

    def _junit_suite(self, root: ET.Element, group: str, results: list[Result]) -> None:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"conformance.{group}",
            tests=str(len(results)),
            failures=str(sum(r.status == "failed" for r in results)),
            errors=str(sum(r.status in ("error", "crashed", "timeout") for r in results)),
            skipped=str(sum(r.status in ("skipped", "xfailed") for r in results)),
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("spec_version", self.spec_version),
            ("profile", self.profile),
            ("seed", str(self.seed)),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        for role in group.split("+"):
            ET.SubElement(
                props, "property", name=f"target.{role}", value=self.targets.get(role, "")
            )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{r.clause}::{r.property}",
                classname=f"conformance.{r.property.split('.')[0]}",
                time=f"{r.seconds:.3f}",
            )
            body = "\n\n".join(
                part
                for part in (
                    r.message,
                    f"the target printed:\n{r.output}" if r.output else "",
                    f"counterexample:\n{r.example}" if r.example is not None else "",
                    f"reproduce:\n{r.reproduction}" if r.reproduction else "",
                )
                if part
            )
            first = r.message.splitlines()[0] if r.message else r.status
            if r.bad:
                tag = "failure" if r.status == "failed" else "error"
                if not r.counts(self.strict):
                    kind = "advisory (SHOULD)" if r.level == "SHOULD" else "strict-tier"
                    ET.SubElement(case, "system-out").text = f"{kind} {tag}: {body}"
                else:
                    ET.SubElement(case, tag, message=f"{r.status}: {first}"[:500]).text = body
            elif r.status in ("skipped", "xfailed"):
                reason = f"xfail: {r.xfail_reason}" if r.status == "xfailed" else first
                ET.SubElement(case, "skipped", message=str(reason)[:500]).text = body or None
            elif r.status == "xpassed":
                ET.SubElement(
                    case, "system-out"
                ).text = f"XPASS: listed in the xfail file ({r.xfail_reason}) but passed"

    def render(self, fmt: str) -> str:
        """The report as ``text``, ``json`` or ``junit``."""
        if fmt == "text":
            return self.to_text()
        if fmt == "json":
            return self.to_json()
        if fmt == "junit":
            return self.to_junit()
        raise ValueError(f"unknown report format {fmt!r}: use text, json or junit")
