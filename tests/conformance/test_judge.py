"""The runner: failures vs errors, raising / garbage-returning targets, flaky checks, hangs,
shrinking, example counts, skipping, selection, determinism, xfail files, report formats.
(Crashes, exits and tampering: tests/test_conformance_isolation.py.)"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hostile import probes

import spec
from conformance.judge import run_conformance, run_property, select_properties
from conformance.report import Report, Result
from conformance.xfail import (
    RENAMED_PREFIXES,
    XfailError,
    match_xfail,
    parse_xfail,
    unused_entries,
)

CFG = {"tf_config": spec.TFTrainingConfig, "torch_config": spec.TorchTrainingConfig}
ANY_AGC = {"agc": "impl:adaptive_gradient_clip_"}
"""The probes never call their target; a loadable one is all they need."""


def test_raising_target_is_an_error_with_where_it_raised() -> None:
    report = run_conformance({"agc": "hostile.raising:agc"}, clauses=["AGC-001"])
    (result,) = report.results
    assert result.status == "error"
    assert "RuntimeError: boom from the target" in result.message
    assert "hostile/raising.py:" in result.message and "in agc" in result.message
    assert result.example is not None and result.example.startswith("AGCCase(")
    assert result.reproduction is not None


def test_an_error_inside_torch_names_the_target_line_that_called_it() -> None:
    report = run_conformance({"agc": "hostile.raising:torch_error_agc"}, clauses=["AGC-001"])
    (result,) = report.results
    assert result.status == "error" and "torch" in result.message
    assert "(called from " in result.message and "hostile/raising.py:" in result.message


def test_garbage_output_is_an_error_naming_the_property_code() -> None:
    report = run_conformance({"block": "hostile.raising:block"}, clauses=["BLK-006"])
    (result,) = report.results
    assert result.status == "error"
    assert "not a tensor" in result.message or "could not be used" in result.message


def test_failure_is_shrunk_and_counted() -> None:
    result = run_property(probes.SHRINK, ANY_AGC, "default", seed=1)
    assert result.status == "failed"
    assert result.example == "1000", "the reported counterexample is the shrunk one"
    assert result.message.startswith("1000 too big")
    assert 1 <= result.examples <= 40
    assert "example = 1000" in (result.reproduction or "")
    assert "module='hostile.probes'" in (result.reproduction or "")


def test_examples_capped_by_profile_and_property() -> None:
    assert run_property(probes.COUNT, ANY_AGC, "quick").examples == 10
    assert run_property(probes.COUNT, ANY_AGC, "default").examples == 40
    assert run_property(probes.CAPPED, ANY_AGC, "default").examples == 7
    once = run_property(probes.ONCE, ANY_AGC, "default")
    assert (once.status, once.examples) == ("passed", 1)


def test_flaky_check_is_an_error() -> None:
    result = run_property(probes.FLAKY, ANY_AGC)
    assert result.status == "error"
    assert "flaky" in result.message


def test_hang_in_an_act_is_a_timeout_and_the_next_property_gets_a_fresh_worker() -> None:
    start = time.perf_counter()
    result = run_property(probes.SPIN, ANY_AGC, time_limit=0.5)
    assert result.status == "timeout" and "the worker was killed" in result.message
    assert time.perf_counter() - start < 30
    assert run_property(probes.COUNT, ANY_AGC).status == "passed"


def test_call_limit_stops_one_example() -> None:
    result = run_property(probes.SPIN, ANY_AGC, time_limit=60, call_limit=0.5)
    assert result.status == "timeout" and result.seconds < 30


def test_roles_missing_means_skipped() -> None:
    report = run_conformance({"generator": "impl:HybridUNOGenerator"}, clauses=["BLK-01[23]"])
    status = statuses(report)
    assert status["blocks.stable_is_plain_but_for_the_block"] == "skipped"
    skipped = next(r for r in report.results if r.status == "skipped")
    assert "--stable-generator" in skipped.message
    assert status["blocks.output_shape"] == "passed"
    assert report.exit_status == 0


def test_only_the_given_roles_are_checked() -> None:
    report = run_conformance({"torch_config": spec.TorchTrainingConfig})
    assert report.results
    assert all("torch_config" in r.roles for r in report.results)
    assert list(report.targets) == ["torch_config"]


def test_selection_by_clause_property_or_pattern() -> None:
    assert {p.clause for p in select_properties(["CFG-00[12]"])} == {"CFG-001", "CFG-002"}
    assert [p.id for p in select_properties(["config.bridge_round_trip"])] == [
        "config.bridge_round_trip"
    ]
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
    assert match_xfail(entries, "BLK-006", "blocks.forward_shape") is None
    assert unused_entries(entries, [("BLK-006", "blocks.forward_shape")]) == entries
    with pytest.raises(XfailError, match="<xfail>:2: 'AGC-001' has no reason"):
        parse_xfail("\nAGC-001\n")


def test_xfail_entries_with_a_pre_stem_property_id_still_match_and_warn() -> None:
    """An xfail file written when ids were ``<module>.<name>`` (``clip.*``, ``train.*``,
    ``cfg.*``, ...) keeps working after the one-stem rename, and the run says what to write."""
    entries = parse_xfail("train.grads_cleared  old name\ncfg.tf_*  old pattern\n")
    assert [(e.pattern, e.written) for e in entries] == [
        ("training.grads_cleared", "train.grads_cleared"),
        ("config.tf_*", "cfg.tf_*"),
    ]
    assert match_xfail(entries, "TRN-004", "training.grads_cleared") is entries[0]
    assert [p.id for p in select_properties(["cfg.bridge_round_trip"])] == [
        "config.bridge_round_trip"
    ]
    ids = {p.id for p in select_properties(None)}
    for old, new in RENAMED_PREFIXES.items():
        assert any(i.startswith(f"{new}.") for i in ids), f"{old} -> {new}: no {new}.* property"


def test_renamed_xfail_entry_is_reported_as_a_warning(tmp_path: Path) -> None:
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("cfg.tf_algorithm_values  written before the rename\n", encoding="utf-8")
    report = run_conformance(
        {"tf_config": spec.TFTrainingConfig}, clauses=["CFG-001"], xfail=str(xfail)
    )
    assert any(
        "'cfg.tf_algorithm_values'" in w and "'config.tf_algorithm_values'" in w
        for w in report.warnings
    ), report.warnings


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
        ("crashed", "MUST", 1),
        ("timeout", "MUST", 1),
        ("crashed", "SHOULD", 0),
        ("skipped", "MUST", 3),
        ("xfailed", "MUST", 0),
        ("xpassed", "MUST", 0),
    ],
)
def test_exit_status_by_outcome(status: str, level: str, exit_status: int) -> None:
    assert _report(status, level).exit_status == exit_status


def test_interrupted_report_exit_status_and_summary() -> None:
    report = _report("passed")
    report.interrupted = "SIGTERM"
    assert report.exit_status == 143 and not report.summary()["complete"]
    assert "INTERRUPTED by SIGTERM" in report.summary_line()
    report.interrupted = "SIGINT"
    assert report.exit_status == 130


def test_long_messages_are_cut_and_numpy_scalars_plain() -> None:
    import numpy as np

    report = _report("failed", message=f"got {np.float64(1.5)!r} " + "x" * 10_000)
    message = report.results[0].message
    assert message.startswith("got 1.5 ") and "more characters)" in message
    assert len(message) < 7000


def test_junit_is_valid_xml_even_with_control_characters() -> None:
    report = _report("failed", message="value '\x00\x1b' was accepted")
    root = ET.fromstring(report.to_junit())
    failure = next(root.iter("failure"))
    assert "\\x00" in (failure.text or "") and "AGCCase()" in (failure.text or "")
    assert json.loads(report.to_json())["results"][0]["message"].startswith("value")
    assert "AGC-022 (MUST, plan) t: agc.p failed" in report.to_text()
    with pytest.raises(ValueError, match="unknown report format"):
        report.render("yaml")


def statuses(report: Report) -> dict[str, str]:
    return {r.property: r.status for r in report.results}
