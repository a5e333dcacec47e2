"""The report's writers: the registry the command line offers, and each format's content.

The expected texts here are written from the formats' descriptions (clause ids, counts
and verdicts worked out by hand for the report built below), not copied from a run.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from conformance.cli import build_parser, main
from conformance.report import Report, Result
from conformance.writers import WRITERS, json_report, junit_report, render, text_report


def _result(clause: str, prop: str, status: str, **fields: object) -> Result:
    base: dict[str, object] = {"level": "MUST", "title": f"title of {clause}", "roles": ("agc",)}
    base.update(fields)
    return Result(clause=clause, property=prop, status=status, **base)  # type: ignore[arg-type]


def _failing_report(strict: bool = False) -> Report:
    """AGC-001 fails (a root cause); AGC-004 fails because of it; AGC-019 is a strict-tier
    failure; CFG-009 a SHOULD failure; one xfailed, one xpassed, one skipped."""
    return Report(
        spec_version="9.9.9",
        targets={"agc": "mine:agc", "torch_config": "mine:Config"},
        profile="quick",
        seed=3,
        strict=strict,
        results=[
            _result("AGC-001", "agc.a", "failed", seconds=1.0, examples=4, message="bad\nmore"),
            _result("AGC-004", "agc.b", "error", seconds=2.0, follows_from="AGC-001"),
            _result("AGC-019", "agc.c", "failed", tier="strict", why="too tight"),
            _result("CFG-009", "config.d", "crashed", level="SHOULD", roles=("torch_config",)),
            _result("AGC-002", "agc.e", "xfailed", xfail_reason="known"),
            _result("AGC-003", "agc.f", "xpassed", xfail_reason="was known"),
            _result("BLK-001", "blocks.g", "skipped", roles=("block",), message="no --block"),
            _result("AGC-005", "agc.h", "passed", seconds=0.5, examples=7),
        ],
        warnings=["xfail entry 'AGC-099' matches no property"],
    )


# --- the registry ---------------------------------------------------------------------------


def test_the_command_line_offers_exactly_the_registered_formats() -> None:
    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    (fmt,) = [a for a in check._actions if a.dest == "format"]
    assert list(fmt.choices) == list(WRITERS) == ["text", "json", "junit"]
    assert fmt.default in WRITERS


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_render_and_the_report_methods_use_the_registered_writer(fmt: str) -> None:
    report = _failing_report()
    method = {"text": report.to_text, "json": report.to_json, "junit": report.to_junit}[fmt]
    assert report.render(fmt) == render(report, fmt) == WRITERS[fmt](report) == method()


def test_unknown_format_names_the_formats_there_are() -> None:
    with pytest.raises(ValueError, match=r"unknown report format 'html': use text, json or junit"):
        _failing_report().render("html")


def test_a_new_writer_is_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def clauses_only(report: Report) -> str:
        return ",".join(r.clause for r in report.results)

    monkeypatch.setitem(WRITERS, "clauses", clauses_only)
    assert _failing_report().render("clauses").startswith("AGC-001,AGC-004,AGC-019,")
    with pytest.raises(ValueError, match="use text, json, junit or clauses"):
        _failing_report().render("yaml")
    argv = ["check", "--torch-config", "spec:TorchTrainingConfig", "--clause", "CFG-002"]
    assert main([*argv, "--format", "clauses"]) == 0
    assert capsys.readouterr().out == "CFG-002\n"


# --- the verdict the writers read -----------------------------------------------------------


def test_follows_lists_the_clauses_a_root_cause_explains() -> None:
    report = _failing_report()
    assert report.failing_clauses() == ["AGC-001", "AGC-004"]
    assert report.root_causes() == ["AGC-001"]
    assert report.follows("AGC-001") == ["AGC-004"]
    assert report.follows("AGC-004") == []
    strict = _failing_report(strict=True)
    assert strict.root_causes() == ["AGC-001", "AGC-019", "CFG-009"]
    assert strict.follows("AGC-001") == ["AGC-004"]


# --- text -----------------------------------------------------------------------------------


def test_text_sections_in_order() -> None:
    lines = text_report.render(_failing_report()).splitlines()
    assert lines[:4] == [
        "fno-stability conformance report: spec 9.9.9, profile quick, seed 3",
        "targets:",
        "  agc           mine:agc",
        "  torch_config  mine:Config",
    ]
    causes = lines.index("ROOT CAUSES (the fewest clauses that explain the failures)")
    assert lines[causes + 1 : causes + 4] == [
        "  AGC-001 title of AGC-001",
        "    AGC-004 title of AGC-004: follows from AGC-001",
        "  (2 clauses fail, 1 root cause)",
    ]
    table = lines.index("clause   level  tier   property status         examples  seconds", causes)
    assert lines[table + 1] == "AGC-001  MUST   plan   agc.a    failed                4     1.00"
    headings = ["DETAILS", "SKIPPED / NOT APPLICABLE / XFAILED", "WARNINGS"]
    positions = [lines.index(h) for h in headings]
    assert causes < table < positions[0] < positions[1] < positions[2]
    details = lines[positions[0] : positions[1]]
    assert "AGC-004 (MUST, plan) title of AGC-004: agc.b error" in details
    assert "  follows from AGC-001: its counterexample breaks that too" in details
    assert "  strict tier: too tight" in details
    assert "AGC-003 (MUST, plan) title of AGC-003: agc.f xpassed" in details
    assert details[details.index("  bad") : details.index("  bad") + 2] == ["  bad", "  more"]
    assert lines[positions[1] + 1 : positions[2] - 1] == [
        "  AGC-002 agc.e: xfailed [xfail: known]",
        "  BLK-001 blocks.g: skipped no --block",
    ]
    assert lines[-1] == (
        "summary: 1 passed, 2 failed, 1 error, 1 crashed, 1 skipped, 1 xfailed, 1 xpassed "
        "in 3.50 s: does NOT conform to the plan (2 clauses fail, 1 root cause: AGC-001; "
        "all failing: AGC-001, AGC-004); 1 strict clause fail: AGC-019; "
        "advisory SHOULD failures: CFG-009"
    )


def test_text_of_a_passing_report_has_no_failure_sections() -> None:
    report = Report("1.0", {"agc": "m:f"}, "quick", 0, [_result("AGC-005", "agc.h", "passed")])
    text = text_report.render(report)
    for heading in ("ROOT CAUSES", "DETAILS", "SKIPPED", "WARNINGS"):
        assert heading not in text
    assert text.endswith("\n\nsummary: 1 passed in 0.00 s: conforms to the plan")


# --- JSON -----------------------------------------------------------------------------------


def test_json_layout() -> None:
    data = json.loads(json_report.render(_failing_report()))
    assert (data["format"], data["format_version"]) == ("fno-stability-conformance-report", 2)
    assert list(data) == [
        "format",
        "format_version",
        "spec_version",
        "targets",
        "resolved",
        "unavailable",
        "profile",
        "seed",
        "strict",
        "interrupted",
        "results",
        "summary",
        "warnings",
        "behaves_like",
    ]
    assert [r["status"] for r in data["results"]][:4] == ["failed", "error", "failed", "crashed"]
    assert data["results"][1]["follows_from"] == "AGC-001"
    assert data["results"][0]["roles"] == ["agc"]
    summary = data["summary"]
    assert (summary["failed"], summary["error"], summary["total"]) == (2, 1, 8)
    assert summary["root_causes"] == ["AGC-001"] and summary["exit_status"] == 1
    assert summary["strict_failures"] == ["AGC-019"]
    assert summary["advisory_failures"] == ["CFG-009"]
    assert summary["conforms"] is False


def test_json_keeps_unicode_and_can_be_one_line() -> None:
    report = _failing_report()
    report.results[0].message = "ratio ≤ 1 broken"
    assert "ratio ≤ 1 broken" in json_report.render(report)
    assert "\n" not in json_report.render(report, indent=None)
    assert json.loads(report.to_json(indent=None)) == report.to_dict()


# --- JUnit XML ------------------------------------------------------------------------------


def test_junit_suites_cases_and_outcomes() -> None:
    root = ET.fromstring(junit_report.render(_failing_report()))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["conformance.agc", "conformance.torch_config", "conformance.block"]
    agc = suites["conformance.agc"]
    assert (agc.get("tests"), agc.get("failures"), agc.get("errors"), agc.get("skipped")) == (
        "6",
        "2",
        "1",
        "1",
    )
    assert agc.get("time") == "3.500"
    props = {p.get("name"): p.get("value") for p in agc.iter("property")}
    assert props == {
        "spec_version": "9.9.9",
        "profile": "quick",
        "seed": "3",
        "target.agc": "mine:agc",
    }
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["AGC-001::agc.a"].find("failure")
    assert failure is not None and failure.get("message") == "failed: bad"
    error = cases["AGC-004::agc.b"].find("error")
    assert error is not None and error.get("message") == "error: error"
    assert cases["AGC-001::agc.a"].get("classname") == "conformance.agc"
    strict_tier = cases["AGC-019::agc.c"]
    assert strict_tier.find("failure") is None
    assert (strict_tier.findtext("system-out") or "").startswith("strict-tier failure")
    advisory = cases["CFG-009::config.d"]
    assert (advisory.findtext("system-out") or "").startswith("advisory (SHOULD) error")
    xfailed = cases["AGC-002::agc.e"].find("skipped")
    assert xfailed is not None and xfailed.get("message") == "xfail: known"
    assert "XPASS" in (cases["AGC-003::agc.f"].findtext("system-out") or "")
    assert "interrupted" not in root.attrib


def test_junit_counts_every_bad_result_when_strict_and_marks_an_interruption() -> None:
    report = _failing_report(strict=True)
    report.interrupted = "SIGINT"
    root = ET.fromstring(junit_report.render(report))
    assert root.get("interrupted") == "SIGINT"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["AGC-019::agc.c"].find("failure") is not None
    assert cases["CFG-009::config.d"].find("error") is not None
