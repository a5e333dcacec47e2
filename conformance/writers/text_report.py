"""The text report: what a person reads in a terminal or a CI log.

>>> from conformance.report import Report, Result
>>> from conformance.writers import text_report
>>> report = Report("0.1.0", {"agc": "mypkg:agc"}, "quick", 0, [
...     Result("AGC-002", "MUST", "clip to the bound", "agc.clipped_units_on_bound", ("agc",),
...            "failed", examples=3, seconds=0.5, message="unit 0: ratio 2.0 > 1.01")])
>>> print(text_report.render(report))
fno-stability conformance report: spec 0.1.0, profile quick, seed 0
targets:
  agc  mypkg:agc
<BLANKLINE>
ROOT CAUSES (the fewest clauses that explain the failures)
  AGC-002 clip to the bound
<BLANKLINE>
clause   level  tier   property                   status         examples  seconds
AGC-002  MUST   plan   agc.clipped_units_on_bound failed                3     0.50
<BLANKLINE>
DETAILS
<BLANKLINE>
AGC-002 (MUST, plan) clip to the bound: agc.clipped_units_on_bound failed
  unit 0: ratio 2.0 > 1.01
<BLANKLINE>
summary: 1 failed in 0.50 s: does NOT conform to the plan (1 clause fails: AGC-002)

In order: the header (spec version, profile, seed); the targets, each with the file
it was loaded from, and the roles skipped as unavailable; ROOT CAUSES (when a counted
clause fails: each root cause with the failing clauses that follow from it); one row
per property (clause, level, tier, property id, status, examples, seconds); DETAILS
(each bad or xpassed result: its message, what the target printed, the shrunk
counterexample and a script that reproduces it); SKIPPED / NOT APPLICABLE / XFAILED
with each reason; WARNINGS; and last the verdict,
:meth:`Report.summary_line <conformance.report.Report.summary_line>`.
"""

from __future__ import annotations

import textwrap

from conformance.report import Finding, Report

__all__ = ["render"]


def render(report: Report) -> str:
    """The report as text, one line per property between the targets and the verdict."""
    lines = [
        f"fno-stability conformance report: spec {report.spec_version}, "
        f"profile {report.profile}, seed {report.seed}",
        "targets:",
    ]
    width = max((len(r) for r in report.targets), default=0)
    for role, name in report.targets.items():
        file = report.resolved.get(role, {}).get("file", "")
        lines.append(f"  {role:{width}}  {name}" + (f"  ({file})" if file else ""))
    lines += [f"  {role:{width}}  (skipped: {why})" for role, why in report.unavailable.items()]
    if report.behaves_like:  # the known AGC variant its gradients fit (conformance.diagnose)
        lines += ["", f"agc behaves like: {report.behaves_like}"]
    lines += _root_causes(report)
    lines.append("")
    pw = max([len(r.property) for r in report.results] + [8])
    lines.append(
        f"{'clause':8} {'level':6} {'tier':6} {'property':{pw}} {'status':14} examples  seconds"
    )
    for r in report.results:
        lines.append(
            f"{r.clause:8} {r.level:6} {r.tier:6} {r.property:{pw}} {r.status:14} "
            f"{r.examples:8d} {r.seconds:8.2f}"
        )
    lines += _details(report)
    skipped = [r for r in report.results if r.status in ("skipped", "not_applicable", "xfailed")]
    if skipped:
        lines += ["", "SKIPPED / NOT APPLICABLE / XFAILED"]
        for r in skipped:
            why = r.message.splitlines()[0] if r.message else ""
            reason = f" [xfail: {r.xfail_reason}]" if r.xfail_reason else ""
            lines.append(f"  {r.clause} {r.property}: {r.status}{reason} {why}".rstrip())
    if report.warnings:
        lines += ["", "WARNINGS"] + [f"  {w}" for w in report.warnings]
    lines += ["", report.summary_line()]
    return "\n".join(lines)


def _root_causes(report: Report) -> list[str]:
    """ROOT CAUSES: each failing clause no other explains, with those that follow from it."""
    causes = report.root_causes()
    if not causes:
        return []
    titles = {r.clause: r.title for r in report.results}
    lines = ["", "ROOT CAUSES (the fewest clauses that explain the failures)"]
    findings = {f.head: f for f in report.findings() if f.counted}
    for cause in causes:
        if cause in findings:
            lines += _finding(findings[cause])
            continue
        lines.append(f"  {cause} {titles.get(cause, '')}")
        lines += [
            f"    {c} {titles.get(c, '')}: follows from {cause}" for c in report.follows(cause)
        ]
    failing = report.failing_clauses()
    if any(c not in causes for c in failing):
        word = "root cause" if len(causes) == 1 else "root causes"
        lines.append(f"  ({len(failing)} clauses fail, {len(causes)} {word})")
    return lines


def _finding(f: Finding) -> list[str]:
    """One finding, said once: the exception and its line (or the hang), the clauses it
    touches, the smallest input that triggers it, and how to declare a domain that leaves it
    out."""
    if f.kind == "hang":
        lines = [f"  {f.message}"]
    else:
        head, *rest = (f.message or "").splitlines() or [""]
        lines = [f"  {f.exception}: {head}".rstrip(": "), f"    raised at {f.line}"]
        lines += [f"    {more}" for more in rest[:3]]
    n, props = len(f.failing), len(f.properties)
    lines.append(
        f"    one finding behind {n} failing clause{'s' if n != 1 else ''} "
        f"({', '.join(f.failing)}); {props} propert{'ies' if props != 1 else 'y'} in all"
    )
    beside = [c for c in f.clauses if c not in f.failing]
    if beside:
        lines.append(f"    and beside the verdict: {', '.join(beside)}")
    if f.example is not None:
        label = "smallest input" if f.kind == "exception" else "first input"
        lines.append(f"    {label} ({f.example_property}):")
        lines.append(textwrap.indent(f.example, "      "))
    if f.hint:
        hint = textwrap.fill(f.hint, 92, break_on_hyphens=False, break_long_words=False)
        lines.append(textwrap.indent(hint, "    "))
    return lines


def _details(report: Report) -> list[str]:
    """DETAILS: everything known about each bad or xpassed result."""
    details = [r for r in report.results if r.bad or r.status == "xpassed"]
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
