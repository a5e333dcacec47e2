"""RUN clauses: the study runner and the compare wrapper (plan task 1.4, phase 3; issue 7).

The runner is ``python -m impl.runner``; the compare wrapper ``python -m impl.compare``.
"""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_14 = "implementation-plan.md, Task 1.4"
_ISSUE = "issue 7"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="RUN-001",
        level="MUST",
        title="runner takes --gradient-clip-algorithm",
        text=(
            "The runner accepts `--gradient-clip-algorithm` with the choices norm, value and "
            "agc (default norm) and passes it to the Torch-side training config's "
            "`gradient_clip_algorithm`."
        ),
        source=_PLAN_14,
    ),
    Clause(
        id="RUN-002",
        level="MUST",
        title="compare wrapper forwards the clipping flags",
        text=(
            "The compare wrapper forwards `--torch-grad-clip` and `--torch-grad-clip-algorithm` "
            "to every runner invocation of an arm that sets no clipping of its own, and each "
            "arm's own architecture and clipping reach that run's training config."
        ),
        source=f"{_PLAN_14} (status note: the wrapper lacked the flag); {_ISSUE}",
    ),
    Clause(
        id="RUN-003",
        level="MUST",
        title="clip value <= 0 disables clipping",
        text="A runner clip value (`--grad-clip`) <= 0 resolves to a config that does not clip.",
        source="field notes (upstream runner semantics); " + _ISSUE,
    ),
    Clause(
        id="RUN-004",
        level="MUST",
        title="bad values rejected before training",
        text=(
            "A runner or wrapper value the config contract rejects (or an unusable device or "
            "arm) exits with status 2 before any data or model is built, with a message naming "
            "the flag or field, the value and what is allowed."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="RUN-005",
        level="MUST",
        title="outputs written and reloadable",
        text=(
            "A run writes metrics.json (final and best losses, amplitude/phase SSIM, amplitude "
            "MAE, failure flag), history.json (per-epoch losses, gradient norms before and after "
            "clipping, units clipped, non-finite events), the resolved config, which "
            "`spec.load_config` reads back equal, and model weights that load into the "
            "configured architecture."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="RUN-006",
        level="MUST",
        title="failures and Ctrl-C recorded, not raised",
        text=(
            "A non-finite loss or gradient norm, or a gradient norm above the explosion "
            "threshold, ends the run with the outputs written and the failure flagged with its "
            "reason; a KeyboardInterrupt ends it the same way, flagged interrupted."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="RUN-007",
        level="MUST",
        title="deterministic for a seed",
        text=(
            "On the CPU, two runs of one config and seed give identical metrics and history, "
            "wall-clock times aside."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="RUN-008",
        level="SHOULD",
        title="warn when a stable block stays pinned at the identity",
        text=(
            "The runner records per epoch the residual gain of the stable blocks (mean "
            "|norm weight x gate|) and warns, and flags the run, when it stays below a "
            "documented threshold for a documented number of consecutive epochs."
        ),
        source="field notes (the zero-gamma arm's norm weights stayed near 0.09 for tens of "
        "epochs); " + _ISSUE,
    ),
    Clause(
        id="RUN-009",
        level="MUST",
        title="comparison table over seeds",
        text=(
            "The compare wrapper writes, per arm, the median and interquartile range over the "
            "runs that did not fail of best and final validation loss, amplitude and phase "
            "SSIM and amplitude MAE, and the failure rate, as JSON and Markdown."
        ),
        source=f"implementation-plan.md, Phase 3; {_ISSUE}",
    ),
)
