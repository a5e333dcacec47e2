"""The compare wrapper: run study arms over seeds, then tabulate and picture them (plan phase 3).

>>> from impl.study.shootout import DEFAULT_ARMS, arm_config, parse_arm
>>> from impl.study.presets import DEFAULT
>>> [a.name for a in DEFAULT_ARMS]
['control', 'arch_fix', 'opt_fix']
>>> cfg = arm_config(DEFAULT, parse_arm("agc_big:hybrid:agc:0.1"), seed=7)
>>> cfg.training.gradient_clip_algorithm, cfg.training.gradient_clip_val, cfg.training.seed
('agc', 0.1, 7)

``python -m impl.compare --seeds 3 --output-dir runs/stage_a`` resolves the shared
config once (the runner's flags, :mod:`impl.study.options`, minus the per-arm ones),
builds one :class:`spec.StudyConfig` per arm and seed (:func:`arm_config`: the arm's
architecture and clipping — or ``--torch-grad-clip`` / ``--torch-grad-clip-algorithm``
for an arm given without its own (RUN-002) — and the seed), checks every run before
the first starts (RUN-004), and calls :func:`impl.study.run.run_study` for each,
in this process. Arms of one seed share the data and the well-posedness check.
Default arms: the plan's Stage A — ``control`` (hybrid, norm 1.0), ``arch_fix``
(stable_hybrid, no clipping), ``opt_fix`` (hybrid, agc 0.01);
``--arm name:architecture[:algorithm:value]`` (repeatable) replaces them.

Writes ``comparison.json`` / ``comparison.md`` (:mod:`impl.study.tables`: median
and IQR per arm, CPU seconds, verdicts), ``curves.png`` and ``reconstructions.png``
(:mod:`impl.study.plots`, with the optional ``study`` extra) and each run under
``<arm>/seed<k>/``. Exit status as the runner's (2 bad input, 130/143 interrupted,
3 outputs unwritten), 1 when any run failed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from pydantic import ValidationError

import spec
from impl.study import plots, tables
from impl.study.data import make_study_data
from impl.study.interrupts import Interrupted, signals_as_interrupts
from impl.study.options import (
    PER_ARM,
    RunOptions,
    add_config_flags,
    add_run_flags,
    resolve_config,
    resolve_options,
)
from impl.study.run import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNWRITTEN,
    EXIT_USAGE,
    RunOutcome,
    exit_status,
    run_study,
)
from impl.study.rundir import RunDirectory
from impl.study.setup import make_loss, preflight
from impl.study.wellposed import check_wellposedness

__all__ = [
    "COMPARE_FILES",
    "DEFAULT_ARMS",
    "Arm",
    "ComparisonResult",
    "arm_config",
    "build_parser",
    "main",
    "parse_arm",
    "plan_runs",
    "run_comparison",
]


class Arm(NamedTuple):
    """One arm: a generator and its clipping (None: the forwarded torch clip flags)."""

    name: str
    architecture: str
    algorithm: str | None = None
    value: float | None = None


DEFAULT_ARMS: tuple[Arm, ...] = (
    Arm("control", "hybrid", "norm", 1.0),
    Arm("arch_fix", "stable_hybrid", "norm", 0.0),
    Arm("opt_fix", "hybrid", "agc", 0.01),
)
"""The plan's Stage A (phase 3): control, architecture fix, optimiser fix."""

COMPARE_FILES = ("comparison.json", "comparison.md", "curves.png", "reconstructions.png")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ALGORITHMS = spec.CLIP_ALGORITHMS


def parse_arm(text: str) -> Arm:
    """``name:architecture`` or ``name:architecture:algorithm:value`` -> :class:`Arm`.

    Raises ValueError naming the bad part and what is allowed (the architecture itself
    is checked when the arm's config is built).
    """
    parts = text.split(":")
    if len(parts) not in (2, 4) or not all(parts):
        raise ValueError(
            f"arm {text!r}: expected name:architecture or name:architecture:algorithm:value, "
            "e.g. opt_fix:hybrid:agc:0.01"
        )
    name, architecture = parts[0], parts[1]
    if not _NAME.match(name):
        raise ValueError(f"arm {text!r}: name {name!r} may hold only letters, digits, _ . -")
    if len(parts) == 2:
        return Arm(name, architecture)
    algorithm, raw = parts[2], parts[3]
    if algorithm not in _ALGORITHMS:
        raise ValueError(
            f"arm {text!r}: algorithm {algorithm!r} is not one of {', '.join(_ALGORITHMS)}"
        )
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"arm {text!r}: clip value {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"arm {text!r}: clip value {raw!r} must be finite (<= 0 disables)")
    return Arm(name, architecture, algorithm, value)


def arm_config(
    base: spec.StudyConfig,
    arm: Arm,
    seed: int,
    torch_grad_clip: float = 1.0,
    torch_grad_clip_algorithm: str = "norm",
) -> spec.StudyConfig:
    """``base`` with the arm's architecture and clipping and ``seed`` (RUN-002, RUN-003).

    Raises pydantic's ValidationError when the arm makes the config invalid.
    """
    value = arm.value if arm.value is not None else torch_grad_clip
    data = base.model_dump()
    data["model"]["architecture"] = arm.architecture
    data["training"].update(
        gradient_clip_algorithm=arm.algorithm or torch_grad_clip_algorithm,
        gradient_clip_val=max(float(value), 0.0),
        seed=seed,
    )
    return spec.StudyConfig.model_validate(data)


@dataclass(frozen=True)
class PlannedRun:
    arm: Arm
    seed: int
    config: spec.StudyConfig
    output_dir: Path


def plan_runs(
    base: spec.StudyConfig,
    arms: Sequence[Arm],
    *,
    seeds: int,
    seed0: int,
    output_dir: Path,
    torch_grad_clip: float = 1.0,
    torch_grad_clip_algorithm: str = "norm",
) -> list[PlannedRun]:
    """Every (arm, seed) run's config and directory; ValueError naming a bad arm."""
    runs = []
    for arm in arms:
        for seed in range(seed0, seed0 + seeds):
            try:
                config = arm_config(base, arm, seed, torch_grad_clip, torch_grad_clip_algorithm)
            except ValidationError as exc:
                msg = "; ".join(
                    f"field {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                raise ValueError(f"arm {arm.name!r} (seed {seed}): {msg}") from None
            runs.append(PlannedRun(arm, seed, config, output_dir / arm.name / f"seed{seed}"))
    return runs


@dataclass
class ComparisonResult:
    """What a comparison measured, by arm (also written to ``comparison.json``)."""

    seeds: int
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    wellposedness: dict[int, dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    exit_status: int = EXIT_OK
    outcomes: dict[str, list[RunOutcome]] = field(default_factory=dict)

    def task_line(self) -> str:
        checks = list(self.wellposedness.values())
        if not checks:
            return "not checked (no run started)"
        if all(c["wellposed"] for c in checks):
            c = checks[0]
            return (
                f"well-posed (twin margin {c['twin']['twin_margin']:.3g}; direct phase retrieval "
                f"without a network reaches amplitude SSIM {c['direct_retrieval']['amp_ssim']:.3g})"
            )
        reasons = "; ".join(sorted({r for c in checks for r in c["reasons"]}))
        if not self.rankable():
            return "ILL-POSED, arms are not ranked: " + reasons
        return (
            f"not confirmed: {reasons}; the twin image does not fit the data, so the arms are "
            "ranked on their own scores"
        )

    def rankable(self) -> bool:
        """True when every seed's data reject the twin image (no proven ambiguity)."""
        checks = self.wellposedness.values()
        return bool(checks) and all(c["twin_rejected"] for c in checks)

    def to_json(self) -> dict[str, Any]:
        wellposed = all(c["wellposed"] for c in self.wellposedness.values())
        arms = {name: dict(arm) for name, arm in self.arms.items()}
        for arm in arms.values():
            arm.pop("histories", None)
        floor = [c["twin"]["truth_loss"] for c in self.wellposedness.values()]
        return {
            "seeds": self.seeds,
            "interrupted": self.interrupted,
            "task": self.task_line(),
            "wellposed": wellposed and bool(self.wellposedness),
            "noise_floor": f"{floor[0]:.3g}" if floor else "n/a",
            "wellposedness": {str(k): v for k, v in self.wellposedness.items()},
            "verdicts": (
                tables.verdicts(self.arms)
                if self.rankable()
                else ["no verdicts: " + self.task_line()]
            ),
            "arms": arms,
        }


def _data_key(config: spec.StudyConfig) -> str:
    m, t = config.model, config.training
    return json.dumps(
        [config.data.model_dump(), m.N, m.gridsize, t.nphotons, t.seed, t.loss_function]
    )


def run_comparison(
    runs: Sequence[PlannedRun],
    output_dir: Path,
    options: RunOptions | None = None,
    *,
    seeds: int,
    plot: bool = True,
    stream: TextIO | None = None,
) -> ComparisonResult:
    """Run every planned run (in order), then write the tables and pictures."""
    stream = sys.stderr if stream is None else stream
    options = RunOptions() if options is None else options
    result = ComparisonResult(seeds=seeds)
    shared: dict[str, tuple[Any, dict[str, Any]]] = {}
    with signals_as_interrupts():
        try:
            for run in runs:
                stream.write(f"== arm {run.arm.name}, seed {run.seed} -> {run.output_dir}\n")
                key = _data_key(run.config)
                if key not in shared:
                    data = make_study_data(run.config)
                    shared[key] = (data, check_wellposedness(data, make_loss(run.config, data)))
                data, check = shared[key]
                result.wellposedness[run.seed] = check
                outcome = run_study(
                    run.config, run.output_dir, options, stream=stream, data=data,
                    wellposedness=check,
                )  # fmt: skip
                _record(result, run, outcome)
                if outcome.metrics["interrupted"]:
                    result.interrupted = True
                    result.exit_status = exit_status(outcome)
                    break
        except (
            KeyboardInterrupt
        ) as exc:  # between runs (drawing data): stop, keep what was measured
            result.interrupted = True
            result.exit_status = exc.exit_status if isinstance(exc, Interrupted) else 130
    for arm in result.arms.values():
        arm["summary"] = tables.summarise(arm["runs"])
    _write(result, output_dir, plot)
    return result


def _record(result: ComparisonResult, run: PlannedRun, outcome: RunOutcome) -> None:
    arm = result.arms.setdefault(
        run.arm.name,
        {
            "architecture": run.config.model.architecture,
            "algorithm": run.config.training.gradient_clip_algorithm,
            "value": run.config.training.gradient_clip_val or 0.0,
            "runs": [],
            "histories": [],
        },
    )
    arm["runs"].append(outcome.metrics)
    arm["histories"].append(outcome.history)
    result.outcomes.setdefault(run.arm.name, []).append(outcome)
    status = exit_status(outcome)
    if status in (EXIT_FAILED, EXIT_UNWRITTEN) and result.exit_status in (EXIT_OK, EXIT_FAILED):
        result.exit_status = status


def _write(result: ComparisonResult, output_dir: Path, plot: bool) -> None:
    out = RunDirectory(output_dir, COMPARE_FILES)
    for arm in result.arms.values():
        arm.setdefault("summary", tables.summarise(arm["runs"]))
    record = result.to_json()
    out.write_json("comparison.json", record)
    out.write_text("comparison.md", tables.render_markdown(record))
    if plot and result.arms:
        plots.plot_curves(result, out, "curves.png")
        plots.plot_reconstructions(result, out, "reconstructions.png")
    if out.errors:
        result.exit_status = EXIT_UNWRITTEN
        for error in out.errors:
            print(f"error: could not write {error}", file=sys.stderr)


def _arm_type(text: str) -> Arm:
    try:
        return parse_arm(text)
    except ValueError as exc:  # argparse shows the message of this type only
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m impl.compare",
        description="Run study arms over seeds and compare them (the runner's config flags, "
        "but the per-arm ones, are shared by every arm).",
        allow_abbrev=False,  # --n-train must not silently mean --n-train-objects
    )
    p.add_argument("--arm", action="append", type=_arm_type, metavar="NAME:ARCH[:ALGO:VALUE]",
                   help="an arm (repeatable); default: the plan's Stage A arms")  # fmt: skip
    p.add_argument("--seeds", type=int, default=1, help="runs per arm")
    p.add_argument("--seed0", type=int, default=42, help="seed of the first run")
    p.add_argument("--torch-grad-clip", type=float, default=1.0,
                   help="clip value for arms given as name:architecture (<= 0: none)")  # fmt: skip
    p.add_argument("--torch-grad-clip-algorithm", choices=_ALGORITHMS, default="norm",
                   help="clip algorithm for arms given as name:architecture")  # fmt: skip
    p.add_argument("--output-dir", type=Path, default=Path("runs/stage_a"))
    p.add_argument("--no-plot", action="store_true", help="write no PNG")
    add_config_flags(p, exclude=PER_ARM)
    add_run_flags(p)
    return p


def _parse(argv: Sequence[str]) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    per_arm = {"--" + d.replace("_", "-") for d in PER_ARM}
    clash = [a.split("=", 1)[0] for a in rest if a.split("=", 1)[0] in per_arm]
    if clash:
        parser.error(
            f"{clash[0]} is set per arm here: use --arm NAME:ARCH:ALGO:VALUE, --torch-grad-clip, "
            "--torch-grad-clip-algorithm or --seed0"
        )
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds}: must be an int >= 1")
    return args, parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impl.compare``: 0 done, 1 a run failed, 2 bad input, 3 unwritten, 130/143."""
    args, parser = _parse(list(sys.argv[1:] if argv is None else argv))
    base = resolve_config(args, parser)
    options = resolve_options(args, parser)
    arms = tuple(args.arm) if args.arm else DEFAULT_ARMS
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        parser.error(f"--arm names must be unique; got {names}")
    try:
        runs = plan_runs(
            base, arms, seeds=args.seeds, seed0=args.seed0, output_dir=args.output_dir,
            torch_grad_clip=args.torch_grad_clip,
            torch_grad_clip_algorithm=args.torch_grad_clip_algorithm,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))
    problems = _preflight(runs, args.output_dir, options)
    if problems:
        for problem in problems:
            print(f"python -m impl.compare: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    options.apply()
    result = run_comparison(runs, args.output_dir, options, seeds=args.seeds, plot=not args.no_plot)
    print(tables.render_markdown(result.to_json()))
    return result.exit_status


def _preflight(runs: Sequence[PlannedRun], output_dir: Path, options: RunOptions) -> list[str]:
    problems: list[str] = []
    top = RunDirectory(output_dir, COMPARE_FILES)
    problem = top.problem(options.overwrite)
    if problem:
        problems.append(f"--output-dir: {problem.replace('a run', 'a comparison')}")
    seen: set[str] = set()
    for run in runs:
        _, found = preflight(run.config, RunDirectory(run.output_dir), options)
        for p in found:
            if p not in seen:
                seen.add(p)
                problems.append(p)
    return problems
