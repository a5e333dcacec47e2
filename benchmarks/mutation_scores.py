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
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchjson import conditions, write_json

from conformance.mutate.equivalence import parse_equivalence

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "mutation" / "scores.json"

_FAITHFUL = "faithful"
"""The plan-level targets of ``tests/conformance/faithful`` (a package there: the runs put
``tests/conformance`` on ``PYTHONPATH``), judged at the plan tier they are written for."""
_S = ("--strict",)  # every clause counts: the suite's whole power


def reviewed(stem: str | None, kind: str) -> str | None:
    """``benchmarks/mutation/<stem>.<kind>`` if it exists: ``equivalent`` (mutants reviewed as
    equivalent, passed to ``--equivalent``) or ``triage`` (survivors reviewed and left, each
    with why: no clause asks for what it breaks, or nothing here can observe it)."""
    path = f"benchmarks/mutation/{stem}.{kind}"
    return path if stem and (ROOT / path).exists() else None


_TARGETS: dict[str, tuple[str, str]] = {
    "agc": ("impl:adaptive_gradient_clip_", "agc:adaptive_gradient_clip_"),
    "clip": ("impl:clip_gradients_", "clipping:clip_gradients_"),
    "train_step": ("impl:training_step", "clipping:training_step"),
    "spectral_conv": ("impl:SpectralConv2d", "layers:SpectralConv2d"),
    "plain_block": ("impl:PtychoBlock", "layers:PtychoBlock"),
    "block": ("impl:StablePtychoBlock", "layers:StablePtychoBlock"),
    "generator": ("impl:HybridUNOGenerator", "layers:HybridUNOGenerator"),
    "stable_generator": ("impl:StableHybridGenerator", "layers:StableHybridGenerator"),
    "registry": ("impl:resolve_generator", "registry:resolve_generator"),
    "register": ("impl:register", "registry:register"),
    "model_config": ("spec:ModelConfig", "registry:ModelConfig"),
    "build_generator": ("impl:build_generator", "registry:build_generator"),
    "tf_config": ("spec:TFTrainingConfig", "configs:TFTrainingConfig"),
    "torch_config": ("spec:TorchTrainingConfig", "configs:TorchTrainingConfig"),
    "bridge": ("spec", "configs"),
}
"""role -> (bundled target, faithful target in the ``faithful`` package)."""

MUTATED: tuple[str, ...] = (
    "agc", "clip", "train_step", "spectral_conv", "plain_block", "block", "generator",
    "stable_generator", "registry", "tf_config", "torch_config", "bridge",
)  # fmt: skip
"""The roles whose targets are mutated (the bridge, a module, through to_tf and to_torch)."""

PARTNERS: dict[str, tuple[str, ...]] = {
    "tf_config": ("torch_config",),
    "torch_config": ("tf_config",),
    "registry": ("model_config",),
    "bridge": ("tf_config", "torch_config"),
}
"""The unchanged partner roles given beside a mutated one, so that the clauses joining roles
judge its mutants too (CFG-007 the two configs' defaults, REG-005 the config's names, CFG-005
/ 006 / 009 the bridge). Only partners that reach the mutated code through the role's own
calls: a partner bound to the original module by identity (the bundled bridge's
``isinstance`` on the config classes, ``register`` writing into the original registry's
table, a stable generator subclassing the original plain one) would fail every mutant for
that reason alone, and its kills would measure nothing."""

_SHARDED = ("--distributed", "2")
"""The roles with DTensor paths (AGC-035, AGC-036) are also judged on 2 gloo ranks."""


def _target(role: str, bundled: bool) -> str:
    pair = _TARGETS[role]
    return pair[0] if bundled else f"{_FAITHFUL}.{pair[1]}"


def _partners(role: str, bundled: bool) -> tuple[str, ...]:
    flags = [(f"--{r.replace('_', '-')}", _target(r, bundled)) for r in PARTNERS.get(role, ())]
    return (*(x for pair in flags for x in pair), "--role", role) if flags else ()


RUNS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {}
"""name -> (role, target, stem of its reviewed files (:func:`reviewed`), extra options).

Per role: ``faithful-<role>`` (the plan-level target, plan tier) and ``bundled-<role>``
(``impl`` / ``spec``, every clause: ``--strict``), each with its partner roles."""
for _role in MUTATED:
    _stem, _sharded = _role.replace("_", "-"), _SHARDED if _role in ("agc", "clip") else ()
    RUNS[f"faithful-{_stem}"] = (
        _role, _target(_role, False), f"faithful_{_role}", _partners(_role, False)
    )  # fmt: skip
    RUNS[f"bundled-{_stem}"] = (
        _role, _target(_role, True), f"bundled_{_role}", (*_S, *_sharded, *_partners(_role, True))
    )  # fmt: skip


def _changed(diff: str, sign: str) -> str:
    """The first line the mutant's unified diff removes (``-``) or adds (``+``), stripped."""
    for line in diff.splitlines():
        if line.startswith(sign) and not line.startswith(sign * 3):
            return line[1:].strip()
    return ""


def _survivor(m: dict[str, Any], why: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "description": m["description"],
        "before": _changed(m["diff"], "-"),
        "after": _changed(m["diff"], "+"),
        "reached": m["reached"],
        "why": why_alive(why, m["id"]),
    }


_RANGE = re.compile(r"^(?P<start>\d+)-(?P<end>\d+)$")


def parse_triage(text: str, source: str = "<triage>") -> list[tuple[str, str]]:
    """``[(key, reason)]`` of a triage file: one survivor per line as a mutant id (as in an
    equivalence file) or a range ``START-END`` of lines of the mutated file, then why it is
    left alive. ``#`` starts a comment. ValueError names a bad line.

    >>> parse_triage("12-30  the plugin machinery: no clause\\nbranch:40:7:1  no clause")
    [('12-30', 'the plugin machinery: no clause'), ('branch:40:7:1', 'no clause')]
    """
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{source}:{number}: {key!r} has no reason")
        if _RANGE.match(key) is None:
            parse_equivalence(line, f"{source}:{number}")  # a mutant id, or its error
        entries.append((key, reason.strip()))
    return entries


def why_alive(entries: list[tuple[str, str]], mutant_id: str) -> str:
    """The reason of the first entry naming ``mutant_id`` or a line range holding its line."""
    line = int(mutant_id.split(":")[1])
    for key, reason in entries:
        found = _RANGE.match(key)
        if key == mutant_id or (found and int(found["start"]) <= line <= int(found["end"])):
            return reason
    return ""


def _triage(stem: str) -> list[tuple[str, str]]:
    """The reviewed survivors of ``<stem>.triage`` (:func:`parse_triage`)."""
    path = reviewed(stem, "triage")
    if path is None:
        return []
    return parse_triage((ROOT / path).read_text(encoding="utf-8"), path)


class RunFailed(RuntimeError):
    """A ``conformance mutate`` command that did not finish with a report."""


def run_one(name: str, profile: str, jobs: int) -> dict[str, Any]:
    """One ``conformance mutate`` command; its counts, score and survivors."""
    role, target, stem, extra = RUNS[name]
    equivalent = reviewed(stem, "equivalent")
    why = _triage(stem)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "m.json"
        cmd = [sys.executable, "-m", "conformance", "mutate", f"--{role.replace('_', '-')}",
               target, "--profile", profile, "--jobs", str(jobs), "--format", "json",
               "-o", str(out), *extra]  # fmt: skip
        if equivalent:
            cmd += ["--equivalent", equivalent]
        load_before = [round(x, 2) for x in os.getloadavg()]
        start = time.perf_counter()
        paths = [str(ROOT), str(ROOT / "tests" / "conformance"), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            raise RunFailed(f"{name}: mutate failed ({done.returncode}):\n{done.stderr[-3000:]}")
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
        "triage_file": reviewed(stem, "triage"),
        "survivors": [_survivor(m, why) for m in report["mutants"] if m["outcome"] == "survived"],
    }


def _commit() -> str:
    """The commit measured (``+changes`` when the working tree differs from it)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip() or "unknown"  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    return f"{head}+changes" if dirty else head


def retriage(path: Path) -> int:
    """Give every survivor in the results its reason from the triage files as they are now."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    for name, run in payload["runs"].items():
        stem = RUNS[name][2] if name in RUNS else None
        why = _triage(stem) if stem else []
        run["triage_file"] = reviewed(stem, "triage")
        for m in run["survivors"]:
            m["why"] = why_alive(why, m["id"])
    write_json(str(path), payload)
    return 0


def print_untriaged(path: Path, name: str) -> int:
    """Print the survivors of run ``name`` that no triage entry names (exit 1 if the results
    hold no such run)."""
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"] if path.exists() else {}
    if name not in runs:
        print(f"mutation_scores: {path} holds no run {name!r}", file=sys.stderr)
        return 1
    why = _triage(RUNS[name][2])
    for m in runs[name]["survivors"]:
        if not why_alive(why, m["id"]):
            reached = "" if m["reached"] else " (unreached)"
            print(f"{m['id']:24} # {m['before'][:60]} -> {m['after'][:60]}{reached}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="these runs only")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="write the results here")
    parser.add_argument(
        "--untriaged",
        metavar="NAME",
        choices=sorted(RUNS),
        help="run nothing: print the survivors of NAME in the results that its triage file "
        "does not list, one 'id  # before -> after' line each, to review",
    )
    parser.add_argument(
        "--retriage",
        action="store_true",
        help="run nothing: read the triage files again into the results' survivors",
    )
    args = parser.parse_args(argv)
    path = Path(args.json)
    if args.untriaged:
        return print_untriaged(path, args.untriaged)
    if args.retriage:
        return retriage(path)
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
    failed = []
    for name in args.only or list(RUNS):
        print(f"mutation_scores: {name} ...", file=sys.stderr, flush=True)
        try:
            result = {**run_one(name, args.profile, args.jobs), "commit": _commit()}
        except RunFailed as error:
            print(f"  {error}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        if path.exists():  # another sweep may have written runs since this one started
            payload["runs"] = json.loads(path.read_text(encoding="utf-8")).get("runs", {})
        payload["runs"][name] = result
        payload["conditions"]["load_after"] = result["load_after"]
        write_json(str(path), payload)
        score = "n/a" if result["score"] is None else f"{100 * result['score']:.1f} %"
        print(f"  {name}: {score} in {result['wall_seconds']} s", file=sys.stderr, flush=True)
    if failed:
        print(f"mutation_scores: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
