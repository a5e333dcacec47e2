"""Judging mutants: each outcome on tiny targets, a whole run, the equivalence file, the CLI,
and an interrupted run's partial report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.mutate.equivalence import (
    EquivalenceError,
    load_equivalence,
    parse_equivalence,
    unused,
)
from conformance.mutate.execute import Settings, judge_mutant, mutate
from conformance.mutate.mutants import MutateError
from conformance.mutate.outcomes import MutantOutcome, MutationReport

HERE = Path(__file__).resolve().parent
TINY = HERE / "tiny"
ONE = Settings(clauses=["AGC-001"], time_limit=2.0)
"""One plan clause: enough to tell the outcomes apart, fast."""


def _judge(target: str, settings: Settings = ONE) -> tuple[str, str | None, str | None]:
    outcome, killed_by, status, _, interrupted = judge_mutant("agc", target, {}, settings)
    assert interrupted is None
    return outcome, killed_by, status


def test_a_wrong_mutant_is_killed_by_the_clause_it_breaks() -> None:
    assert _judge(f"{TINY}/outcomes.py:never_clips") == (
        "killed",
        "AGC-001 agc.unit_rule",
        "failed",
    )


def test_a_crash_is_a_kill() -> None:
    outcome, killed_by, status = _judge(f"{TINY}/outcomes.py:exits")
    assert (outcome, status) == ("killed", "crashed") and killed_by == "AGC-001 agc.unit_rule"


def test_a_hang_is_a_timeout() -> None:
    began = time.monotonic()
    outcome, _, status = _judge(f"{TINY}/outcomes.py:hangs")
    assert (outcome, status) == ("timeout", "timeout")
    assert time.monotonic() - began < 30


def test_a_mutant_that_does_not_load_is_incompetent() -> None:
    outcome, killed_by, _, message, _ = judge_mutant("agc", f"{TINY}/broken.py:agc", {}, ONE)
    assert (outcome, killed_by) == ("incompetent", None)
    assert "ZeroDivisionError" in message


def test_a_correct_mutant_survives_and_judging_stops_at_the_first_failure() -> None:
    assert _judge(f"{TINY}/agc.py:agc") == ("survived", None, None)
    # per-tensor norms pass AGC-001 on single units but fail later clauses: the first counted
    # failure is reported, and nothing after it runs
    settings = Settings(clauses=["AGC-00*"], time_limit=5.0)
    outcome, killed_by, _ = _judge(f"{TINY}/outcomes.py:per_tensor", settings)
    assert outcome == "killed" and killed_by is not None and killed_by.startswith("AGC-00")


def test_score_counts_timeouts_as_killed_and_leaves_out_incompetent_and_equivalent() -> None:
    def o(outcome: str) -> MutantOutcome:
        return MutantOutcome("constant:1:0:0", "constant", "", "", outcome)  # type: ignore[arg-type]

    report = MutationReport(
        "agc", "t", "f.py", "f", "quick", 0, ["AGC"], 6,
        [o("killed"), o("timeout"), o("survived"), o("incompetent"), o("equivalent"),
         o("killed")],
    )  # fmt: skip
    assert report.score == pytest.approx(3 / 4)
    data = json.loads(report.to_json())
    assert (data["killed"], data["timeout"], data["survived"]) == (2, 1, 1)
    assert (data["incompetent"], data["equivalent"]) == (1, 1)
    empty = MutationReport("agc", "t", "f.py", "f", "quick", 0, ["AGC"], 0)
    assert empty.score is None and "n/a" in empty.summary_line()


def test_equivalence_file_parsing() -> None:
    entries = parse_equivalence(
        "# reviewed\n\ncomparison:12:4:1   > vs >= on a NaN-free norm  # same\nbranch:3:0:0 why\n"
    )
    assert [(e.id, e.reason, e.line) for e in entries] == [
        ("comparison:12:4:1", "> vs >= on a NaN-free norm", 3),
        ("branch:3:0:0", "why", 4),
    ]
    assert [e.id for e in unused(entries, ["branch:3:0:0"])] == ["comparison:12:4:1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("comparison:12:4:1\n", r"<eq>:1: 'comparison:12:4:1' has no reason"),
        ("comparison:12:4 reason\n", r"'comparison:12:4' is not a mutant id; expected"),
        ("swap:1:2:3 reason\n", r"unknown operator 'swap' .*allowed are comparison"),
        (
            "branch:3:0:0 a\nbranch:3:0:0 b\n",
            r"<eq>:2: 'branch:3:0:0' is already declared on line 1",
        ),
    ],
)
def test_equivalence_file_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(EquivalenceError, match=message):
        parse_equivalence(text, "<eq>")


def test_equivalence_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(EquivalenceError, match="cannot read equivalence file"):
        load_equivalence(tmp_path / "missing.txt")


def test_a_whole_run_over_a_tiny_target(tmp_path: Path) -> None:
    target = {"agc": f"{TINY}/agc.py:agc"}
    settings = Settings(clauses=["AGC-001", "AGC-009"])
    entries = parse_equivalence(
        "inplace:14:12:0 clamp_ on the temporary norm: the same values\nbranch:99:0:0 stale\n"
    )
    report = mutate(
        "agc", target, settings, operators=["inplace", "comparison"], equivalent=entries
    )
    by_id = {o.id: o for o in report.outcomes}
    # tiny/agc.py line 11: if p.grad is None; line 14: w = vector_norm(...).clamp(min=eps)
    # line 17: p.grad.mul_(torch.where(g > bound, bound / g, torch.ones_like(g)))
    assert set(by_id) == {
        "comparison:11:11:0",  # is None -> is not None
        "inplace:14:12:0",  # clamp -> clamp_
        "inplace:17:8:0",  # mul_ -> mul
        "comparison:17:32:0",  # g > bound -> g >= bound
        "comparison:17:32:1",  # g > bound -> g <= bound
    }
    assert by_id["inplace:14:12:0"].outcome == "equivalent"
    assert by_id["comparison:11:11:0"].outcome == "killed"
    assert by_id["inplace:17:8:0"].outcome == "killed"
    assert by_id["comparison:17:32:1"].outcome == "killed"
    assert by_id["comparison:17:32:0"].outcome == "survived", "'>=' only differs on the bound"
    assert report.score == pytest.approx(3 / 4)
    assert any("branch:99:0:0" in w for w in report.warnings)
    text = report.to_text()
    assert "SURVIVORS (1; each escapes the AGC clauses)" in text
    assert "+        p.grad.mul_(torch.where(g >= bound," in text


def test_a_non_conforming_original_is_refused() -> None:
    with pytest.raises(MutateError, match="do not conform"):
        mutate("agc", {"agc": f"{TINY}/outcomes.py:never_clips"}, ONE)


def test_the_cli_writes_the_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    status = main(
        ["mutate", "--agc", f"{TINY}/agc.py:agc", "--clause", "AGC-001", "--operator", "inplace",
         "--format", "json", "-o", str(out)]
    )  # fmt: skip
    assert status == 0
    data = json.loads(out.read_text())
    assert {"score", "killed", "survived", "equivalent", "incompetent", "timeout"} <= set(data)
    clamp, mul = data["mutants"]
    assert (clamp["id"], clamp["outcome"], clamp["killed_by"]) == (
        "inplace:14:12:0",
        "survived",
        None,
    )
    assert mul["id"] == "inplace:17:8:0" and mul["outcome"] == "killed"
    assert mul["killed_by"] == "AGC-001 agc.unit_rule" and mul["diff"].startswith("---")
    captured = capsys.readouterr()
    assert "[2/2" in captured.err and "mutation score 50.0 %" in captured.out


def test_the_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mutate", "--clause", "AGC-001"]) == 2
    assert "give the target to mutate" in capsys.readouterr().err
    bad = tmp_path / "eq.txt"
    bad.write_text("nonsense\n")
    assert main(["mutate", "--agc", f"{TINY}/agc.py:agc", "--equivalent", str(bad)]) == 2
    assert "is not a mutant id" in capsys.readouterr().err
    assert main(["mutate", "--agc", f"{TINY}/agc.py:agc", "--operator", "nope"]) == 2


def test_sigterm_writes_the_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "partial.json"
    command = [
        sys.executable, "-m", "conformance", "mutate", "--agc", f"{TINY}/agc.py:agc",
        "--clause", "AGC-001", "--format", "json", "-o", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[2])}
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stderr is not None
    for line in child.stderr:
        if line.startswith("[2/"):
            break
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=60)
    assert child.returncode == 143
    data = json.loads(out.read_text())
    assert data["interrupted"] == "SIGTERM"
    assert 2 <= len(data["mutants"]) < data["planned"]


def test_mutants_on_lines_no_property_reaches_survive_unrun() -> None:
    target = {"agc": f"{TINY}/agc.py:agc_with_dead_branch"}
    settings = Settings(clauses=["AGC-001"])
    report = mutate("agc", target, settings, operators=["statement"])
    by_id = {o.id: o for o in report.outcomes}
    # line 23: raise NotImplementedError(unit_dim + 1), under a test no property makes true
    dead = by_id["statement:23:8:0"]
    assert (dead.outcome, dead.reached) == ("survived", False)
    assert "reached by no property" in dead.message
    assert by_id["statement:24:4:0"].outcome == "killed"  # agc(...) removed
    # and AGC-001 never gives a None gradient: tiny.agc's `continue` (line 12) is unreached too
    unreached = {o.id for o in report.outcomes if not o.reached}
    assert report.coverage and unreached == {"statement:12:12:0", "statement:23:8:0"}
    # run anyway, the same mutant survives: the coverage run only saves its time
    again = mutate("agc", target, settings, operators=["statement"], skip_unreached=False)
    rerun = {o.id: o for o in again.outcomes}["statement:23:8:0"]
    assert (rerun.outcome, rerun.reached) == ("survived", True)


def test_a_whole_module_bridge_is_mutated_through_its_members() -> None:
    """The bridge role's target is a module: its mutants are those of to_tf and to_torch (and
    what they use), each loaded as a module again."""
    targets = {
        "bridge": f"{TINY}/bridge.py",
        "tf_config": "spec:TFTrainingConfig",
        "torch_config": "spec:TorchTrainingConfig",
    }
    report = mutate("bridge", targets, Settings(clauses=["CFG-006"]), operators=["statement"])
    assert report.qualname == "to_tf+to_torch"
    assert {o.id: o.outcome for o in report.outcomes} == {
        "statement:11:4:0": "killed",  # return spec.to_tf(cfg) -> pass
        "statement:15:4:0": "killed",  # return spec.to_torch(cfg) -> pass
    }
