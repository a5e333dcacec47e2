"""CFG clauses: the training/model configuration contract (plan task 1.1)."""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_11 = "implementation-plan.md, Task 1.1"
_NOTES = "field-notes.md, upstream system"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="CFG-001",
        level="MUST",
        tier="plan",
        why=("Task 1.1 adds this field with these three values on both sides."),
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
        tier="plan",
        why=("Task 1.1 gives the field the default 'norm'."),
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
        tier="plan",
        why=(
            "Task 1.1 types the field Literal['norm', 'value', 'agc']: an unknown value is refused"
            " by that annotation (a type checker) or when the config is built."
        ),
        title="unknown clip algorithm rejected",
        text=(
            "A `gradient_clip_algorithm` outside the allowed set is refused: the field is "
            "annotated Literal['norm', 'value', 'agc'] (exactly these values), or building the "
            "config raises."
        ),
        source=_NOTES + " (Torch side typed plain str: 'bogus' reached the loop unclipped)",
    ),
    Clause(
        id="CFG-004",
        level="MUST",
        tier="plan",
        why=(
            "Task 1.1 and the upstream runner: the value is optional, and None or <= 0 means no "
            "clipping."
        ),
        title="clip value accepted",
        text=(
            "`gradient_clip_val` accepts None, 0 and every finite float > 0 on both sides and "
            "keeps the value (None or 0 disables clipping)."
        ),
        source=_NOTES + " (gradient_clip_val: Optional[float] = None; <= 0 means no clipping)",
    ),
    Clause(
        id="CFG-005",
        level="MUST",
        tier="plan",
        why=("Task 1.1 threads the field through the bridge."),
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
        tier="plan",
        why=(
            "The bridge converts configs both ways; a round trip that loses a shared field changes"
            " the run."
        ),
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
        tier="strict",
        why=(
            "The plan adds only the clipping fields; equal defaults for every other shared field "
            "are this project's contract."
        ),
        title="shared defaults agree",
        text="Every field the two sides share has the same default value on both sides.",
        source=_PLAN_11 + " (default preserves behaviour on both backends)",
    ),
    Clause(
        id="CFG-008",
        level="MUST",
        tier="strict",
        why=(
            "The plan does not ask for it, and a Pydantic model in its default mode ignores "
            "unknown keys."
        ),
        title="unknown keys rejected",
        text="A config given a key that is not one of its fields is rejected when built.",
        source="issue 2 (extra='forbid')",
    ),
    Clause(
        id="CFG-009",
        level="SHOULD",
        tier="strict",
        why=("The plan asks only that the shared fields are carried."),
        title="one-sided fields reported",
        text=(
            "A conversion that cannot carry a one-sided field holding a non-default value "
            "reports it (a warning or an error naming the field) rather than dropping it "
            "silently; a config at its defaults converts without a report."
        ),
        source="issue 2",
    ),
    Clause(
        id="CFG-010",
        level="MUST",
        tier="strict",
        why=(
            "Strict typing: a Pydantic model in its default (lax) mode turns '1.0' into 1.0, which"
            " the plan does not forbid."
        ),
        title="wrong types rejected",
        text=(
            "A config field given a value of the wrong type (a string for a number, a float "
            "for an integer count, a number for a name) is rejected when built, not coerced."
        ),
        source="issue 2",
    ),
    Clause(
        id="CFG-011",
        level="MUST",
        tier="strict",
        why=(
            "Run-time validation and its message are hardening: the plan's dataclass configs carry "
            "the Literal annotation only."
        ),
        title="unknown clip algorithm rejected at run time",
        text=(
            "Building a config with a `gradient_clip_algorithm` outside 'norm', 'value' and 'agc' "
            "raises, with an error naming the field, the value and the allowed values."
        ),
        source="issue 11 (run-time half of CFG-003)",
    ),
    Clause(
        id="CFG-012",
        level="MUST",
        tier="strict",
        why=(
            "The upstream runner treats these values as 'no clipping'; refusing them is this "
            "project's hardening."
        ),
        title="clip value: negative, NaN and infinite rejected",
        text=(
            "Building a config with a `gradient_clip_val` that is negative, NaN or infinite raises."
        ),
        source="issue 11 (rejection half of CFG-004)",
    ),
)
