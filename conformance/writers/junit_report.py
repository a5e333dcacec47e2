"""The JUnit XML report: for CI systems that show test results (GitLab, Jenkins, GitHub).

>>> from xml.etree import ElementTree as ET
>>> from conformance.report import Report, Result
>>> from conformance.writers import junit_report
>>> report = Report("0.1.0", {"agc": "mypkg:agc"}, "quick", 0, [
...     Result("AGC-002", "MUST", "clip to the bound", "agc.clipped_units_on_bound", ("agc",),
...            "failed", examples=3, seconds=0.5, message="unit 0: ratio 2.0 > 1.01")])
>>> case = ET.fromstring(junit_report.render(report)).find("testsuite/testcase")
>>> case.get("name"), case.find("failure").get("message")
('AGC-002::agc.clipped_units_on_bound', 'failed: unit 0: ratio 2.0 > 1.01')

One ``testsuite`` per group of roles (``conformance.agc``, ``conformance.agc+clip``),
its ``properties`` the spec version, profile, seed and each role's target; one
``testcase`` ``CLAUSE::property`` per result, classed ``conformance.<family stem>``.
A bad result that counts is a ``failure`` (``failed``) or an ``error`` (``error``,
``crashed``, ``timeout``) whose text holds the message, what the target printed, the
counterexample and the reproduction; a bad result that does not count (a SHOULD
clause, or a strict-tier one without ``strict``) is written to ``system-out`` only;
``skipped`` and ``xfailed`` are ``skipped``; ``xpassed`` is said in ``system-out``.
An interrupted run has ``interrupted`` on ``testsuites``.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from conformance.report import Report, Result

__all__ = ["render"]


def render(report: Report) -> str:
    """JUnit XML: one testsuite per role group, one testcase ``CLAUSE::property`` each."""
    root = ET.Element("testsuites", name="conformance")
    if report.interrupted:
        root.set("interrupted", report.interrupted)
    suites: dict[str, list[Result]] = {}
    for r in report.results:
        suites.setdefault("+".join(r.roles), []).append(r)
    for group, results in suites.items():
        _suite(report, root, group, results)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _suite(report: Report, root: ET.Element, group: str, results: list[Result]) -> None:
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
        ("spec_version", report.spec_version),
        ("profile", report.profile),
        ("seed", str(report.seed)),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    for role in group.split("+"):
        ET.SubElement(props, "property", name=f"target.{role}", value=report.targets.get(role, ""))
    for r in results:
        _case(report, suite, r)


def _case(report: Report, suite: ET.Element, r: Result) -> None:
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
        if not r.counts(report.strict):
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
