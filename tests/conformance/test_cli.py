"""The `conformance` command line: exit codes, formats, output file, xfail files, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from conformance.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ROOT / "tests" / "conformance" / "faulty" / "config_faults.py"
CONFIGS = ["--tf-config", "spec:TFTrainingConfig", "--torch-config", "spec:TorchTrainingConfig"]
FAITHFUL_CFG = [*CONFIGS, "--bridge", "spec"]
PLAIN_STR = ["--torch-config", f"{FAULTS}:PlainStrAlgorithmTorchConfig"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, *argv, "--format", "json")
    return code, json.loads(out)


def test_exit_0_when_every_checked_clause_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *FAITHFUL_CFG)
    assert code == 0
    assert "CFG-003" in out and "conforms" in out.splitlines()[-1]


def test_exit_1_and_a_counterexample_when_a_clause_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CFG-003 fails for the upstream-like plain-str algorithm (loaded by file path)."""
    code, out, _ = run(capsys, "check", *PLAIN_STR, "--clause", "CFG-00*")
    assert code == 1
    assert "does NOT conform to the plan (1 clause fails: CFG-003)" in out
    assert (
        "counterexample:" in out and "BadValue(side='torch', field='gradient_clip_algorithm'" in out
    )
    assert "reproduce:" in out and "reproduce('config.torch_unknown_algorithm_refused'" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["check", "--agc", "impl"], "no ':'"),
        (["check", "--agc", "no_such_mod_xyz:fn"], "module 'no_such_mod_xyz' not found"),
        (["check", "--agc", "impl:nope"], "'impl' has no attribute 'nope'"),
        (["check", "--block", "/does/not/exist.py:Block"], "file not found"),
        (["check", "--profile", "fastest"], "invalid choice: 'fastest'"),
        (["check", "--clause", "XYZ-999"], "matches no property"),
        (["check", "--seed", "one"], "invalid int value"),
        (["check", "--time-limit", "0"], "must be > 0"),
        (["check", "--threads", "0"], "must be > 0"),
        (["check", "--import-limit", "x"], "is not a number"),
        (["frobnicate"], "invalid choice"),
        (["check", "--xfail", "/no/such/xfail.txt"], "cannot read xfail file"),
    ],
)
def test_exit_2_for_usage_errors_and_unloadable_targets(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err
    assert out == ""


def test_unloadable_target_message_says_which_why_and_the_form(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "check", "--registry", "impl.registry:resolve")
    assert code == 2
    assert "--registry target 'impl.registry:resolve'" in err
    assert "has no attribute 'resolve'" in err
    assert "'package.module:attr' or 'path/to/file.py:attr'" in err


def test_json_report_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = as_json(capsys, "check", *PLAIN_STR, "--clause", "CFG-002", "CFG-003")
    assert code == 1
    assert report["format"] == "fno-stability-conformance-report"
    for key in ("spec_version", "targets", "profile", "seed", "results", "summary", "warnings"):
        assert key in report
    assert report["targets"] == {"torch_config": f"{FAULTS}:PlainStrAlgorithmTorchConfig"}
    assert (report["profile"], report["seed"]) == ("quick", 0)
    by_clause = {r["clause"]: r for r in report["results"]}
    assert set(by_clause) == {"CFG-002", "CFG-003"}
    for r in report["results"]:
        assert set(r) >= {"clause", "property", "status", "examples", "seconds", "message"}
        assert set(r) >= {"reproduction", "example", "level", "roles"}
    failed = by_clause["CFG-003"]
    assert failed["status"] == "failed" and failed["examples"] >= 1
    assert "was accepted" in failed["message"]
    assert failed["example"].startswith("BadValue(")
    assert "config.torch_unknown_algorithm_refused" in failed["reproduction"]
    assert by_clause["CFG-002"]["status"] == "passed"
    assert report["summary"]["failing_clauses"] == ["CFG-003"]
    assert report["summary"]["exit_status"] == 1


def test_reproduction_snippet_reproduces(capsys: pytest.CaptureFixture[str]) -> None:
    """The printed snippet, run as is, raises the property's AssertionError."""
    _, report = as_json(capsys, "check", *PLAIN_STR, "--clause", "CFG-003")
    snippet = report["results"][0]["reproduction"]
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "AssertionError" in done.stderr and "was accepted" in done.stderr


def test_junit_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", *PLAIN_STR, "--clause", "CFG-00[23]", "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert "CFG-003::config.torch_unknown_algorithm_refused" in cases
    assert cases["CFG-003::config.torch_unknown_algorithm_refused"].find("failure") is not None
    assert cases["CFG-002::config.torch_algorithm_default"].find("failure") is None
    suite = next(root.iter("testsuite"))
    assert suite.get("failures") == "1" and suite.get("tests") == "2"


def test_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run(capsys, "check", *CONFIGS, "--format", "json", "--output", str(target))
    assert code == 0
    assert out.startswith("summary:")
    assert json.loads(target.read_text())["summary"]["conforms"] is True


def test_xfail_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    xfail = tmp_path / "known.txt"
    xfail.write_text(
        "# known deviations of the upstream-like config\n"
        "CFG-003   algorithm typed plain str upstream\n"
        "config.torch_algorithm_default   listed but passes\n"
        "AGC-099   no such clause\n"
    )
    code, out, err = run(
        capsys, "check", *PLAIN_STR, "--clause", "CFG-00[23]", "--xfail", str(xfail)
    )
    assert code == 0, out
    assert "xfail entry 'AGC-099'" in err and "matches no property" in err
    code, report = as_json(
        capsys, "check", *PLAIN_STR, "--clause", "CFG-00[23]", "--xfail", str(xfail)
    )
    status = {r["property"]: (r["status"], r["xfail_reason"]) for r in report["results"]}
    assert status["config.torch_unknown_algorithm_refused"] == (
        "xfailed",
        "algorithm typed plain str upstream",
    )
    assert status["config.torch_algorithm_default"] == ("xpassed", "listed but passes")
    assert any("AGC-099" in w for w in report["warnings"])


def test_malformed_xfail_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    xfail = tmp_path / "bad.txt"
    xfail.write_text("CFG-003\n")
    code, _, err = run(capsys, "check", *CONFIGS, "--xfail", str(xfail))
    assert code == 2 and f"{xfail}:1" in err and "has no reason" in err


def test_should_failures_are_advisory_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """CFG-009 is a SHOULD: a bridge dropping one-sided values silently is reported, exit 0."""
    argv = ["check", *CONFIGS, "--bridge", f"{FAULTS}:silent_bridge", "--clause", "CFG-009"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "advisory SHOULD failures: CFG-009" in out
    code, out, _ = run(capsys, *argv, "--strict")
    assert code == 1 and "CFG-009" in out.splitlines()[-1]


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    for r in report["results"]:
        r.pop("seconds")
    report["summary"].pop("seconds")
    return report


def test_same_seed_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", *PLAIN_STR, "--tf-config", "spec:TFTrainingConfig", "--seed", "7"]
    first = _without_timings(as_json(capsys, *argv)[1])
    second = _without_timings(as_json(capsys, *argv)[1])
    assert first == second
    assert first["seed"] == 7
    other = _without_timings(as_json(capsys, *argv[:-1], "3")[1])
    assert other["seed"] == 3


def test_clauses_and_roles_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clauses")
    assert code == 0
    assert "CFG-003" in out and "config.torch_unknown_algorithm_refused [torch_config]" in out
    code, out, _ = run(capsys, "roles")
    assert code == 0 and "--train-step" in out and "bundled: impl:training_step" in out
    code, out, _ = run(capsys, "roles", "--markdown")
    assert code == 0 and out.startswith("| role | option |") and "`--train-step`" in out


def test_python_dash_m_exit_codes() -> None:
    """The module entry point returns the same codes from a fresh interpreter."""
    ok = subprocess.run(
        [sys.executable, "-m", "conformance", "check", *CONFIGS, "--clause", "CFG-001"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "conformance", "check", "--agc", "nowhere:fn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "nowhere:fn" in bad.stderr
