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
summary: 1 passed in 0.25 s: conforms (every checked MUST clause passes)

JSON layout (stable; ``format_version`` changes if a field changes meaning)::

    {
      "format": "fno-stability-conformance-report", "format_version": 1,
      "spec_version": "0.1.0",          # spec.SPEC_VERSION the clauses come from
      "targets": {"agc": "impl:adaptive_gradient_clip_", ...},   # role -> target checked
      "unavailable": {"role": "why it was skipped"},
      "profile": "quick", "seed": 0, "strict": false,
      "results": [{
        "clause": "AGC-003", "level": "MUST", "title": "...",
        "property": "agc.rank_le1_is_one_unit", "roles": ["agc"],
        "status": "passed",      # passed | failed | error | skipped | xfailed | xpassed
        "examples": 10,          # examples checked (before the first failure, if any)
        "seconds": 0.25,         # wall time of the property, shrinking included
        "message": "",           # why it failed / errored / was skipped
        "example": null,         # repr of the shrunk counterexample (Python that rebuilds it)
        "reproduction": null,    # a script that re-runs the check on that example
        "xfail_reason": null     # the xfail file's reason, when an entry matched
      }, ...],
      "summary": {"passed": 40, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0,
                  "xpassed": 0, "total": 40, "seconds": 12.5,
                  "failing_clauses": [], "conforms": true, "exit_status": 0},
      "warnings": ["xfail entry 'AGC-099' matches no property"]
    }

A SHOULD clause is advisory: its failures are reported but only make the run
fail (exit status 1) with ``strict``. MUST failures and errors always do.
"""

from __future__ import annotations

import builtins
import json
import re
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree as ET

__all__ = ["STATUSES", "PropertyError", "Report", "Result", "Status"]

Status = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
STATUSES: tuple[str, ...] = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
_BAD = ("failed", "error")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FORMAT = "fno-stability-conformance-report"
FORMAT_VERSION = 1


class PropertyError(RuntimeError):
    """A property errored: the target raised, hung, or returned something unusable."""


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

    @builtins.property
    def bad(self) -> bool:
        """Failed or errored."""
        return self.status in _BAD

    def raise_for_status(self) -> None:
        """Raise if the property failed (AssertionError) or errored (:class:`PropertyError`),
        with the message and the counterexample; for tests that drive the runner.

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

    def failing_clauses(self) -> list[str]:
        """Clause ids with a failed or errored property that counts (MUST, or any if strict)."""
        ids = [r.clause for r in self.results if r.bad and (self.strict or r.level != "SHOULD")]
        return sorted(set(ids), key=ids.index)

    @property
    def exit_status(self) -> int:
        """0 when every counted clause passes, 1 otherwise."""
        return 1 if self.failing_clauses() else 0

    def summary(self) -> dict[str, Any]:
        counts: dict[str, Any] = {s: 0 for s in STATUSES}
        for r in self.results:
            counts[r.status] += 1
        counts["total"] = len(self.results)
        counts["seconds"] = round(sum(r.seconds for r in self.results), 3)
        counts["failing_clauses"] = self.failing_clauses()
        counts["conforms"] = self.exit_status == 0
        counts["exit_status"] = self.exit_status
        return counts

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec_version": self.spec_version,
            "targets": dict(self.targets),
            "unavailable": dict(self.unavailable),
            "profile": self.profile,
            "seed": self.seed,
            "strict": self.strict,
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
        failing = s["failing_clauses"]
        if failing:
            what = "clauses" if self.strict else "MUST clauses"
            return head + f"does NOT conform ({len(failing)} {what} fail: {', '.join(failing)})"
        advisory = sorted({r.clause for r in self.results if r.bad})
        tail = f"; advisory SHOULD failures: {', '.join(advisory)}" if advisory else ""
        return head + "conforms (every checked MUST clause passes)" + tail

    def to_text(self) -> str:
        lines = [
            f"fno-stability conformance report: spec {self.spec_version}, "
            f"profile {self.profile}, seed {self.seed}",
            "targets:",
        ]
        width = max((len(r) for r in self.targets), default=0)
        lines += [f"  {role:{width}}  {name}" for role, name in self.targets.items()]
        lines += [f"  {role:{width}}  (skipped: {why})" for role, why in self.unavailable.items()]
        lines.append("")
        pw = max([len(r.property) for r in self.results] + [8])
        lines.append(f"{'clause':8} {'level':6} {'property':{pw}} {'status':8} examples  seconds")
        for r in self.results:
            lines.append(
                f"{r.clause:8} {r.level:6} {r.property:{pw}} {r.status:8} "
                f"{r.examples:8d} {r.seconds:8.2f}"
            )
        details = [r for r in self.results if r.status in ("failed", "error", "xpassed")]
        if details:
            lines += ["", "DETAILS"]
        for r in details:
            lines += ["", f"{r.clause} ({r.level}) {r.title}: {r.property} {r.status}"]
            if r.xfail_reason:
                lines.append(f"  xfail entry: {r.xfail_reason}")
            if r.message:
                lines.append(textwrap.indent(r.message, "  "))
            if r.example is not None:
                lines += ["  counterexample:", textwrap.indent(r.example, "    ")]
            if r.reproduction:
                lines += ["  reproduce:", textwrap.indent(r.reproduction, "    ")]
        skipped = [r for r in self.results if r.status in ("skipped", "xfailed")]
        if skipped:
            lines += ["", "SKIPPED / XFAILED"]
            for r in skipped:
                why = r.message.splitlines()[0] if r.message else ""
                reason = f" [xfail: {r.xfail_reason}]" if r.xfail_reason else ""
                lines.append(f"  {r.clause} {r.property}: {r.status}{reason} {why}".rstrip())
        if self.warnings:
            lines += ["", "WARNINGS"] + [f"  {w}" for w in self.warnings]
        lines += ["", self.summary_line()]
        return "\n".join(lines)

    # -- JUnit XML --------------------------------------------------------------------------

    def to_junit(self) -> str:
        """JUnit XML: one testsuite per role group, one testcase ``CLAUSE::property`` each."""
        root = ET.Element("testsuites", name="conformance")
        suites: dict[str, list[Result]] = {}
        for r in self.results:
            suites.setdefault("+".join(r.roles), []).append(r)
        for group, results in suites.items():
            suite = ET.SubElement(
                root,
                "testsuite",
                name=f"conformance.{group}",
                tests=str(len(results)),
                failures=str(sum(r.status == "failed" for r in results)),
                errors=str(sum(r.status == "error" for r in results)),
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
                        f"counterexample:\n{r.example}" if r.example is not None else "",
                        f"reproduce:\n{r.reproduction}" if r.reproduction else "",
                    )
                    if part
                )
                first = r.message.splitlines()[0] if r.message else r.status
                if r.status == "failed" or r.status == "error":
                    tag = "failure" if r.status == "failed" else "error"
                    if r.level == "SHOULD" and not self.strict:
                        ET.SubElement(case, "system-out").text = f"advisory (SHOULD) {tag}: {body}"
                    else:
                        ET.SubElement(case, tag, message=first[:500]).text = body
                elif r.status in ("skipped", "xfailed"):
                    reason = f"xfail: {r.xfail_reason}" if r.status == "xfailed" else first
                    ET.SubElement(case, "skipped", message=str(reason)[:500]).text = body or None
                elif r.status == "xpassed":
                    ET.SubElement(
                        case, "system-out"
                    ).text = f"XPASS: listed in the xfail file ({r.xfail_reason}) but passed"
        for element in root.iter():
            if element.text:
                element.text = _xml_safe(element.text)
            for key, value in element.attrib.items():
                element.set(key, _xml_safe(value))
        ET.indent(root)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")

    def render(self, fmt: str) -> str:
        """The report as ``text``, ``json`` or ``junit``."""
        if fmt == "text":
            return self.to_text()
        if fmt == "json":
            return self.to_json()
        if fmt == "junit":
            return self.to_junit()
        raise ValueError(f"unknown report format {fmt!r}: use text, json or junit")


def _xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids written as ``\\xNN`` escapes."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)
