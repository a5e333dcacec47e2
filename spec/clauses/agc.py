"""AGC clauses: unit-wise Adaptive Gradient Clipping and the clipping dispatch (plan 1.2, 1.3).

Throughout, a *unit* of a parameter W with gradient G is a slice along its unit
axis (dim 0 by default for rank >= 2, the whole tensor for rank <= 1), and
``bound_i = clip_factor * max(||W_i||_2, eps)``. The plan-tier clauses are checked on
bounds of at least 1e-6 (where the 1e-6 floor on the gradient norm of the paper's code
changes nothing; below it: AGC-033) and, for float16 and bfloat16, within the rounding of
a computation in that dtype (more: AGC-032).
"""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_12 = "implementation-plan.md, Task 1.2"
_PLAN_13 = "implementation-plan.md, Task 1.3"
_PAPER = "Brock et al. 2021, Algorithm 2"
_NOTES = "field-notes.md"
_ISSUE = "issue 3"
_REF = "spec.reference.agc_reference"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="AGC-001",
        level="MUST",
        tier="plan",
        why=("Brock et al. 2021, Algorithm 2, as Task 1.2 states it."),
        title="unit-wise rule",
        text=(
            "For every unit i, if ||G_i||_2 > bound_i the gradient unit becomes "
            "G_i * bound_i / ||G_i||_2, and otherwise it is left unchanged."
        ),
        source=f"{_PLAN_12}; {_PAPER}",
        reference=_REF,
    ),
    Clause(
        id="AGC-002",
        level="MUST",
        tier="plan",
        why=(
            "The paper's units are output rows and output channels: dim 0 of Linear and ConvNd "
            "weights."
        ),
        title="default unit axis",
        text=(
            "For a parameter of rank >= 2 the units are, by default, the slices along dim 0 "
            "(the output axis of Linear and ConvNd weights), each norm running over all "
            "other dims."
        ),
        source=f"{_PAPER}; {_NOTES} (timm convention)",
        reference=_REF,
    ),
    Clause(
        id="AGC-003",
        level="MUST",
        tier="plan",
        why=("The convention of the paper's code and timm for biases and gains."),
        title="rank <= 1 is one unit",
        text="A parameter of rank 0 or 1 is a single unit whose norm runs over the whole tensor.",
        source=f"{_NOTES} (timm convention)",
        reference=_REF,
    ),
    Clause(
        id="AGC-004",
        level="MUST",
        tier="plan",
        why=(
            "The rule leaves an unclipped unit unchanged, and multiplying by exactly 1 (or keeping"
            " the old value) keeps every bit."
        ),
        title="unclipped units bit-for-bit",
        text=(
            "A gradient unit with ||G_i||_2 <= bound_i is left bit-for-bit identical, "
            "in every supported dtype."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-005",
        level="MUST",
        tier="plan",
        why=("The rule rescales a clipped unit onto its bound."),
        title="clipped units land on the bound",
        text=(
            "A gradient unit with ||G_i||_2 > bound_i has norm bound_i afterwards, "
            "within the rounding of its dtype (for float16 and bfloat16: of a computation in "
            "that dtype)."
        ),
        source=f"{_PLAN_12}; {_PAPER}",
        reference=_REF,
    ),
    Clause(
        id="AGC-006",
        level="MUST",
        tier="plan",
        why=("The rule multiplies a unit by a factor in [0, 1]."),
        title="direction preserved",
        text=(
            "Clipping multiplies a gradient unit by a factor in [0, 1], so no entry changes "
            "sign and the unit keeps its direction."
        ),
        source=_PAPER,
    ),
    Clause(
        id="AGC-007",
        level="MUST",
        tier="plan",
        why=("A unit on its bound is not clipped again by the rule."),
        title="idempotent",
        text=(
            "Applying AGC a second time with the same arguments changes no gradient by more "
            "than the rounding of its dtype."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-008",
        level="MUST",
        tier="plan",
        why=(
            "Unit-wise clipping: each unit's factor depends on that unit alone (upstream's "
            "per-tensor norm breaks it)."
        ),
        title="unit locality",
        text=(
            "The result for one unit depends only on that unit's weight and gradient: changing "
            "another unit's gradient, in the same or another parameter, does not change it."
        ),
        source=f"{_ISSUE}; {_NOTES} (upstream takes one norm per whole tensor)",
    ),
    Clause(
        id="AGC-009",
        level="MUST",
        tier="plan",
        why=("Task 1.2: max(||W_i||, eps) guards zero weights."),
        title="eps guard for zero weights",
        text=(
            "A unit whose weight norm is below eps, zero included, is clipped against "
            "clip_factor * eps (never against 0)."
        ),
        source=f"{_PLAN_12} (test_agc_handles_zero_params)",
        reference=_REF,
    ),
    Clause(
        id="AGC-010",
        level="MUST",
        tier="plan",
        why=("A zero gradient has norm 0 <= bound, which the rule leaves unchanged."),
        title="zero gradient stays zero",
        text="An all-zero gradient unit stays exactly zero (no 0/0 NaN), whatever its weight.",
        source=_ISSUE,
    ),
    Clause(
        id="AGC-011",
        level="MUST",
        tier="plan",
        why=("The plan clips gradients only."),
        title="weights untouched",
        text="AGC never modifies a parameter's values.",
        source=_ISSUE,
    ),
    Clause(
        id="AGC-012",
        level="MUST",
        tier="plan",
        why=("Task 1.2: operate in place on .grad."),
        title="in place on .grad",
        text=(
            "AGC writes into the existing `.grad` tensors: after the call each parameter holds "
            "the same `.grad` object, on the same storage, with the same shape and strides."
        ),
        source=f"{_PLAN_12} (operate in-place on .grad)",
    ),
    Clause(
        id="AGC-013",
        level="MUST",
        tier="plan",
        why=("Task 1.3 passes model.parameters(), where frozen parameters have no gradient."),
        title="None gradients skipped",
        text=(
            "A parameter whose `.grad` is None is skipped without error and its `.grad` stays None."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-014",
        level="MUST",
        tier="plan",
        why=("Task 1.3 passes self.parameters(), a one-shot generator."),
        title="list or generator",
        text=(
            "`parameters` may be a list or a tuple of tensors or a one-shot generator of "
            "tensors, with the same result for the same parameters."
        ),
        source=f"{_ISSUE} (model.parameters() is a generator)",
    ),
    Clause(
        id="AGC-015",
        level="MUST",
        tier="plan",
        why=(
            "Working in place keeps the dtype; which dtypes an implementation takes is its "
            "declared domain (complex: the FNO's spectral weights)."
        ),
        title="dtypes supported and kept",
        text=(
            "Gradients of every dtype in the implementation's domain (by default float16, "
            "bfloat16, float32, float64, complex64 and complex128) are clipped and keep their "
            "dtype."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-016",
        level="MUST",
        tier="plan",
        why=("The FNO generators' spectral weights are complex."),
        title="complex modulus",
        text=(
            "For complex parameters every norm is the Euclidean norm of the entries' moduli, "
            "so a complex unit is clipped as the real unit of its real and imaginary parts."
        ),
        source=f"{_ISSUE}; {_NOTES} (spectral weights are complex)",
        reference=_REF,
    ),
    Clause(
        id="AGC-017",
        level="MUST",
        tier="plan",
        why=("The rule itself, checked number by number against the float64 reference."),
        title="agrees with the float64 reference",
        text=(
            "On finite input the clipped gradients equal the float64 reference within the "
            "rounding of their dtype (for float16 and bfloat16: of a computation in that "
            "dtype)."
        ),
        source=_ISSUE,
        reference=_REF,
    ),
    Clause(
        id="AGC-018",
        level="MUST",
        tier="strict",
        why=(
            "Autograd gives the plan's models contiguous gradients; views (channels_last, user "
            "code) are a hardening."
        ),
        title="non-contiguous gradients",
        text=(
            "A non-contiguous gradient (a transposed or strided view) is clipped in place "
            "exactly as its contiguous copy would be."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-019",
        level="MUST",
        tier="strict",
        why=("Argument validation: the plan gives defaults and no checks."),
        title="arguments validated",
        text=(
            "A clip_factor or eps that is <= 0, NaN or infinite raises ValueError naming the "
            "argument before any gradient is modified; one that is no real number (a bool, a "
            "string, None) raises TypeError or ValueError naming it, just as early."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-020",
        level="MUST",
        tier="strict",
        why=("Refusing sparse gradients before anything is modified is this project's hardening."),
        title="sparse gradients rejected",
        text=(
            "A sparse gradient raises an error that says so, before any gradient is modified, "
            "instead of being clipped wrongly or skipped."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-021",
        level="MUST",
        tier="plan",
        why=(
            "Unit-wise clipping keeps a non-finite unit's effect inside that unit, so a GradScaler"
            " still sees the overflow."
        ),
        title="non-finite gradients by default",
        text=(
            "By default a gradient holding NaN or inf raises nothing, the units holding "
            "non-finite entries stay non-finite, and every other unit is clipped as it would "
            "be alone."
        ),
        source=f"{_ISSUE}; torch.nn.utils.clip_grad_norm_ (error_if_nonfinite=False)",
    ),
    Clause(
        id="AGC-022",
        level="SHOULD",
        tier="strict",
        why=("The paper does not say; this is the convention of this project's reference."),
        title="non-finite convention",
        text=(
            "The rule of AGC-001 is applied under IEEE comparison, so a unit whose gradient "
            "norm is NaN is left unchanged and a unit whose gradient norm is infinite is "
            "multiplied by 0, as the reference does."
        ),
        source=_ISSUE,
        reference=_REF,
    ),
    Clause(
        id="AGC-023",
        level="SHOULD",
        tier="strict",
        why=("An extension, as torch's clip_grad_norm_ has."),
        title="error_if_nonfinite switch",
        text=(
            "An `error_if_nonfinite` switch, off by default, makes a non-finite gradient norm "
            "raise before any gradient is modified."
        ),
        source="torch.nn.utils.clip_grad_norm_",
    ),
    Clause(
        id="AGC-024",
        level="SHOULD",
        tier="strict",
        why=(
            "An extension (dim 0 is the wrong unit axis for transposed-conv and spectral weights)."
        ),
        title="unit axis chosen per parameter",
        text=(
            "The caller can set the unit axis per parameter or exclude a parameter, and the "
            "bundled modules whose output axis is not dim 0 (transposed convolutions, "
            "(in, out, ...) spectral weights) declare theirs."
        ),
        source=f"{_ISSUE}; {_NOTES} (transposed conv and spectral weights: output axis dim 1)",
    ),
    Clause(
        id="AGC-025",
        level="SHOULD",
        tier="strict",
        why=("Performance hardening: upstream's per-parameter sync is slow on a GPU."),
        title="no host synchronisation",
        text=(
            "AGC makes no host-device synchronisation and returns the number of clipped units "
            "as a tensor."
        ),
        source=f"{_ISSUE}; {_NOTES} (upstream syncs once per parameter)",
    ),
    Clause(
        id="AGC-026",
        level="MUST",
        tier="plan",
        why=("Task 1.3: clip only when the value is not None and > 0."),
        title="dispatch: no clipping at value <= 0",
        text=(
            "The clipping dispatch given a value that is None or <= 0 leaves every gradient "
            "bit-for-bit unchanged, whatever allowed algorithm it names."
        ),
        source=f"{_PLAN_13}; {_NOTES} (runner: <= 0 means no clipping)",
    ),
    Clause(
        id="AGC-027",
        level="MUST",
        tier="plan",
        why=("Task 1.3's dispatch: 'norm' is torch's clip_grad_norm_."),
        title="dispatch: norm",
        text=(
            "The dispatch with algorithm 'norm' and value v > 0 gives the gradients of "
            "torch.nn.utils.clip_grad_norm_(parameters, max_norm=v)."
        ),
        source=_PLAN_13,
    ),
    Clause(
        id="AGC-028",
        level="MUST",
        tier="plan",
        why=("Task 1.3's dispatch: 'value' is torch's clip_grad_value_."),
        title="dispatch: value",
        text=(
            "The dispatch with algorithm 'value' and value v > 0 gives the gradients of "
            "torch.nn.utils.clip_grad_value_(parameters, clip_value=v)."
        ),
        source=_PLAN_13,
    ),
    Clause(
        id="AGC-029",
        level="MUST",
        tier="plan",
        why=("Task 1.3's dispatch: 'agc' is the AGC utility with clip_factor = value."),
        title="dispatch: agc",
        text=(
            "The dispatch with algorithm 'agc' and value v > 0 gives the gradients of unit-wise "
            "AGC with clip_factor=v and eps=1e-3, within the rounding of their dtype."
        ),
        source=_PLAN_13,
        reference=_REF,
    ),
    Clause(
        id="AGC-030",
        level="MUST",
        tier="strict",
        why=(
            "The plan's dispatch falls through silently on an unknown name; refusing it with "
            "ValueError is this project's hardening."
        ),
        title="dispatch: unknown algorithm rejected",
        text=(
            "The dispatch given an algorithm outside 'norm', 'value' and 'agc' raises ValueError "
            "naming it and the allowed values, whatever the value, before any gradient is "
            "modified."
        ),
        source=f"{_ISSUE}; {_NOTES} (upstream dispatch falls through silently)",
    ),
    Clause(
        id="AGC-031",
        level="SHOULD",
        tier="strict",
        why=("An extension."),
        title="dispatch: config as source",
        text=(
            "The dispatch accepts a TF-side or Torch-side training config as the source of "
            "algorithm and value, and rejects explicit arguments that contradict it."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="AGC-032",
        level="MUST",
        tier="strict",
        why=(
            "A straightforward computation in the working dtype (as timm's) is less accurate in "
            "half precision, and a float32 constant in a float64 one; the plan asks for no more."
        ),
        title="accuracy beyond the working dtype",
        text=(
            "For float16 and bfloat16 gradients, norms and factors are computed in at least "
            "float32, and for float64 gradients in float64, so the clipped gradients equal the "
            "float64 reference within the rounding of the final cast (1e-10 relative for "
            "float64), tiny factors included."
        ),
        source="issue 11 (half-precision part of AGC-005 and AGC-017)",
        reference=_REF,
    ),
    Clause(
        id="AGC-033",
        level="MUST",
        tier="strict",
        why=(
            "The paper's reference code and timm floor the gradient norm at 1e-6, which matters "
            "only below that bound."
        ),
        title="no floor on the gradient norm",
        text=(
            "The rule also holds for bounds below 1e-6: no floor on the gradient norm (such as a "
            "clamp at 1e-6 before dividing) over-clips a unit."
        ),
        source=_PAPER
        + "; "
        + _NOTES
        + " (the reference code and timm clamp the gradient norm at 1e-6)",
        reference=_REF,
    ),
    Clause(
        id="AGC-034",
        level="MUST",
        tier="strict",
        why="A convenience of torch's clipping functions, not asked by the plan.",
        title="a single tensor",
        text=(
            "`parameters` may also be a single tensor, as for torch.nn.utils.clip_grad_norm_, with "
            "the result of a one-element list."
        ),
        source="issue 11 (single-tensor part of AGC-014)",
    ),
    Clause(
        id="AGC-035",
        level="MUST",
        tier="strict",
        why="The plan does not ask for distributed training; sharded clipping is this project's.",
        title="sharded parameters: AGC",
        text=(
            "On DTensor parameters (FSDP2's Shard(0), or any Shard / Replicate placements on a "
            "1-D or 2-D device mesh) AGC leaves each gradient, gathered whole, as AGC leaves it "
            "on the unsharded parameters (within float rounding), and every rank returns the "
            "same count."
        ),
        source="issue 14 (Composer refuses AGC under FSDP; timm loops over local tensors)",
        reference=_REF,
    ),
    Clause(
        id="AGC-036",
        level="MUST",
        tier="strict",
        why="The plan does not ask for distributed training; sharded clipping is this project's.",
        title="sharded parameters: the dispatch",
        text=(
            "On DTensor parameters the dispatch leaves the gradients as on the unsharded "
            "parameters: 'norm' as torch.nn.utils.clip_grad_norm_ (which handles DTensors), "
            "'value' as clip_grad_value_, 'agc' as AGC-035; value None or <= 0 changes nothing."
        ),
        source="issue 14",
    ),
    Clause(
        id="AGC-037",
        level="MUST",
        tier="plan",
        why="Task 1.2 gives the signature adaptive_gradient_clip_(parameters, clip_factor=0.01, "
        "eps=1e-3); a caller that leaves them out gets the paper's values.",
        title="the plan's defaults",
        text=("Called with the parameters alone, AGC clips as with clip_factor=0.01 and eps=1e-3."),
        source=f"{_PLAN_12}; issue 18 (mutants of the defaults survived every other clause)",
        reference=_REF,
    ),
    Clause(
        id="AGC-038",
        level="SHOULD",
        tier="strict",
        why="An extension: the plan's dispatch returns nothing; the statistics are what a "
        "training loop logs (TRN-005 reads them through the step).",
        title="dispatch: statistics returned",
        text=(
            "A dispatch that returns statistics returns grad_norm_before and grad_norm_after, "
            "the L2 norm of all the gradients together (complex entries by modulus) before and "
            "after the call, and units_clipped: 1 or 0 for 'norm' (whether the norm exceeded "
            "the value), the entries whose magnitude exceeded the value for 'value', the units "
            "rescaled for 'agc'."
        ),
        source="issue 18 (mutants of the statistics survived every dispatch clause)",
    ),
)
