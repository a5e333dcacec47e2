"""Benchmark: ``conformance mutate`` throughput, and a mutant through the warm host vs a fresh
interpreter.

    PYTHONPATH=. python benchmarks/bench_mutate.py [--repeats 1] [--max-mutants 24]
                                                  [--jobs 1 2] [--json PATH]

1. ``python -m conformance mutate --agc tests/conformance/faithful/agc.py:adaptive_gradient_clip_
   --profile quick --max-mutants N --run-unreached`` in a fresh interpreter, for each ``--jobs``
   value, repeated and interleaved: mutants judged per minute of the mutation phase (the
   report's ``mutants_per_minute``; the baseline and coverage runs are not in it) and the
   whole command's wall time.
2. The same few mutants judged one by one (:func:`conformance.mutate.execute.judge_mutant`, the
   first counted failure ends each) in this process, through the warm worker host, against
   each judged by a fresh interpreter that imports the harness and torch and starts its own
   host (what a mutation tool driving ``conformance check`` per mutant would pay).

The machine is shared: the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchjson import conditions, finish, group, new_payload, write_json

ROOT = Path(__file__).resolve().parents[1]
TARGET = "tests/conformance/faithful/agc.py:adaptive_gradient_clip_"


def throughput(jobs: int, max_mutants: int) -> tuple[float, float, dict[str, int]]:
    """(mutants per minute, wall seconds, counts) of one ``conformance mutate`` command."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "m.json"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "mutate", "--agc", TARGET, "--profile",
             "quick", "--max-mutants", str(max_mutants), "--run-unreached", "--jobs",
             str(jobs), "--format", "json", "-o", str(out)],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"mutate failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        data = json.loads(out.read_text())
    counts = {k: data[k] for k in ("killed", "timeout", "survived", "incompetent")}
    return float(data["mutants_per_minute"]), wall, counts


def per_mutant(count: int) -> tuple[list[float], list[float]]:
    """Seconds per mutant: judged through this process's warm host, and by a fresh interpreter."""
    from conformance.mutate.execute import Settings, judge_mutant
    from conformance.mutate.mutants import generate, sample

    path = ROOT / TARGET.split(":")[0]
    mutants = sample(generate(path.read_text(), "adaptive_gradient_clip_", str(path)), count, 0)
    settings = Settings()
    warm_times, fresh_times = [], []
    with tempfile.TemporaryDirectory() as folder:
        targets = []
        for i, mutant in enumerate(mutants):
            file = Path(folder) / f"m{i}.py"
            file.write_text(mutant.source)
            targets.append(f"{file}:adaptive_gradient_clip_")
        judge_mutant("agc", targets[0], {}, settings)  # start the host once
        for target in targets:  # interleaved
            start = time.perf_counter()
            judge_mutant("agc", target, {}, settings)
            warm_times.append(time.perf_counter() - start)
            code = (
                "from conformance.mutate.execute import Settings, judge_mutant; "
                f"judge_mutant('agc', {target!r}, {{}}, Settings())"
            )
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
            fresh_times.append(time.perf_counter() - start)
    return warm_times, fresh_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-mutants", type=int, default=24)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-mutant", type=int, default=4, help="mutants in part 2")
    parser.add_argument("--json", metavar="PATH", help="also write the results here (atomically)")
    args = parser.parse_args()
    payload = new_payload(
        "bench_mutate",
        "conformance mutate: mutants per minute, warm host vs fresh interpreter",
        conditions(
            reps=args.repeats,
            threads=1,
            device="cpu",
            target=TARGET,
            profile="quick",
            max_mutants=args.max_mutants,
        ),
    )
    rates: dict[str, list[float]] = {f"jobs {j}": [] for j in args.jobs}
    walls: dict[str, list[float]] = {f"jobs {j}": [] for j in args.jobs}
    counts: dict[str, int] = {}
    for _ in range(args.repeats):
        for jobs in args.jobs:  # interleaved
            rate, wall, counts = throughput(jobs, args.max_mutants)
            rates[f"jobs {jobs}"].append(rate)
            walls[f"jobs {jobs}"].append(wall)
            print(f"jobs {jobs}: {rate:.1f} mutants/min, {wall:.1f} s wall, {counts}")
    base = f"jobs {args.jobs[0]}"
    note = (
        f"{args.max_mutants} mutants of the faithful AGC (sampled with seed 0), every one run "
        f"(--run-unreached); outcomes of the last run: {counts}"
    )
    payload["groups"].append(
        group(
            "mutants judged per minute (higher is better)",
            {k: statistics.median(v) for k, v in rates.items()},
            baseline=base,
            unit="mutants/min",
            notes=[note],
        )
    )
    payload["groups"].append(
        group(
            "the whole command's wall time (the original's check, then the mutants)",
            {k: statistics.median(v) for k, v in walls.items()},
            baseline=base,
            unit="s",
        )
    )
    warm_times, fresh_times = per_mutant(args.per_mutant)
    print(f"per mutant: warm host {statistics.median(warm_times):.2f} s, fresh interpreter "
          f"{statistics.median(fresh_times):.2f} s")  # fmt: skip
    payload["groups"].append(
        group(
            "seconds per mutant (the first counted failure ends each)",
            {
                "forked from the warm host": statistics.median(warm_times),
                "a fresh interpreter per mutant": statistics.median(fresh_times),
            },
            baseline="forked from the warm host",
            unit="s",
            notes=[f"{args.per_mutant} mutants of the faithful AGC, interleaved"],
        )
    )
    finish(payload)
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
