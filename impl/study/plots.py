"""The study's pictures (matplotlib, the optional ``study`` extra, imported only here, lazily).

``curves.png``: per arm and seed, the validation loss per epoch with the noise floor
(the true object's loss on the same data) marked, the stitched amplitude SSIM per
epoch, the fraction of steps clipped ('agc': of units; 'value': of gradient entries)
and the gradient norm before clipping. ``reconstructions.png``: the probe's amplitude
and phase and the true object; then per arm (first seed, first test object) the
stitched amplitude beside its error map, and with ``--set-phi`` the phase and its
error too. Without matplotlib both are skipped with a message naming the extra.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

from impl.study.evaluate import StitchedObject
from impl.study.rundir import RunDirectory

if TYPE_CHECKING:
    from impl.study.shootout import ComparisonResult

Panel = tuple[Any, str, dict[str, Any]]
"""An image, its title and its ``imshow`` options."""

__all__ = ["plot_curves", "plot_reconstructions"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed: skipping the pictures "
            "(install the optional extra: pip install 'fno-stability[study]')",
            file=sys.stderr,
        )
        return None
    return plt


def _save(plt: Any, fig: Any, out: RunDirectory, name: str) -> bool:
    fig.tight_layout()
    ok = out.write(name, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
    return ok


def _series(history: list[dict[str, Any]], key: str) -> tuple[list[int], list[Any]]:
    xs = [e["epoch"] for e in history]
    ys = [e.get(key) if e.get(key) is not None else math.nan for e in history]
    return xs, ys


def plot_curves(result: ComparisonResult, out: RunDirectory, name: str = "curves.png") -> bool:
    """Loss (with noise floor), SSIM, clipping and gradient-norm curves; False if not written."""
    plt = _pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels = (
        ("val_loss", "validation loss", "log"),
        ("amp_ssim", "stitched amplitude SSIM", "linear"),
        ("clip_fraction", "fraction clipped (steps; agc: units)", "linear"),
        ("grad_norm_before", "grad norm before clipping (mean)", "log"),
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, title, scale) in zip(axes.flat, panels, strict=False):
        for i, (arm_name, arm) in enumerate(result.arms.items()):
            for j, history in enumerate(arm["histories"]):
                xs, ys = _series(history, key)
                ax.plot(xs, ys, color=colours[i % len(colours)], alpha=0.8, marker=".",
                        label=arm_name if j == 0 else None)  # fmt: skip
        ax.set(xlabel="epoch", title=title, yscale=scale)
    floors = [c["twin"]["truth_loss"] for c in result.wellposedness.values()]
    if floors and floors[0] > 0:
        axes[0, 0].axhline(floors[0], color="k", linestyle="--", label="noise floor (truth)")
    axes[0, 1].set_ylim(0, 1)
    axes[0, 0].legend()
    return _save(plt, fig, out, name)


def _show(fig: Any, ax: Any, image: Any, title: str, **kw: Any) -> None:
    im = ax.imshow(image.numpy() if hasattr(image, "numpy") else image, **kw)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)


def _object_panels(obj: StitchedObject, label: str, m: dict[str, Any], phase: bool) -> list[Panel]:
    """(image, title, imshow options) of one arm's row: amplitude, its error, [phase, error]."""
    amp = (float(obj["true_amplitude"].min()), float(obj["true_amplitude"].max()))
    error = obj["amplitude"] - obj["true_amplitude"]
    lim = float(error.abs().max())
    panels: list[Panel] = [
        (obj["amplitude"], f"{label}: amplitude (SSIM {m['amp_ssim']:.3f})",
         {"cmap": "gray", "vmin": amp[0], "vmax": amp[1]}),
        (error, "amplitude error", {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}),
    ]  # fmt: skip
    if phase:
        ph = (float(obj["true_phase"].min()), float(obj["true_phase"].max()))
        perr = obj["phase"] - obj["true_phase"]
        plim = float(perr.abs().max())
        panels += [
            (obj["phase"], f"phase (SSIM {m['phase_ssim']:.3f})",
             {"cmap": "viridis", "vmin": ph[0], "vmax": ph[1]}),
            (perr, "phase error (rad)", {"cmap": "RdBu_r", "vmin": -plim, "vmax": plim}),
        ]  # fmt: skip
    return panels


def plot_reconstructions(
    result: ComparisonResult, out: RunDirectory, name: str = "reconstructions.png"
) -> bool:
    """Probe, truth, and per arm the stitched object and its error; False if not written."""
    plt = _pyplot()
    shown = {n: o[0] for n, o in result.outcomes.items() if o and o[0].final is not None}
    if plt is None or not shown:
        return False
    first = next(iter(shown.values()))
    assert first.final is not None and first.probe is not None
    truth = first.final.stitched[0]
    phase = first.metrics.get("phase_ssim") is not None
    amp = {
        "vmin": float(truth["true_amplitude"].min()),
        "vmax": float(truth["true_amplitude"].max()),
    }
    top: list[Panel] = [
        (first.probe.abs(), "probe amplitude", {"cmap": "gray"}),
        (first.probe.angle(), "probe phase (rad)", {"cmap": "twilight"}),
        (truth["true_amplitude"], "true amplitude", {"cmap": "gray", **amp}),
    ]
    if phase:
        top.append((truth["true_phase"], "true phase (plane removed)", {"cmap": "viridis"}))
    rows = [top] + [
        _object_panels(o.final.stitched[0], n, o.metrics, phase)
        for n, o in shown.items()
        if o.final is not None
    ]
    cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(3.2 * cols, 3 * len(rows)), squeeze=False)
    for row, panels in zip(axes, rows, strict=True):
        for ax in row:
            ax.axis("off")
        for ax, (image, title, kw) in zip(row, panels, strict=False):
            _show(fig, ax, image, title, **kw)
    return _save(plt, fig, out, name)
