"""TRN clauses: one optimisation step driven by the Torch-side config (plan task 1.3).

The step takes ``k = accumulate_grad_batches`` micro-batches, an optimizer, a
loss function and optionally a torch.amp GradScaler.
"""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_13 = "implementation-plan.md, Task 1.3"
_ISSUE = "issue 3"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="TRN-001",
        level="MUST",
        tier="plan",
        why=(
            "AMP's documented order: clip the unscaled gradients, or the threshold is scaled too."
        ),
        title="unscale before clipping",
        text=(
            "With a GradScaler the gradients are unscaled before they are clipped, so a step "
            "with a scaler updates the parameters as the same step without one."
        ),
        source=f"{_ISSUE} (clipping scaled gradients is a known way to get AGC wrong)",
    ),
    Clause(
        id="TRN-002",
        level="MUST",
        tier="plan",
        why=("accumulate_grad_batches must accumulate the mean gradient."),
        title="accumulation equals one big batch",
        text=(
            "A step over k equal-sized micro-batches, each loss scaled by 1/k, updates the "
            "parameters as one step over their concatenation with k = 1."
        ),
        source=f"{_ISSUE}; {_PLAN_13} (accumulate_grad_batches)",
    ),
    Clause(
        id="TRN-003",
        level="MUST",
        tier="plan",
        why=("Gradients left after the step would add into the next one."),
        title="gradients cleared after the step",
        text="After the step every parameter's `.grad` is None or zero.",
        source=f"{_ISSUE} (zero_grad)",
    ),
    Clause(
        id="TRN-004",
        level="MUST",
        tier="plan",
        why=("Task 1.3."),
        title="clipping follows the config",
        text=(
            "The step clips the accumulated, unscaled gradients exactly as the clipping "
            "dispatch does for the config's gradient_clip_algorithm and gradient_clip_val "
            "(AGC-026 to AGC-029) before the optimizer step."
        ),
        source=_PLAN_13,
    ),
    Clause(
        id="TRN-005",
        level="MUST",
        tier="strict",
        why=("The plan's step returns nothing; these statistics are this project's API."),
        title="statistics reported",
        text=(
            "The step returns the mean micro-batch loss (with accumulation too: that of one step "
            "over the concatenated batch) and the global L2 norm of the unscaled gradients "
            "before and after clipping, as `loss`, `grad_norm_before` and `grad_norm_after`."
        ),
        source=f"{_ISSUE} (the gradient statistics a study needs)",
    ),
    Clause(
        id="TRN-006",
        level="MUST",
        tier="strict",
        why=("Argument validation."),
        title="micro-batch count checked",
        text=(
            "A number of micro-batches other than accumulate_grad_batches raises ValueError "
            "naming both, before any parameter changes."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="TRN-007",
        level="MUST",
        tier="plan",
        why=(
            "GradScaler.step skips an overflowed step; clipping before the check would hide the "
            "overflow."
        ),
        title="overflowed step skipped",
        text=(
            "With a GradScaler, a step whose gradients hold inf or NaN leaves the parameters "
            "unchanged whatever the clipping algorithm, even 'value', which would make them "
            "finite, and backs the scaler's scale off (it calls scaler.update())."
        ),
        source=f"{_ISSUE} (torch.amp GradScaler semantics)",
    ),
    Clause(
        id="TRN-008",
        level="SHOULD",
        tier="strict",
        why=("Performance hardening."),
        title="no host synchronisation",
        text=(
            "The step reads no tensor on the host beyond what a GradScaler does itself, and "
            "returns its statistics as tensors."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="TRN-009",
        level="MUST",
        tier="strict",
        why="The plan does not ask for distributed training; this is the project's DDP support.",
        title="one reduction per step under DDP",
        text=(
            "Under DistributedDataParallel (or FSDP2), each rank passing an equal share of every "
            "micro-batch, the step reduces the gradients across ranks once (the first k-1 "
            "backward passes without synchronisation), clips after that reduction, and updates "
            "the parameters as one process's step on the whole micro-batches."
        ),
        source="issue 14",
    ),
)
