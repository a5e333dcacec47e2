"""RUN clauses: the study runner and the compare wrapper (plan task 1.4, phase 3; issues 7, 12).

The runner is ``python -m impl.runner``; the compare wrapper ``python -m impl.compare``
(both in ``impl.study``).
"""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_14 = "implementation-plan.md, Task 1.4"
_ISSUE = "issue 7"
_ISSUE_12 = "issue 12"

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
            "A runner or wrapper value the config contract rejects, an unusable device, arm or "
            "probe file, a patch size the generator cannot take, or an output directory that "
            "cannot be written or already holds a run (without --overwrite) exits with status 2 "
            "before any data or model is built, with a message naming the flag or field, the "
            "value and what is allowed."
        ),
        source=f"{_ISSUE}; {_ISSUE_12}",
    ),
    Clause(
        id="RUN-005",
        level="MUST",
        title="outputs written and reloadable",
        text=(
            "A run writes metrics.json (status, final and best losses, the noise floor, amplitude "
            "and phase SSIM, MAE, PSNR and FRC50, CPU seconds, failure flag), history.json "
            "(per-epoch losses, stitched SSIM, gradient norms before and after clipping, units "
            "and steps clipped, non-finite events), the resolved config, which "
            "`spec.load_config` reads back equal, and model weights that load into the "
            "configured architecture."
        ),
        source=f"{_ISSUE}; {_ISSUE_12}",
    ),
    Clause(
        id="RUN-006",
        level="MUST",
        title="failures and Ctrl-C recorded, not raised",
        text=(
            "A non-finite loss or gradient norm, or a gradient norm above the explosion "
            "threshold, ends the run with the outputs written and the failure flagged with its "
            "reason; a KeyboardInterrupt ends it the same way, flagged interrupted; an output "
            "that cannot be written is named, the others are still written and the metrics are "
            "printed."
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
            "SSIM, MAE, PSNR and FRC50, and of CPU seconds, and the failure rate, as JSON and "
            "Markdown."
        ),
        source=f"implementation-plan.md, Phase 3; {_ISSUE}; {_ISSUE_12}",
    ),
    Clause(
        id="RUN-010",
        level="MUST",
        title="results written atomically after every epoch",
        text=(
            "Every output file is replaced atomically through a temporary file with a unique "
            "name; the config and a metrics record marked running are written before any data "
            "are drawn, and the history and the metrics so far after every epoch."
        ),
        source=_ISSUE_12,
    ),
    Clause(
        id="RUN-011",
        level="MUST",
        title="SIGTERM stops a run like Ctrl-C",
        text=(
            "SIGTERM during a run ends it as a KeyboardInterrupt does: outputs written, the run "
            "flagged interrupted with the signal's name, exit status 128 + the signal number."
        ),
        source=_ISSUE_12,
    ),
    Clause(
        id="RUN-012",
        level="MUST",
        title="a well-posed task, and a check that says when it is not",
        text=(
            "The default task uses a probe whose phase is structured (the twin image does not "
            "fit its data) and, for gridsize > 1, the overlap constraint; before training every "
            "run writes the twin image's misfit and a direct (network-free) phase retrieval's "
            "scores, and an ill-posed task is flagged and not ranked by the compare wrapper."
        ),
        source=f"field notes (upstream's Stage A, the twin image); {_ISSUE_12}",
    ),
    Clause(
        id="RUN-013",
        level="MUST",
        title="evaluation as upstream does it",
        text=(
            "Reconstructions are scored on held-out test objects stitched from their patches, "
            "the amplitude rescaled to the truth's mean and a fitted phase plane removed from "
            "both phases; SSIM uses a 7x7 window and the truth's data range; a constant "
            "prediction scores about 0 in SSIM and FRC50, the truth 1."
        ),
        source=f"field notes (upstream's evaluation); {_ISSUE_12}",
    ),
    Clause(
        id="RUN-014",
        level="MUST",
        title="a partial config file keeps the preset's other fields",
        text=(
            "A --config file sets only the fields it names; every other field keeps the value "
            "of the runner's preset, not the contract models' defaults."
        ),
        source=_ISSUE_12,
    ),
    Clause(
        id="RUN-015",
        level="MUST",
        title="a verdict per arm pair against the seed-to-seed spread",
        text=(
            "The comparison states for every pair of arms whether the difference of their "
            "median amplitude SSIM is larger than the seed-to-seed spread (the larger IQR), "
            "gives no verdict with fewer than 3 runs per arm, and none for an ill-posed task."
        ),
        source=_ISSUE_12,
    ),
)
