"""Run the block, generator and registry conformance properties against impl, and against
the faulty implementations in faulty, each of which must fail its intended clause.

Each property runs through the harness's runner (:func:`conformance.judge.run_property`),
with the bundled implementation as the targets.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from faulty import blocks_faults, registry_faults
from hypothesis import settings

import impl
from conformance.judge import run_property as harness_run_property
from conformance.profiles import Profile
from conformance.properties import PROPERTIES, Property, Targets

MINE = [
    p
    for p in PROPERTIES
    if p.home.endswith(("blocks.block", "blocks.generator", "registry.lookup"))
]
BY_ID = {p.id: p for p in MINE}


def impl_targets(**replace: Any) -> Targets:
    roles = {
        "block": impl.StablePtychoBlock,
        "generator": impl.HybridUNOGenerator,
        "stable_generator": impl.StableHybridGenerator,
        "registry": impl.resolve_generator,
    }
    return Targets(**{**roles, **replace})


def run(
    prop: Property, targets: Targets, max_examples: int | None = None, shrink: bool = True
) -> None:
    """Check ``prop`` through the harness's runner; raises the property's AssertionError
    (shrunk if ``shrink``) on a violation, PropertyError on an error."""
    limit = min(settings.default.max_examples, max_examples or 10**9)
    profile = Profile("tests", limit, time_limit=300.0, shrink=shrink)
    harness_run_property(prop, targets, profile).raise_for_status()


def test_every_blk_and_reg_must_clause_is_checked() -> None:
    """Every BLK/REG MUST clause has a property here or a named test in tests/ (grep ids)."""
    import spec

    by_property = {p.clause for p in MINE}
    unit_tested = {
        "BLK-001",
        "BLK-002",
        "BLK-003",
        "BLK-005",
        "REG-004",
        "REG-005",
        "REG-006",
        "REG-008",
        "BLK-016",
        "BLK-019",
        "REG-010",
    }
    must = {c.id for c in spec.CLAUSES if c.family in ("BLK", "REG") and c.level == "MUST"}
    assert must - by_property - unit_tested == set()


@pytest.mark.parametrize("prop", MINE, ids=lambda p: f"{p.clause}:{p.id}")
def test_property_holds_for_impl(prop: Property) -> None:
    run(prop, impl_targets(), max_examples=15)


FAULTS = [
    ("blocks.identity_at_init", {"block": blocks_faults.UnitGammaStableBlock}),
    ("blocks.zero_mean_update", {"block": blocks_faults.BatchNormStableBlock}),
    ("blocks.zero_mean_update", {"block": blocks_faults.UnnormalisedStableBlock}),
    ("blocks.zero_mean_update", {"block": impl.PtychoBlock}),
    ("blocks.identity_at_init", {"block": impl.PtychoBlock}),
    ("blocks.trainable_from_init", {"block": blocks_faults.FrozenStableBlock}),
    ("blocks.stable_block_form", {"block": blocks_faults.SubtractingStableBlock}),
    ("blocks.stable_block_form", {"block": blocks_faults.GelulessStableBlock}),
    ("blocks.layerscale_near_identity", {"block": blocks_faults.UngatedLayerscaleBlock}),
    ("blocks.output_shape", {"generator": blocks_faults.ChannelsFirstGenerator}),
    (
        "blocks.stable_is_plain_but_for_the_block",
        {"stable_generator": blocks_faults.PartlyStableGenerator},
    ),
    (
        "blocks.stable_is_plain_but_for_the_block",
        {"stable_generator": blocks_faults.ExtraDropoutStableGenerator},
    ),
    (
        "blocks.stable_is_plain_but_for_the_block",
        {"stable_generator": impl.HybridUNOGenerator},
    ),
    ("blocks.bad_input_rejected", {"generator": blocks_faults.UncheckedGenerator}),
    ("blocks.every_parameter_used", {"generator": blocks_faults.SkippedBottleneckGenerator}),
    ("registry.builtins_resolve", {"registry": registry_faults.one_class_for_both}),
    (
        "registry.stable_hybrid_resolves_to_stable_blocks",
        {"registry": registry_faults.hybrid_for_stable},
    ),
    ("registry.unknown_name_refused", {"registry": registry_faults.silent_fallback}),
    ("registry.unknown_name_rejected", {"registry": registry_faults.unlisted_key_error}),
]


@pytest.mark.parametrize(
    ("prop_id", "fault"), FAULTS, ids=[f"{p}-{next(iter(f.values())).__name__}" for p, f in FAULTS]
)
def test_property_fails_the_fault(prop_id: str, fault: dict[str, Any]) -> None:
    """Each faulty target fails the property of its clause with an AssertionError."""
    with pytest.raises(AssertionError):
        run(BY_ID[prop_id], impl_targets(**fault), max_examples=15, shrink=False)


@pytest.mark.parametrize(
    "fault",
    [
        blocks_faults.UnitGammaStableBlock,
        blocks_faults.BatchNormStableBlock,
        blocks_faults.FrozenStableBlock,
    ],
    ids=lambda f: f.__name__,
)
def test_faults_only_break_their_own_clause(fault: type[torch.nn.Module]) -> None:
    """The faulty blocks keep their shape (BLK-006): the failures above are not side effects."""
    run(BY_ID["blocks.forward_shape"], impl_targets(block=fault), max_examples=10)


@pytest.mark.parametrize(
    "fault",
    [blocks_faults.SubtractingStableBlock, blocks_faults.GelulessStableBlock],
    ids=lambda f: f.__name__,
)
def test_only_the_form_catches_a_wrong_formula(fault: type[torch.nn.Module]) -> None:
    """A formula other than Task 2.1's that is still the identity at init, centred and
    trainable passes BLK-007, BLK-008 and BLK-011: BLK-020 is the clause that sees it."""
    for pid in ("blocks.identity_at_init", "blocks.zero_mean_update", "blocks.trainable_from_init"):
        run(BY_ID[pid], impl_targets(block=fault), max_examples=10)
