"""CFG clauses: the training/model configuration contract (plan task 1.1)."""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_11 = "implementation-plan.md, Task 1.1"
_NOTES = "field-notes.md, upstream system"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="CFG-001",
        level="MUST",
        title="clip algorithm field on both sides",
        text=(
            "Both the TF-side and the Torch-side training config expose "
            "`gradient_clip_algorithm` whose allowed values are exactly 'norm', 'value' and 'agc'."
        ),
        source=_PLAN_11,
    ),
    Clause(
        id="CFG-002",
        level="MUST",
        title="clip algorithm defaults to norm",
        text=(
            "On both sides `gradient_clip_algorithm` defaults to 'norm', which preserves "
            "the behaviour from before the field existed."
        ),
        source=_PLAN_11,
    ),
    Clause(
        id="CFG-003",
        level="MUST",
        title="unknown clip algorithm rejected",
        text=(
            "A `gradient_clip_algorithm` outside the allowed set is rejected when the config "
            "is built, with an error naming the field, the value and the allowed values."
        ),
        source=_NOTES + " (Torch side typed plain str: 'bogus' reached the loop unclipped)",
    ),
    Clause(
        id="CFG-004",
        level="MUST",
        title="clip value range",
        text=(
            "`gradient_clip_val` is None or a finite float >= 0 on both sides (None or 0 "
            "disables clipping); negative, NaN and infinite values are rejected when built."
        ),
        source=_NOTES + " (gradient_clip_val: Optional[float] = None; <= 0 means no clipping)",
    ),
    Clause(
        id="CFG-005",
        level="MUST",
        title="bridge carries the clipping fields",
        text=(
            "The Torch-to-TF bridge and its inverse carry `gradient_clip_val` and "
            "`gradient_clip_algorithm` unchanged."
        ),
        source=_PLAN_11 + " (bridge the field)",
    ),
    Clause(
        id="CFG-006",
        level="MUST",
        title="bridge round trip",
        text=(
            "Converting a valid config to the other side and back is the identity on every "
            "field the two sides share, renamed fields (epochs <-> nepochs) included."
        ),
        source=_NOTES + " (bridge converts field by field, with renames)",
    ),
    Clause(
        id="CFG-007",
        level="MUST",
        title="shared defaults agree",
        text="Every field the two sides share has the same default value on both sides.",
        source=_PLAN_11 + " (default preserves behaviour on both backends)",
    ),
    Clause(
        id="CFG-008",
        level="MUST",
        title="unknown keys rejected",
        text="A config given a key that is not one of its fields is rejected when built.",
        source="issue 2 (extra='forbid')",
    ),
    Clause(
        id="CFG-009",
        level="SHOULD",
        title="one-sided fields reported",
        text=(
            "A conversion that cannot carry a one-sided field holding a non-default value "
            "reports it (warning or error) rather than dropping it silently."
        ),
        source="issue 2",
    ),
    Clause(
        id="CFG-010",
        level="MUST",
        title="wrong types rejected",
        text=(
            "A config field given a value of the wrong type (a string for a number, a float "
            "for an integer count, a number for a name) is rejected when built, not coerced."
        ),
        source="issue 2",
    ),
)
