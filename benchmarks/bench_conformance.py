"""Benchmark: the conformance suite's wall time, and the worker protocol's per-example cost.

    PYTHONPATH=. python benchmarks/bench_conformance.py [--repeats 3] [--examples 400]
                                                        [--json PATH]

1. ``python -m conformance check --profile quick`` and ``--profile default`` against the
   bundled implementation, each run in a fresh interpreter (imports, the worker host's
   start and every worker included), repeated and interleaved; medians against the
   budgets (quick <= 10 s, default <= 30 s on the project's 2-core machine).
2. The round trip of one example through a worker (send the pickled example, run the act
   in the worker, send the observation back, decode) against the same act and decision run
   in this process through the same wire encoding (:meth:`Property.check`), on a trivial
   property and on AGC-017 (a real act with tensors), interleaved; medians and the ratio.

The machine is shared: the load average is printed before and after. The worker round
trip needs a worker without a whole run around it: the one name this benchmark takes from
the harness's private machinery is ``conformance._internal.session.Session``, which has no
public counterpart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchjson import conditions, finish, group, new_payload, write_json

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"quick": 10.0, "default": 30.0}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def suite_times(repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {p: [] for p in BUDGET}
    for _ in range(repeats):
        for profile in BUDGET:  # interleaved
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "conformance", "check", "--profile", profile],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            times[profile].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{profile} run failed:\n{done.stdout[-2000:]}{done.stderr}")
    return times


def _examples(prop: Any, count: int) -> list[Any]:
    from hypothesis import HealthCheck, given, settings

    from conformance.domain import Domain

    drawn: list[Any] = []

    @settings(max_examples=count, database=None, suppress_health_check=list(HealthCheck))
    @given(prop.strategy_for(Domain()))
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn[:count]


def round_trips(examples: int) -> dict[str, tuple[float, float]]:
    """{property: (median worker round trip, median in-process), seconds per example}."""
    from conformance import PROPERTIES, Targets, load_target
    from conformance._internal.session import Session  # no public counterpart

    sys.path.insert(0, str(ROOT / "tests" / "conformance"))
    from hostile import probes

    wanted = {
        "probe (echo)": probes.COUNT,
        "AGC-017": next(p for p in PROPERTIES if p.clause == "AGC-017"),
    }
    session = Session({"agc": "impl:adaptive_gradient_clip_"})
    session.load()
    local = Targets(agc=load_target("impl:adaptive_gradient_clip_", "agc"))
    out = {}
    try:
        for name, prop in wanted.items():
            worker = session.worker(prop.roles)
            cases = _examples(prop, examples)
            remote, here = [], []
            for example in cases:  # interleaved
                start = time.perf_counter()
                reply = worker.act(prop.home, prop.id, example, 60.0)
                prop.decide(example, reply["ok"])
                remote.append(time.perf_counter() - start)
                start = time.perf_counter()
                prop.check(local, example)
                here.append(time.perf_counter() - start)
            out[name] = (statistics.median(remote), statistics.median(here))
    finally:
        session.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--json", metavar="PATH", help="also write the results here (atomically)")
    args = parser.parse_args()
    payload = new_payload(
        "bench_conformance",
        "The conformance suite's wall time and the worker protocol's cost",
        conditions(reps=args.repeats, threads=1, device="cpu", examples=args.examples),
    )
    print(f"load average before: {_load()}  (cores: {os.cpu_count()})")
    times = suite_times(args.repeats)
    print(f"\nwhole suite, bundled implementation, wall seconds ({args.repeats} runs each)")
    print(f"{'profile':10} {'median':>8} {'min':>8} {'max':>8} {'budget':>8} {'median/budget':>14}")
    for profile, values in times.items():
        payload["groups"].append(
            group(
                f"python -m conformance check --profile {profile}, bundled implementation, "
                "wall time of a fresh process",
                {"budget": BUDGET[profile], "measured": statistics.median(values)},
                baseline="budget",
                unit="s",
                notes=[f"{len(values)} runs: min {min(values):.2f} s, max {max(values):.2f} s"],
            )
        )
    for profile, values in times.items():
        med = statistics.median(values)
        print(
            f"{profile:10} {med:8.2f} {min(values):8.2f} {max(values):8.2f} "
            f"{BUDGET[profile]:8.1f} {med / BUDGET[profile]:14.2f}"
        )
    trips = round_trips(args.examples)
    print(f"\nper-example cost, medians of {args.examples} examples (ms)")
    print(f"{'property':14} {'worker':>9} {'in-process':>11} {'ratio':>7} {'overhead':>9}")
    for name, (remote, here) in trips.items():
        print(
            f"{name:14} {remote * 1e3:9.3f} {here * 1e3:11.3f} {remote / here:7.2f} "
            f"{(remote - here) * 1e3:9.3f}"
        )
        payload["groups"].append(
            group(
                f"one example of {name}: worker round trip against in-process",
                {"in-process": here * 1e3, "through a worker": remote * 1e3},
                baseline="in-process",
                unit="ms",
                notes=[f"protocol overhead {(remote - here) * 1e3:.3f} ms per example"],
            )
        )
    print(f"\nload average after: {_load()}")
    finish(payload)
    if args.json:
        write_json(args.json, payload)


if __name__ == "__main__":
    main()
