"""The runner: failures vs errors, hung / raising / garbage-returning targets, flaky targets,
shrinking, skipping, xfail files, and the report formats."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hypothesis import strategies as st

import spec
from conformance.properties import Property, Targets
from conformance.report import Report, Result
from conformance.runner import run_conformance, run_property, select_properties
from conformance.xfail import XfailError, match_xfail, parse_xfail, unused_entries

CFG = {"tf_config": spec.TFTrainingConfig, "torch_config": spec.TorchTrainingConfig}


def spinning_agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    while True:  # a Python-level hang: interruptible
        pass


def sleeping_agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    time.sleep(20)  # blocked in one native call: cannot be interrupted, gets abandoned


def raising_agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    raise RuntimeError("boom from the target")


def garbage_block(channels: int, modes: int) -> Any:
    return "not a module"


def test_hung_target_is_an_error_and_the_run_goes_on() -> None:
    start = time.perf_counter()
    report = run_conformance(
        {"agc": spinning_agc, **CFG}, clauses=["AGC-001", "CFG-002"], time_limit=0.5
    )
    elapsed = time.perf_counter() - start
    status = {r.clause: r for r in report.results}
    assert status["AGC-001"].status == "error"
    assert "time limit of 0.5 s reached" in status["AGC-001"].message
    assert "(stopped)" in status["AGC-001"].message
    assert all(r.status == "passed" for r in report.results if r.clause == "CFG-002")
    assert elapsed < 10
    assert report.exit_status == 1


def test_target_stuck_in_native_code_is_abandoned_and_the_run_goes_on() -> None:
    report = run_conformance(
        {"agc": sleeping_agc, **CFG}, clauses=["AGC-003", "CFG-001"], time_limit=1.5
    )
    status = {r.clause: r for r in report.results}
    assert status["AGC-003"].status == "error"
    assert "abandoned" in status["AGC-003"].message
    assert all(r.status == "passed" for r in report.results if r.clause == "CFG-001")


def test_raising_target_is_an_error_with_where_it_raised() -> None:
    report = run_conformance({"agc": raising_agc}, clauses=["AGC-001"])
    (result,) = report.results
    assert result.status == "error"
    assert "RuntimeError: boom from the target" in result.message
    assert "test_conformance_runner.py" in result.message and "raising_agc" in result.message
    assert result.example is not None and result.example.startswith("AGCCase(")
    assert result.reproduction is not None


def test_garbage_output_is_an_error_naming_the_property_code() -> None:
    report = run_conformance({"block": garbage_block}, clauses=["BLK-006"])
    (result,) = report.results
    assert result.status == "error"
    assert "AttributeError" in result.message
    assert "the target's output could not be used" in result.message


def _property(check: Any, strategy: Any = None, clause: str = "CFG-001") -> Property:
    return Property(id="test.prop", clause=clause, roles=("agc",), check=check, strategy=strategy)


def test_failure_is_shrunk_and_counted() -> None:
    seen: list[int] = []

    def check(targets: Targets, n: int) -> None:
        seen.append(n)
        assert n < 1000, f"{n} too big"

    prop = _property(check, st.integers(min_value=0, max_value=10**6))
    result = run_property(prop, Targets(agc=print), "default", seed=1)
    assert result.status == "failed"
    assert result.example == "1000", "the reported counterexample is the shrunk one"
    assert result.message.startswith("1000 too big")
    assert 1 <= result.examples <= 40
    assert len(seen) > result.examples, "shrinking ran after the first failure"
    assert "example = 1000" in (result.reproduction or "")


def test_examples_capped_by_profile_and_property() -> None:
    calls = itertools.count()

    def check(targets: Targets, n: int) -> None:
        next(calls)

    prop = _property(check, st.integers())
    assert run_property(prop, Targets(agc=print), "quick").examples == 10
    assert run_property(prop, Targets(agc=print), "default").examples == 40
    capped = Property("test.capped", "CFG-001", ("agc",), check, st.integers(), max_examples=7)
    assert run_property(capped, Targets(agc=print), "default").examples == 7
    once = run_property(_property(check), Targets(agc=print), "default")
    assert (once.status, once.examples) == ("passed", 1)


def test_flaky_target_is_an_error() -> None:
    flips = itertools.count()

    def check(targets: Targets, n: int) -> None:
        assert next(flips) != 0, "fails on the first call only"

    result = run_property(_property(check, st.integers(min_value=0)), Targets(agc=print))
    assert result.status == "error"
    assert "flaky" in result.message


def test_roles_missing_means_skipped() -> None:
    report = run_conformance({"generator": "impl:HybridUNOGenerator"}, clauses=["BLK-013"])
    (result,) = report.results
    assert result.status == "skipped"
    assert "--stable-generator" in result.message
    assert report.exit_status == 0


def test_only_the_given_roles_are_checked() -> None:
    report = run_conformance({"torch_config": spec.TorchTrainingConfig})
    assert report.results
    assert all("torch_config" in r.roles for r in report.results)
    assert list(report.targets) == ["torch_config"]


def test_selection_by_clause_property_or_pattern() -> None:
    assert {p.clause for p in select_properties(["CFG-00[12]"])} == {"CFG-001", "CFG-002"}
    assert [p.id for p in select_properties(["cfg.bridge_round_trip"])] == ["cfg.bridge_round_trip"]
    with pytest.raises(ValueError, match="matches no property"):
        select_properties(["NOPE-1"])
    ordered = [p.clause for p in select_properties(None)]
    from spec import CLAUSES

    index = {c.id: i for i, c in enumerate(CLAUSES)}
    assert ordered == sorted(ordered, key=index.__getitem__), "results follow spec order"


def test_same_seed_same_results_in_process() -> None:
    def strip(report: Report) -> list[dict[str, Any]]:
        rows = [r.to_dict() for r in report.results]
        for row in rows:
            row.pop("seconds")
        return rows

    faulty = {"torch_config": spec.TorchTrainingConfig, "tf_config": spec.TFTrainingConfig}
    first = run_conformance(faulty, seed=5, profile="default")
    second = run_conformance(faulty, seed=5, profile="default")
    assert strip(first) == strip(second)


# --- xfail parsing ------------------------------------------------------------------------------


def test_xfail_parsing_and_matching() -> None:
    entries = parse_xfail("# comment\n\nAGC-0*   pattern reason # trailing\nagc.eps_guard  why\n")
    assert [(e.pattern, e.reason, e.line) for e in entries] == [
        ("AGC-0*", "pattern reason", 3),
        ("agc.eps_guard", "why", 4),
    ]
    assert match_xfail(entries, "AGC-005", "agc.clipped_units_on_bound") is entries[0]
    assert match_xfail(entries, "BLK-006", "block.forward_shape") is None
    assert unused_entries(entries, [("BLK-006", "block.forward_shape")]) == entries
    with pytest.raises(XfailError, match="<xfail>:2: 'AGC-001' has no reason"):
        parse_xfail("\nAGC-001\n")


# --- report formats -------------------------------------------------------------------------------


def _report(status: str, level: str = "MUST", message: str = "") -> Report:
    result = Result(
        clause="AGC-022",
        level=level,
        title="t",
        property="agc.p",
        roles=("agc",),
        status=status,  # type: ignore[arg-type]
        examples=3,
        seconds=0.5,
        message=message,
        example="AGCCase()" if status == "failed" else None,
    )
    return Report("0.1.0", {"agc": "x:y"}, "quick", 0, [result])


@pytest.mark.parametrize(
    ("status", "level", "exit_status"),
    [
        ("passed", "MUST", 0),
        ("failed", "MUST", 1),
        ("error", "MUST", 1),
        ("failed", "SHOULD", 0),
        ("skipped", "MUST", 0),
        ("xfailed", "MUST", 0),
        ("xpassed", "MUST", 0),
    ],
)
def test_exit_status_by_outcome(status: str, level: str, exit_status: int) -> None:
    assert _report(status, level).exit_status == exit_status


def test_junit_is_valid_xml_even_with_control_characters() -> None:
    report = _report("failed", message="value '\x00\x1b' was accepted")
    root = ET.fromstring(report.to_junit())
    failure = next(root.iter("failure"))
    assert "\\x00" in (failure.text or "") and "AGCCase()" in (failure.text or "")
    assert json.loads(report.to_json())["results"][0]["message"].startswith("value")
    assert "AGC-022 (MUST) t: agc.p failed" in report.to_text()
    with pytest.raises(ValueError, match="unknown report format"):
        report.render("yaml")
