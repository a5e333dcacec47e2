"""The suite's power: ``conformance mutate`` scores of the bundled and faithful targets.

    PYTHONPATH=. python benchmarks/mutation_scores.py [--only NAME ...] [--profile quick]
                                                      [--jobs 1] [--json PATH]

Each run of :data:`RUNS` is one ``python -m conformance mutate --<role> TARGET --format json``
command in a fresh interpreter (its reviewed equivalence file from ``benchmarks/mutation/``
where it has one); the scores, counts, every survivor and the run's conditions (load average
before and after, wall time) are written to ``benchmarks/results/mutation/scores.json``
after each run, atomically, so an interrupted sweep keeps what it finished.
``docs/generate.py`` renders that file into ``docs/reference/mutation-scores.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchjson import conditions, write_json

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "mutation" / "scores.json"

_BUNDLED_AGC = "benchmarks/mutation/bundled_agc.equivalent"

RUNS: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {
    "faithful-agc": (
        "agc",
        "tests/conformance/faithful/agc.py:adaptive_gradient_clip_",
        "benchmarks/mutation/faithful_agc.equivalent",
        (),
    ),
    "bundled-agc": ("agc", "impl:adaptive_gradient_clip_", _BUNDLED_AGC, ()),
    "bundled-agc-strict": ("agc", "impl:adaptive_gradient_clip_", _BUNDLED_AGC, ("--strict",)),
    "bundled-clip": ("clip", "impl:clip_gradients_", None, ()),
}
"""name -> (role, target, equivalence file or None, extra options)."""


def _changed(diff: str, sign: str) -> str:
    """The first line the mutant's unified diff removes (``-``) or adds (``+``), stripped."""
    for line in diff.splitlines():
        if line.startswith(sign) and not line.startswith(sign * 3):
            return line[1:].strip()
    return ""


def _survivor(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "description": m["description"],
        "before": _changed(m["diff"], "-"),
        "after": _changed(m["diff"], "+"),
        "reached": m["reached"],
    }


def run_one(name: str, profile: str, jobs: int) -> dict[str, Any]:
    """One ``conformance mutate`` command; its counts, score and survivors."""
    role, target, equivalent, extra = RUNS[name]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "m.json"
        cmd = [sys.executable, "-m", "conformance", "mutate", f"--{role.replace('_', '-')}",
               target, "--profile", profile, "--jobs", str(jobs), "--format", "json",
               "-o", str(out), *extra]  # fmt: skip
        if equivalent:
            cmd += ["--equivalent", equivalent]
        load_before = [round(x, 2) for x in os.getloadavg()]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"{name}: mutate failed ({done.returncode}):\n{done.stderr[-3000:]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    keys = ("score", "generated", "planned", "killed", "timeout", "survived", "unreached")
    keys += ("incompetent", "equivalent", "mutants_per_minute", "seconds")
    return {
        "name": name,
        "role": role,
        "target": target,
        "options": list(extra),
        "equivalence_file": equivalent,
        **{k: report[k] for k in keys},
        "wall_seconds": round(wall, 1),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "survivors": [_survivor(m) for m in report["mutants"] if m["outcome"] == "survived"],
    }


def _commit() -> str:
    """The commit measured (``+changes`` when the working tree differs from it)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip() or "unknown"  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    return f"{head}+changes" if dirty else head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="these runs only")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="write the results here")
    args = parser.parse_args(argv)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"runs": {}}
    for kept in old.get("runs", {}).values():  # runs kept from an earlier sweep keep its commit
        kept.setdefault("commit", old.get("conditions", {}).get("commit", "unknown"))
    payload = {
        "benchmark": "mutation_scores",
        "command": "python benchmarks/mutation_scores.py " + " ".join(sys.argv[1:]),
        "conditions": conditions(
            reps=1, threads=1, device="cpu", profile=args.profile, commit=_commit()
        ),
        "runs": dict(old.get("runs", {})),
    }
    for name in args.only or list(RUNS):
        print(f"mutation_scores: {name} ...", file=sys.stderr, flush=True)
        result = {**run_one(name, args.profile, args.jobs), "commit": _commit()}
        payload["runs"][name] = result
        payload["conditions"]["load_after"] = result["load_after"]
        write_json(str(path), payload)
        score = "n/a" if result["score"] is None else f"{100 * result['score']:.1f} %"
        print(f"  {name}: {score} in {result['wall_seconds']} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
