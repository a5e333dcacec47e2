"""Near misses of the enumerated names (issue 18): derived from each value set, drawn beside the
random names, and a Literal / Enum annotation that is not exactly the plan's set is a finding.

The faults (faulty/near_miss_faults.py) each accept a near miss but refuse random names; each
must fail its clause and no other at plan level (or under --strict for the strict clauses),
while the faithful implementations and the bundled one keep passing.
"""

from __future__ import annotations

import enum
import typing
from typing import Any, Literal

import pytest
from faulty.near_miss_faults import FAULTS, STRICT_FAULTS
from hypothesis import find, given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import spec
from conformance.judge import run_conformance
from conformance.strategies.near_miss import (
    SYNONYMS,
    annotated_values,
    derived,
    names_beside,
    near_misses,
)
from spec import vocabulary

VOCABULARY = {
    name: value
    for name, value in vars(vocabulary).items()
    if name.isupper() and isinstance(value, tuple)
}
FAITHFUL = {
    "tf_config": "faithful.configs:TFTrainingConfig",
    "torch_config": "faithful.configs:TorchTrainingConfig",
    "bridge": "faithful.configs",
    "registry": "faithful.registry:resolve_generator",
    "model_config": "faithful.registry:ModelConfig",
    "clip": "faithful.clipping:clip_gradients_",
    "block": "faithful.layers:StablePtychoBlock",
}
"""The faithful targets of every role with a near-miss property."""
CLAUSES = ["CFG-*", "REG-003", "REG-005", "REG-009", "AGC-030", "BLK-010"]


# --- the near misses themselves ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_near_misses_are_outside_the_set_and_stable(name: str) -> None:
    allowed = VOCABULARY[name]
    misses = near_misses(allowed)
    assert misses and not set(misses) & set(allowed)
    assert len(set(misses)) == len(misses)
    assert misses == near_misses(allowed)  # deterministic
    assert [len(m) for m in misses] == sorted(len(m) for m in misses)  # simplest first
    for value in allowed:  # each kind of variant, built here by hand
        for variant in (value.upper(), " " + value, value + " ", value + "s"):
            assert variant in misses or variant in allowed, (name, variant)


def test_every_set_of_the_vocabulary_has_synonyms() -> None:
    assert set(SYNONYMS) <= set(VOCABULARY)
    for name in ("CLIP_ALGORITHMS", "OPTIMIZER_NAMES", "LOSS_FUNCTIONS", "BUILTIN_ARCHITECTURES",
                 "STABLE_INITS", "GRADIENT_DTYPES"):  # fmt: skip
        assert SYNONYMS[name], name
        assert set(SYNONYMS[name]) <= set(near_misses(VOCABULARY[name])), name


def test_the_issue_s_near_misses_are_drawn() -> None:
    clip = near_misses(spec.CLIP_ALGORITHMS)
    for miss in ("none", "off", "auto", "adaptive", "AGC", " norm", "unitwise", "l2", ""):
        assert miss in clip, miss
    assert {"adam_w", "SGD"} <= set(near_misses(spec.OPTIMIZER_NAMES))
    assert {"stable-hybrid", "stablehybrid", "Hybrid", "default"} <= set(
        near_misses(spec.BUILTIN_ARCHITECTURES)
    )
    assert {"zero-gamma", "layer_scale", "identity"} <= set(near_misses(spec.STABLE_INITS))
    assert {"float_32", "fp16", "half"} <= set(near_misses(spec.GRADIENT_DTYPES))


def test_derived_variants_of_a_separated_name() -> None:
    got = derived("stable_hybrid")
    for want in ("Stable_Hybrid", "stable-hybrid", "stable hybrid", "stableHybrid",
                 "StableHybrid", "stable", "hybrid", "hybrid_stable", "stable_hybri"):  # fmt: skip
        assert want in got, want


def test_near_misses_shrink_to_the_simplest() -> None:
    """Among the draws a predicate accepts, Hypothesis shrinks to the shortest near miss."""
    strategy = names_beside(spec.CLIP_ALGORITHMS, st.integers())
    folded = find(strategy, lambda v: isinstance(v, str) and v.strip().lower() in {"agc"})
    assert folded == "AGC"
    anything = find(strategy, lambda v: isinstance(v, str))
    assert anything == ""


def test_draws_are_the_same_under_a_seed() -> None:
    def draws() -> list[Any]:
        seen: list[Any] = []

        @seed(7)
        @settings(max_examples=40, database=None, derandomize=False)
        @given(names_beside(spec.CLIP_ALGORITHMS, st.text(max_size=4)))
        def collect(value: Any) -> None:
            seen.append(value)

        collect()
        return seen

    first = draws()
    assert first == draws()
    assert any(v in near_misses(spec.CLIP_ALGORITHMS) for v in first)
    assert not set(first) & set(spec.CLIP_ALGORITHMS)


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        (spec.TorchTrainingConfig, "gradient_clip_algorithm", "CLIP_ALGORITHMS"),
        (spec.TFTrainingConfig, "gradient_clip_algorithm", "CLIP_ALGORITHMS"),
        (spec.TorchTrainingConfig, "optimizer", "OPTIMIZER_NAMES"),
        (spec.TFTrainingConfig, "optimizer", "OPTIMIZER_NAMES"),
        (spec.TorchTrainingConfig, "loss_function", "LOSS_FUNCTIONS"),
        (spec.ModelConfig, "stable_init", "STABLE_INITS"),
        (spec.ModelConfig, "architecture", "BUILTIN_ARCHITECTURES"),
        (spec.DataConfig, "objects", "OBJECT_KINDS"),
        (spec.DataConfig, "probe", "PROBE_KINDS"),
    ],
)
def test_the_contract_models_refuse_every_near_miss(model: Any, field: str, values: str) -> None:
    for miss in near_misses(VOCABULARY[values]):
        with pytest.raises(ValidationError):
            model(**{field: miss})


# --- reading annotations ------------------------------------------------------------------------


class _Four(str, enum.Enum):
    A = "norm"
    B = "value"
    C = "agc"
    D = "auto"


@pytest.mark.parametrize(
    ("annotation", "literal", "none"),
    [
        (Literal["norm", "value", "agc"], ["norm", "value", "agc"], False),
        (typing.Optional[Literal["norm", "value"]], ["norm", "value"], True),  # noqa: UP045
        (Literal["norm"] | None, ["norm"], True),
        (typing.Annotated[Literal["agc"], "doc"], ["agc"], False),
        (_Four, ["norm", "value", "agc", "auto"], False),
        (Literal["norm", "value", "agc"] | str, None, False),
        (str, None, False),
        (str | None, None, True),
        (None, None, False),
    ],
)
def test_annotated_values(annotation: Any, literal: list[str] | None, none: bool) -> None:
    assert annotated_values(annotation) == {"literal": literal, "none": none}


# --- the faults and the calibration -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_near_miss_fault_fails_its_clause_at_plan_level(name: str) -> None:
    replaced, expected = FAULTS[name]
    report = run_conformance({**FAITHFUL, **replaced}, clauses=CLAUSES, profile="quick")
    assert set(report.failing_clauses()) == expected, [
        (r.property, r.message[:300]) for r in report.results if r.counts(False)
    ]
    assert report.exit_status == 1


@pytest.mark.parametrize("name", sorted(STRICT_FAULTS))
def test_each_strict_near_miss_fault_fails_its_clause_under_strict(name: str) -> None:
    """Replacing one role of the bundled implementation (which passes every clause)."""
    replaced, expected = STRICT_FAULTS[name]
    report = run_conformance(replaced, clauses=CLAUSES, profile="quick", strict=True)
    assert {r.clause for r in report.results if r.bad} == expected, [
        (r.property, r.message[:300]) for r in report.results if r.bad
    ]


@pytest.mark.parametrize("run_seed", [0, 1, 2])
def test_faithful_targets_conform_to_the_plan(run_seed: int) -> None:
    report = run_conformance(FAITHFUL, clauses=CLAUSES, profile="quick", seed=run_seed)
    assert report.failing_clauses() == [], [
        (r.property, r.message[:300]) for r in report.results if r.counts(False)
    ]


def test_bundled_passes_every_near_miss_property_under_strict() -> None:
    report = run_conformance({}, clauses=CLAUSES, profile="quick", strict=True)
    assert {r.status for r in report.results} == {"passed"}, [
        (r.property, r.message[:300]) for r in report.results if r.bad
    ]
    ran = {r.property: r.examples for r in report.results}
    assert ran["blocks.bad_init_rejected"] >= len(near_misses(spec.STABLE_INITS))
    assert ran["agc.unknown_algorithm_rejected"] >= len(near_misses(spec.CLIP_ALGORITHMS))
