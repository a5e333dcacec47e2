"""The compare wrapper: run study arms through the runner over seeds and tabulate them.

>>> from impl.compare import DEFAULT_ARMS, parse_arm
>>> [a.name for a in DEFAULT_ARMS]
['control', 'arch_fix', 'opt_fix']
>>> parse_arm("agc_big:hybrid:agc:0.1")
Arm(name='agc_big', architecture='hybrid', algorithm='agc', value=0.1)

``python -m impl.compare --seeds 3 --output-dir runs/stage_a`` runs every arm
for seeds ``--seed0 .. --seed0 + seeds - 1`` in this process through
:func:`impl.runner.run_from_argv` (RUN-002), forwarding the shared runner
flags (any flag of ``python -m impl.runner`` that is not set per arm, e.g.
``--epochs 50 --N 64 --fno-blocks 4``) and ``--torch-grad-clip`` /
``--torch-grad-clip-algorithm`` (plan task 1.4) to arms given without their
own clipping. The default arms are the plan's Stage A: ``control`` (hybrid,
norm 1.0), ``arch_fix`` (stable_hybrid, no clipping), ``opt_fix`` (hybrid,
agc 0.01). ``--arm name:architecture[:algorithm:value]`` (repeatable)
replaces them. Every arm's command line is validated before the first run.

Writes ``comparison.json`` and ``comparison.md`` (per arm: median and IQR of
best/final validation loss, amplitude/phase SSIM and amplitude MAE over the
runs that did not fail, failure rate; RUN-009), ``curves.png`` (validation
loss and gradient norm before clipping per epoch, every arm and seed; needs
the optional ``study`` extra, matplotlib; skipped with a message without it),
and each run's own outputs under ``<arm>/seed<k>/``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import spec
from impl import runner

__all__ = [
    "DEFAULT_ARMS",
    "SUMMARY_KEYS",
    "Arm",
    "ComparisonResult",
    "arm_argv",
    "build_parser",
    "main",
    "parse_arm",
    "plot_curves",
    "run_comparison",
    "summarise",
]


class Arm(NamedTuple):
    """One arm: a generator and its clipping (None: use the forwarded torch flags)."""

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

SUMMARY_KEYS = ("best_val_loss", "final_val_loss", "amp_ssim", "phase_ssim", "amp_mae")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_PER_ARM = ("--architecture", "--grad-clip", "--gradient-clip-algorithm", "--seed", "--output-dir")
_ALGORITHMS = typing.get_args(spec.ClipAlgorithm)


def parse_arm(text: str) -> Arm:
    """``name:architecture`` or ``name:architecture:algorithm:value`` -> :class:`Arm`.

    Raises ValueError naming the bad part and what is allowed (the architecture
    itself is checked by the runner's spec validation).
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


def _arm_type(text: str) -> Arm:
    try:
        return parse_arm(text)
    except ValueError as exc:  # argparse shows the message of this type only
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m impl.compare",
        description="Run study arms through impl.runner over seeds and compare them. "
        "Any other flag is a runner flag shared by every arm (see python -m impl.runner -h).",
    )
    p.add_argument(
        "--arm",
        action="append",
        type=_arm_type,
        metavar="NAME:ARCH[:ALGO:VALUE]",
        help="an arm (repeatable); default: the plan's Stage A arms",
    )
    p.add_argument("--seeds", type=int, default=1, help="runs per arm")
    p.add_argument("--seed0", type=int, default=42, help="seed of the first run")
    p.add_argument(
        "--torch-grad-clip",
        type=float,
        default=1.0,
        help="clip value for arms given as name:architecture (<= 0 disables)",
    )
    p.add_argument(
        "--torch-grad-clip-algorithm",
        choices=_ALGORITHMS,
        default="norm",
        help="clip algorithm for arms given as name:architecture",
    )
    p.add_argument("--output-dir", type=Path, default=Path("runs/stage_a"))
    p.add_argument("--no-plot", action="store_true", help="do not write curves.png")
    return p


def arm_argv(
    arm: Arm,
    seed: int,
    output_dir: Path,
    shared: Sequence[str],
    torch_grad_clip: float,
    torch_grad_clip_algorithm: str,
) -> list[str]:
    """The runner command line of one arm and seed (RUN-002: the torch clip flags forwarded)."""
    algorithm = arm.algorithm if arm.algorithm is not None else torch_grad_clip_algorithm
    value = arm.value if arm.value is not None else torch_grad_clip
    return [
        *shared,
        "--architecture",
        arm.architecture,
        "--gradient-clip-algorithm",
        algorithm,
        "--grad-clip",
        repr(float(value)),
        "--seed",
        str(seed),
        "--output-dir",
        str(output_dir / arm.name / f"seed{seed}"),
    ]


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"median": None, "q25": None, "q75": None, "iqr": None, "n": 0}
    q25, median, q75 = (float(v) for v in np.percentile(values, [25, 50, 75]))
    return {"median": median, "q25": q25, "q75": q75, "iqr": q75 - q25, "n": len(values)}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric median / quartiles / IQR over the runs that did not fail; failure rate.

    >>> s = summarise([{"best_val_loss": 1.0, "failed": False},
    ...                {"best_val_loss": 3.0, "failed": False},
    ...                {"best_val_loss": None, "failed": True}])
    >>> s["best_val_loss"]["median"], s["best_val_loss"]["iqr"], s["failure_rate"]
    (2.0, 1.0, 0.3333333333333333)
    """
    ok = [r for r in runs if not r.get("failed")]
    out: dict[str, Any] = {}
    for key in SUMMARY_KEYS:
        vals = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
        out[key] = _stats([float(v) for v in vals if math.isfinite(v)])
    out["runs"] = len(runs)
    out["failures"] = len(runs) - len(ok)
    out["failure_rate"] = (len(runs) - len(ok)) / len(runs) if runs else None
    out["identity_pinned"] = sum(bool(r.get("identity_pinned")) for r in runs)
    out["interrupted"] = sum(bool(r.get("interrupted")) for r in runs)
    out["seconds"] = sum(float(r.get("seconds") or 0.0) for r in runs)
    return out


def _fmt(stat: dict[str, Any]) -> str:
    if stat["median"] is None:
        return "–"
    return f"{stat['median']:.4g} ({stat['iqr']:.2g})"


def render_markdown(result: ComparisonResult) -> str:
    """The comparison table: median (IQR) per metric, failure rate, pinned and time."""
    head = (
        "| arm | architecture | clipping | best val loss | final val loss | amp SSIM | "
        "phase SSIM | amp MAE | failure rate | pinned | seconds |"
    )
    lines = [
        f"Stage A comparison: {result.seeds} seed(s) per arm; median (IQR) over runs that "
        "did not fail.",
        "",
        head,
        "|" + "---|" * 11,
    ]
    for name, arm in result.arms.items():
        s = arm["summary"]
        clip = f"{arm['algorithm']} {arm['value']:g}" if arm["value"] > 0 else "none"
        cells = [name, arm["architecture"], clip, *(_fmt(s[k]) for k in SUMMARY_KEYS)]
        cells += [f"{s['failures']}/{s['runs']}", str(s["identity_pinned"]), f"{s['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if result.shared:
        lines += ["", f"Shared runner flags: `{' '.join(result.shared)}`"]
    return "\n".join(lines) + "\n"


def plot_curves(result: ComparisonResult, path: Path) -> Path | None:
    """Validation loss and gradient-norm curves of every arm and seed; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed: skipping curves.png "
            "(install the optional extra: pip install 'fno-stability[study]')",
            file=sys.stderr,
        )
        return None
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, arm) in enumerate(result.arms.items()):
        colour = colours[i % len(colours)]
        for j, history in enumerate(arm["histories"]):
            epochs = [e["epoch"] for e in history]
            label = name if j == 0 else None
            for ax, key in ((ax_loss, "val_loss"), (ax_grad, "grad_norm_before")):
                ys = [e[key] if e[key] is not None else math.nan for e in history]
                ax.plot(epochs, ys, color=colour, alpha=0.8, label=label, marker=".")
    ax_loss.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="validation loss")
    ax_grad.set(
        xlabel="epoch",
        ylabel="mean global grad norm (before clipping)",
        yscale="log",
        title="gradient norm",
    )
    ax_loss.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@dataclass
class ComparisonResult:
    """What a comparison measured, by arm (also written to ``comparison.json``)."""

    seeds: int
    shared: list[str]
    arms: dict[str, dict[str, Any]]
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "shared_runner_flags": self.shared,
            "interrupted": self.interrupted,
            "arms": {
                name: {k: v for k, v in arm.items() if k != "histories"}
                for name, arm in self.arms.items()
            },
        }


def run_comparison(
    arms: Sequence[Arm],
    *,
    seeds: int,
    seed0: int,
    shared: Sequence[str],
    output_dir: Path,
    torch_grad_clip: float = 1.0,
    torch_grad_clip_algorithm: str = "norm",
    plot: bool = True,
) -> ComparisonResult:
    """Run every arm for every seed (all command lines validated first) and write the table."""
    plans = []
    for arm in arms:
        argvs = [
            arm_argv(arm, seed0 + i, output_dir, shared, torch_grad_clip, torch_grad_clip_algorithm)
            for i in range(seeds)
        ]
        runner.parse_args(argvs[0])  # RUN-004: a bad arm or shared flag fails before any run
        plans.append((arm, argvs))
    result = ComparisonResult(seeds=seeds, shared=list(shared), arms={})
    for arm, argvs in plans:
        config, _, _ = runner.parse_args(argvs[0])
        entry: dict[str, Any] = {
            "architecture": arm.architecture,
            "algorithm": config.training.gradient_clip_algorithm,
            "value": config.training.gradient_clip_val or 0.0,
            "runs": [],
            "histories": [],
        }
        result.arms[arm.name] = entry
        for argv in argvs:
            print(f"== arm {arm.name}: {' '.join(argv)}", file=sys.stderr)
            outcome = runner.run_from_argv(argv)
            entry["runs"].append(outcome.metrics)
            entry["histories"].append(outcome.history)
            if outcome.metrics["interrupted"]:
                result.interrupted = True
                break
        entry["summary"] = summarise(entry["runs"])
        if result.interrupted:
            break
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "comparison.json").write_text(
        json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    (output_dir / "comparison.md").write_text(render_markdown(result), encoding="utf-8")
    if plot:
        plot_curves(result, output_dir / "curves.png")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impl.compare``: 0 done, 2 bad arguments, 130 interrupted."""
    parser = build_parser()
    args, shared = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    clash = [a for a in shared if a.split("=", 1)[0] in _PER_ARM]
    if clash:
        parser.error(
            f"{clash[0].split('=', 1)[0]} is set per arm here: use --arm NAME:ARCH:ALGO:VALUE, "
            "--torch-grad-clip, --torch-grad-clip-algorithm, --seed0 or --output-dir"
        )
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds}: must be an int >= 1")
    arms = tuple(args.arm) if args.arm else DEFAULT_ARMS
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        parser.error(f"--arm names must be unique; got {names}")
    result = run_comparison(
        arms,
        seeds=args.seeds,
        seed0=args.seed0,
        shared=shared,
        output_dir=args.output_dir,
        torch_grad_clip=args.torch_grad_clip,
        torch_grad_clip_algorithm=args.torch_grad_clip_algorithm,
        plot=not args.no_plot,
    )
    print(render_markdown(result))
    return runner.EXIT_INTERRUPTED if result.interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
