"""A hanging target costs bounded time: after K timeouts in a row of one role (K =
``GIVE_UP_AFTER``, 3) its other properties are reported ``timeout`` without being run, the
report says the target hangs (one finding, one root cause), and the run exits 1.

The hanging target is hostile/native_hang.py: it holds the GIL in a native ``sleep(1000)``, so
each property it is given costs the whole time limit. Without the give-up a run at
``--time-limit 5`` took 166 s (about 30 properties x the limit); the tests count the properties
actually waited on (a result whose message is the time limit's, with its seconds) rather than
trusting wall time alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance._internal.causes import GIVE_UP_AFTER, HangWatch
from conformance.judge import run_conformance
from conformance.report import Report, Result

ROOT = Path(__file__).resolve().parents[2]
HANG = f"{ROOT / 'tests' / 'conformance' / 'hostile' / 'native_hang.py'}:agc"
OTHER = {"torch_config": "spec:TorchTrainingConfig"}
LIMIT = 1.0
FIVE = ["AGC-001", "AGC-003", "AGC-007", "AGC-009", "AGC-010"]
"""Five plan clauses with one AGC property each."""


def waited(report: Report) -> list[Result]:
    """The properties whose time limit was actually waited out."""
    return [r for r in report.results if r.status == "timeout" and "time limit of" in r.message]


def not_run(report: Report) -> list[Result]:
    return [r for r in report.results if r.status == "timeout" and r.message.startswith("not run")]


def test_k_is_three_and_a_bad_k_is_named() -> None:
    assert GIVE_UP_AFTER == 3
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f"give up after {bad!r} timeouts: allowed is"):
            HangWatch(bad)  # type: ignore[arg-type]


def _result(prop: str, status: str, roles: tuple[str, ...] = ("agc",)) -> Result:
    return Result("AGC-001", "MUST", "t", prop, roles, status)  # type: ignore[arg-type]


def test_only_timeouts_in_a_row_give_up_and_only_on_their_roles() -> None:
    watch = HangWatch(3)
    for prop, status in [("a", "timeout"), ("b", "timeout"), ("c", "passed"), ("d", "timeout")]:
        watch.seen(_result(prop, status))
    assert watch.hung(("agc",)) is None, "a pass in between starts the count again"
    watch.seen(_result("e", "not_applicable"))  # ran nothing: neither breaks nor extends it
    watch.seen(_result("f", "timeout"))
    assert watch.hung(("agc",)) is None
    watch.seen(_result("g", "timeout"))
    assert watch.hung(("agc",)) == ("agc",)
    assert watch.hung(("agc", "clip")) == ("agc",), "a property that needs the hung agc too"
    assert watch.hung(("torch_config",)) is None
    assert "(d, f, g)" in watch.why(("agc",))


def test_a_two_role_streak_does_not_condemn_either_role_alone() -> None:
    watch = HangWatch(2)
    for prop in ("a", "b"):
        watch.seen(_result(prop, "timeout", ("agc", "clip")))
    assert watch.hung(("agc", "clip")) == ("agc", "clip")
    assert watch.hung(("agc",)) is None and watch.hung(("clip",)) is None
    watch.seen(_result("c", "failed", ("agc", "clip")))
    assert watch.hung(("agc", "clip")) is None


def test_the_native_hang_costs_k_limits_not_one_per_property() -> None:
    start = time.monotonic()
    report = run_conformance({"agc": HANG, **OTHER}, clauses=["AGC-*", "CFG-00[1-4]"],
                             time_limit=LIMIT)  # fmt: skip
    elapsed = time.monotonic() - start
    agc = [r for r in report.results if r.roles == ("agc",)]
    assert len(waited(report)) == GIVE_UP_AFTER, [(r.property, r.message) for r in agc]
    assert all(r.seconds >= LIMIT * 0.9 for r in waited(report))
    skipped = not_run(report)
    assert len(skipped) >= 20, "the other agc properties are reported, not dropped"
    assert all(r.seconds == 0 and r.examples == 0 for r in skipped)
    assert "reached the time limit on 3 properties in a row" in skipped[0].message
    assert {r.status for r in agc} <= {"timeout", "not_applicable"}
    assert report.given_up == {"agc": [r.property for r in skipped]}
    assert report.exit_status == 1
    # one fact, said once: the agc target hangs
    (finding,) = report.findings()
    assert finding.kind == "hang" and finding.not_run == [r.property for r in skipped]
    assert report.root_causes() == [finding.head] == ["AGC-001"]
    assert "agc target hangs" in report.summary_line()
    text = report.to_text()
    causes = text.split("ROOT CAUSES", 1)[1].split("\n\n", 1)[0]
    assert "the agc target hangs" in causes and f"the other {len(skipped)} were not run" in causes
    # the other role is untouched
    mine = [r for r in report.results if r.roles == ("torch_config",)]
    assert mine and {r.status for r in mine} == {"passed"}
    # about K x the limit (plus loading the targets), not ~30 x the limit
    assert elapsed < GIVE_UP_AFTER * LIMIT + 30, f"took {elapsed:.0f} s"


def test_without_the_give_up_every_property_is_waited_on() -> None:
    everything = run_conformance({"agc": HANG}, clauses=FIVE, time_limit=LIMIT,
                                 give_up_after=None)  # fmt: skip
    assert len(waited(everything)) == 5 and not not_run(everything)
    assert everything.given_up == {} and everything.exit_status == 1
    bounded = run_conformance({"agc": HANG}, clauses=FIVE, time_limit=LIMIT)
    assert len(waited(bounded)) == 3 and len(not_run(bounded)) == 2
    two = run_conformance({"agc": HANG}, clauses=FIVE, time_limit=LIMIT, give_up_after=2)
    assert len(waited(two)) == 2 and len(not_run(two)) == 3


def test_the_command_line_exits_1_and_the_json_names_the_hang() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "check", "--agc", HANG,
         "--time-limit", "1", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    data = json.loads(done.stdout)
    summary = data["summary"]
    assert summary["exit_status"] == 1 and not summary["conforms"]
    timeouts = [r for r in data["results"] if r["status"] == "timeout"]
    ran = [r for r in timeouts if not r["message"].startswith("not run")]
    assert len(ran) == 3
    assert summary["given_up"]["agc"] == [
        r["property"] for r in timeouts if r["message"].startswith("not run")
    ]
    assert [f["kind"] for f in summary["findings"]] == ["hang"]
    assert summary["root_causes"] == [summary["findings"][0]["head"]]
