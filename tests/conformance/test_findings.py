"""One exception, one finding: the same exception type and message raised from the same line of
the target is said once, with that line, the clauses it touches, the smallest input that
triggers it and, for a rank or dtype the target may not support, how to declare that domain.

The target, faulty/matrix_norm_agc.py, is an AGC written from the paper whose rank-4 unit norm
is ``t.norm(dim=(1, 2, 3), keepdim=True)``: torch routes it to a matrix norm, which refuses a
3-tuple, so every property that draws a rank-4 tensor errors from that one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance._internal.causes import target_line, tensors_in
from conformance._internal.wire import ExceptionInfo
from conformance.domain import Domain
from conformance.judge import run_conformance
from conformance.report import Report, Result
from conformance.strategies.tensors import AGCCase, ParamCase, SeededParam

FILE = Path(__file__).resolve().parent / "faulty" / "matrix_norm_agc.py"
TARGET = f"{FILE}:agc"
LINE = next(
    n
    for n, text in enumerate(FILE.read_text().splitlines(), 1)
    if "return t.norm(dim=(1, 2, 3)" in text
)
"""The line of the target that raises (found in its source, not in the report)."""


@pytest.fixture(scope="module")
def report() -> Report:
    return run_conformance({"agc": TARGET})


def test_fifteen_errors_from_one_line_are_one_finding(report: Report) -> None:
    errors = [r for r in report.results if r.status == "error" and r.counts(False)]
    assert len({r.clause for r in errors}) >= 10, "the bug touches many plan clauses"
    (finding,) = report.findings()
    assert finding.kind == "exception" and finding.exception == "RuntimeError"
    assert "dim must be a 2-tuple" in finding.message
    assert finding.line == f"{FILE}:{LINE} in _unit_norm"
    assert set(finding.failing) == set(report.failing_clauses()), "it explains every failure"
    assert report.root_causes() == [finding.head], "one root cause, not one per clause"


def test_the_finding_gives_the_smallest_input_and_the_domain_to_declare(report: Report) -> None:
    (finding,) = report.findings()
    assert finding.example is not None
    (param,) = eval(finding.example).params  # the repr rebuilds the case: one 1-element tensor
    assert isinstance(param, ParamCase) and param.weight == [[[[0.0]]]]
    assert finding.domain == {"max_rank": 3}
    assert "agc.conformance_domain = {'max_rank': 3}" in finding.hint
    assert "--max-rank 3" in finding.hint
    declared = run_conformance({"agc": TARGET}, clauses=["AGC-00*"], domain=Domain(max_rank=3))
    assert declared.exit_status == 0, "the suggested declaration leaves exactly the bug out"


def test_the_text_and_json_say_it_once_with_the_line(report: Report) -> None:
    text = report.to_text()
    causes = text.split("ROOT CAUSES", 1)[1].split("\n\n", 1)[0]
    assert causes.count("dim must be a 2-tuple") == 1
    assert f"raised at {FILE}:{LINE} in _unit_norm" in causes
    assert "--max-rank 3" in causes.replace("\n    ", " ")
    assert f"matrix_norm_agc.py:{LINE} in _unit_norm" in report.summary_line()
    summary = json.loads(report.to_json())["summary"]
    assert len(summary["root_causes"]) == 1 and len(summary["findings"]) == 1
    assert summary["findings"][0]["line"] == f"{FILE}:{LINE} in _unit_norm"


def _error(clause: str, message: str, line: str, example: str, **raised: object) -> Result:
    info = {"type": "builtins.RuntimeError", "message": message, "line": line, **raised}
    return Result(clause, "MUST", "t", f"agc.{clause}", ("agc",), "error", example=example,
                  message=message, raised=info)  # fmt: skip


def test_grouping_is_by_type_message_numbers_aside_and_line() -> None:
    here, there = "/t/agc.py:22 in norm", "/t/agc.py:40 in agc"
    big = dict(ranks=[4], dtypes=["float32"], size=4096)
    small = dict(ranks=[0, 4], dtypes=["float32"], size=2)
    results = [
        _error("AGC-001", "size 3 vs 4", here, "big()", **big),
        _error("AGC-002", "size 5 vs 6", here, "small()", **small),
        _error("AGC-003", "size 3 vs 4", there, "x()", ranks=[1], dtypes=["float32"], size=1),
        Result("AGC-004", "MUST", "t", "agc.d", ("agc",), "failed", message="off by one"),
    ]
    report = Report("1", {"agc": "m:f"}, "quick", 0, results)
    first, second = report.findings()
    assert (first.clauses, first.line, first.example) == (["AGC-001", "AGC-002"], here, "small()")
    assert first.domain == {"max_rank": 3}
    assert second.clauses == ["AGC-003"] and second.domain is None and not second.hint
    assert report.root_causes() == ["AGC-001", "AGC-003", "AGC-004"]


def test_a_dtype_every_input_holds_is_a_domain_to_declare() -> None:
    line = "/t/agc.py:9 in agc"
    results = [
        _error("AGC-016", "no complex", line, "a()", ranks=[1], dtypes=["complex64"], size=2),
        _error("AGC-015", "no complex", line, "b()", ranks=[2], dtypes=["complex128", "float32"]),
    ]
    (finding,) = Report("1", {"agc": "m:f"}, "quick", 0, results).findings()
    assert finding.domain == {"dtypes": ["float32", "float64", "float16", "bfloat16"]}
    assert "f.conformance_domain" in finding.hint and "--dtypes float32,float64" in finding.hint


def test_the_target_line_is_its_own_frame_and_inputs_are_measured() -> None:
    where = "raised at /v/torch/functional.py:1 in norm (called from /me/a.py:5 in f)"
    inside = ExceptionInfo("builtins.RuntimeError", (), "m", where)
    assert target_line(inside) == "/me/a.py:5 in f"
    assert target_line(ExceptionInfo("builtins.ValueError", (), "m", "")) == ""
    case = AGCCase((ParamCase([[1.0, 2.0]], [[0.0, 0.0]]), SeededParam((2, 3, 4, 5), "float16")))
    assert tensors_in(case) == [((1, 2), "float32"), ((2, 3, 4, 5), "float16")]
