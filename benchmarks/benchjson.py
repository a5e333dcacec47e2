"""The benchmarks' shared ``--json`` format: a run's conditions, its groups of medians.

Every benchmark's ``--json PATH`` writes one object (atomically: a reader never sees half
a file) that ``docs/generate.py`` renders into ``docs/reference/benchmarks.md``::

    {"benchmark": "bench_blocks", "title": "...", "command": "...",
     "conditions": {"torch": ..., "threads": ..., "device": ..., "cpu_count": ...,
                    "load_before": [1, 5, 15 min], "load_after": [...], "reps": ...,
                    "date": ISO 8601 UTC, ...},
     "groups": [{"name": ..., "unit": "ms", "baseline": arm, "medians": {arm: value},
                 "notes": [...]}],
     ...  (each benchmark's own details)}

A ratio on the page is always a median divided by the baseline arm's median of the same
group, both timed in the same run.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from typing import Any

import torch


def conditions(*, reps: int, threads: int, device: str, **extra: Any) -> dict[str, Any]:
    """What the run was measured under; ``load_after`` is filled in by :func:`finish`."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "device": device,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "reps": reps,
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "load_after": None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def new_payload(benchmark: str, title: str, cond: dict[str, Any]) -> dict[str, Any]:
    """The top-level object, with the command line that produced it."""
    argv = " ".join(sys.argv[1:])
    return {
        "benchmark": benchmark,
        "title": title,
        "command": f"python benchmarks/{benchmark}.py {argv}".strip(),
        "conditions": cond,
        "groups": [],
    }


def group(
    name: str,
    medians: dict[str, float],
    *,
    baseline: str,
    unit: str,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """One table: medians per arm, in ``unit``, with the arm the ratios are taken against."""
    if baseline not in medians:
        raise ValueError(f"baseline {baseline!r} is not one of the arms {sorted(medians)}")
    return {
        "name": name,
        "unit": unit,
        "baseline": baseline,
        "medians": dict(medians),
        "notes": list(notes or []),
    }


def finish(payload: dict[str, Any]) -> None:
    """Record the load average at the end of the run."""
    payload["conditions"]["load_after"] = [round(x, 2) for x in os.getloadavg()]


def write_json(path: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
