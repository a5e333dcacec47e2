"""The comparison's tables: median and IQR over seeds per arm, and one verdict per arm pair.

>>> from impl.study.tables import summarise, verdict
>>> runs = lambda *v: [{"amp_ssim": x, "failed": False} for x in v]
>>> a, b = summarise(runs(0.95, 0.96, 0.97)), summarise(runs(0.80, 0.81, 0.83))
>>> a["amp_ssim"]["median"], round(a["amp_ssim"]["iqr"], 3)
(0.96, 0.01)
>>> line = verdict("control", a, "arch_fix", b, "amp_ssim")
>>> line.split("; ")[0]
'control vs arch_fix: amp SSIM 0.96 vs 0.81 (difference +0.15)'
>>> line.split("; ")[1]
'it exceeds the seed-to-seed spread (IQR 0.015): control is better'

A verdict compares the medians of the two arms' runs that did not fail with the
seed-to-seed spread, the larger of the two IQRs: a difference larger than the
spread is called out as such ("control higher"), one within it is "no difference
beyond the seed-to-seed spread". Fewer than :data:`MIN_SEEDS` runs per arm give
no verdict (no spread to compare with), and neither does an ill-posed task.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np

from impl.study.evaluate import SCORES

__all__ = ["MIN_SEEDS", "SUMMARY_KEYS", "render_markdown", "summarise", "verdict", "verdicts"]

SUMMARY_KEYS = (
    *SCORES,
    "best_val_loss",
    "final_val_loss",
    "clip_fraction",
    "seconds",
    "cpu_seconds",
)
"""Per-run values summarised per arm (median, quartiles, IQR)."""

MIN_SEEDS = 3
"""Runs per arm below which no verdict is given."""

_LABELS = {
    "amp_ssim": "amp SSIM", "amp_mae": "amp MAE", "amp_psnr": "amp PSNR", "amp_frc50": "amp FRC50",
    "phase_ssim": "phase SSIM", "phase_mae": "phase MAE", "phase_psnr": "phase PSNR",
    "phase_frc50": "phase FRC50", "best_val_loss": "best val loss",
    "final_val_loss": "final val loss", "clip_fraction": "clipped", "seconds": "wall s",
    "cpu_seconds": "CPU s",
}  # fmt: skip
_HIGHER_IS_BETTER = {"amp_ssim", "amp_psnr", "amp_frc50", "phase_ssim", "phase_psnr", "phase_frc50"}


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"median": None, "q25": None, "q75": None, "iqr": None, "n": 0}
    q25, median, q75 = (float(v) for v in np.percentile(values, [25, 50, 75]))
    return {"median": median, "q25": q25, "q75": q75, "iqr": q75 - q25, "n": len(values)}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key median / quartiles / IQR over the runs that did not fail; counts.

    >>> s = summarise([{"best_val_loss": 1.0, "failed": False},
    ...                {"best_val_loss": 3.0, "failed": False},
    ...                {"best_val_loss": None, "failed": True}])
    >>> s["best_val_loss"]["median"], s["best_val_loss"]["iqr"], s["failure_rate"]
    (2.0, 1.0, 0.3333333333333333)
    """
    ok = [r for r in runs if not r.get("failed")]
    out: dict[str, Any] = {}
    for key in SUMMARY_KEYS:
        vals = [r.get(key) for r in (runs if key in ("seconds", "cpu_seconds") else ok)]
        out[key] = _stats(
            [float(v) for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
        )
    out["runs"] = len(runs)
    out["failures"] = len(runs) - len(ok)
    out["failure_rate"] = (len(runs) - len(ok)) / len(runs) if runs else None
    out["identity_pinned"] = sum(bool(r.get("identity_pinned")) for r in runs)
    out["interrupted"] = sum(bool(r.get("interrupted")) for r in runs)
    return out


def verdict(name_a: str, a: dict[str, Any], name_b: str, b: dict[str, Any], key: str) -> str:
    """One line: do arms ``a`` and ``b`` differ on ``key`` by more than the seed-to-seed spread?"""
    sa, sb, label = a[key], b[key], _LABELS.get(key, key)
    head = f"{name_a} vs {name_b}: {label}"
    if sa["median"] is None or sb["median"] is None:
        return f"{head}: no verdict (an arm has no successful run)"
    diff = sa["median"] - sb["median"]
    head += f" {sa['median']:.3g} vs {sb['median']:.3g} (difference {diff:+.3g})"
    n = min(sa["n"], sb["n"])
    if n < MIN_SEEDS:
        return f"{head}; no verdict: {n} run(s) per arm, need >= {MIN_SEEDS} to measure the spread"
    spread = max(sa["iqr"], sb["iqr"])
    if abs(diff) <= spread:
        return f"{head}; within the seed-to-seed spread (IQR {spread:.3g}): no difference shown"
    better = name_a if (diff > 0) == (key in _HIGHER_IS_BETTER) else name_b
    return f"{head}; it exceeds the seed-to-seed spread (IQR {spread:.3g}): {better} is better"


def verdicts(arms: dict[str, dict[str, Any]], key: str = "amp_ssim") -> list[str]:
    """:func:`verdict` for every pair of arms, in order."""
    return [
        verdict(a, arms[a]["summary"], b, arms[b]["summary"], key) for a, b in combinations(arms, 2)
    ]


def _cell(stat: dict[str, Any], digits: int = 3) -> str:
    if stat["median"] is None:
        return "–"
    if stat["n"] < 2:
        return f"{stat['median']:.{digits}g}"
    return f"{stat['median']:.{digits}g} ({stat['iqr']:.2g})"


def render_markdown(result: dict[str, Any]) -> str:
    """``comparison.md``: the task's well-posedness, the table, the verdicts."""
    arms: dict[str, dict[str, Any]] = result["arms"]
    with_phase = any(a["summary"]["phase_ssim"]["median"] is not None for a in arms.values())
    keys = ["amp_ssim", "amp_mae", "amp_psnr", "amp_frc50"]
    keys += ["phase_ssim", "phase_mae", "phase_frc50"] if with_phase else []
    keys += ["best_val_loss", "clip_fraction", "cpu_seconds", "seconds"]
    seeds = result["seeds"]
    lines = [f"# Stage A comparison ({seeds} seed(s) per arm)", ""]
    lines += [f"Task: {result['task']}", ""]
    lines += [
        "Scores of the final weights on the held-out test objects, stitched; median over seeds "
        "(IQR in brackets when there are >= 2 runs) of the runs that did not fail. "
        f"Noise floor (loss of the true object): {result['noise_floor']}.",
        "",
    ]
    head = ["arm", "architecture", "clipping", *(_LABELS[k] for k in keys), "failed", "pinned"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, arm in arms.items():
        s = arm["summary"]
        clip = f"{arm['algorithm']} {arm['value']:g}" if arm["value"] > 0 else "none"
        cells = [name, arm["architecture"], clip, *(_cell(s[k]) for k in keys)]
        cells += [f"{s['failures']}/{s['runs']}", f"{s['identity_pinned']}/{s['runs']}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Verdicts (amplitude SSIM)", ""]
    lines += [f"- {line}" for line in result["verdicts"]]
    return "\n".join(lines) + "\n"
