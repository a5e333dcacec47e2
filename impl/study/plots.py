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

from impl.study.rundir import RunDirectory

if TYPE_CHECKING:
    from impl.study.compare import ComparisonResult

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


def plot_reconstructions(
    result: ComparisonResult, out: RunDirectory, name: str = "reconstructions.png"
) -> bool:
    """Probe, truth, and per arm the stitched object and its error; False if not written."""
    plt = _pyplot()
    if plt is None:
        return False
    shown = {n: o[0] for n, o in result.outcomes.items() if o and o[0].final is not None}
    if not shown:
        return False
    first = next(iter(shown.values()))
    truth = first.final.stitched[0] if first.final else None
    assert truth is not None
    with_phase = bool(first.metrics.get("phase_ssim") is not None)
    cols = 4 if with_phase else 2
    fig, axes = plt.subplots(
        len(shown) + 1,
        max(cols, 3),
        figsize=(3.2 * max(cols, 3), 3 * (len(shown) + 1)),
        squeeze=False,
    )
    amp_range = (float(truth["true_amplitude"].min()), float(truth["true_amplitude"].max()))

    def show(ax: Any, image: Any, title: str, **kw: Any) -> None:
        im = ax.imshow(image, **kw)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        fig.colorbar(im, ax=ax, fraction=0.046)

    probe = first.probe
    if probe is not None:
        show(axes[0, 0], probe.abs().numpy(), "probe amplitude", cmap="gray")
        show(axes[0, 1], probe.angle().numpy(), "probe phase (rad)", cmap="twilight")
    show(axes[0, 2], truth["true_amplitude"].numpy(), "true amplitude", cmap="gray",
         vmin=amp_range[0], vmax=amp_range[1])  # fmt: skip
    if with_phase and axes.shape[1] > 3:
        show(axes[0, 3], truth["true_phase"].numpy(), "true phase (plane removed)", cmap="twilight")
    for ax in axes[0, 4 if with_phase else 3 :]:
        ax.axis("off")
    for row, (arm_name, outcome) in enumerate(shown.items(), start=1):
        assert outcome.final is not None
        obj, m = outcome.final.stitched[0], outcome.metrics
        error = obj["amplitude"] - obj["true_amplitude"]
        lim = float(error.abs().max())
        title = f"{arm_name}: amplitude (SSIM {m['amp_ssim']:.3f})"
        show(axes[row, 0], obj["amplitude"].numpy(), title,
             cmap="gray", vmin=amp_range[0], vmax=amp_range[1])  # fmt: skip
        show(axes[row, 1], error.numpy(), "amplitude error", cmap="RdBu_r", vmin=-lim, vmax=lim)
        if with_phase:
            perr = obj["phase"] - obj["true_phase"]
            plim = float(perr.abs().max())
            show(
                axes[row, 2],
                obj["phase"].numpy(),
                f"phase (SSIM {m['phase_ssim']:.3f})",
                cmap="twilight",
            )
            show(
                axes[row, 3],
                perr.numpy(),
                "phase error (rad)",
                cmap="RdBu_r",
                vmin=-plim,
                vmax=plim,
            )
        for ax in axes[row, cols:]:
            ax.axis("off")
    return _save(plt, fig, out, name)
