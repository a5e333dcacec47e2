"""The catalogue of known AGC variants (spec.variants) and the diagnosis that fits a target to it
(conformance.diagnose): each variant, written plainly in torch (faulty/agc_variants.py), is
named as itself; the plan's implementations as the plan; a target that is none of them as none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faithful import agc as faithful_agc
from faulty import agc_variants

import impl
from conformance._internal.wire import decode, encode
from conformance.diagnose import PROBES, Diagnosis, fits, fitting
from conformance.framework import Targets
from conformance.judge import run_conformance
from conformance.properties.agc._acts import act_once
from spec.reference import agc_reference
from spec.variants import (
    AXES,
    CATALOGUE,
    PLAN,
    PLAN_RULE,
    Behaviour,
    behaviour,
    behaviours,
    variant_reference,
)

VARIANTS_FILE = Path(__file__).resolve().parent / "faulty" / "agc_variants.py"


def observe(agc: Callable[..., None]) -> list[tuple[Any, Any]]:
    """What a worker would send back for each probe (the act, through the wire format)."""
    out = []
    for _, case in PROBES:
        seen = act_once(Targets(agc=agc), case)
        out.append((case, decode(*encode(seen))))
    return out


def simplest(agc: Callable[..., None]) -> list[Behaviour]:
    alive = fitting(observe(agc))
    return [b for b in alive if len(b.deviations) == len(alive[0].deviations)] if alive else []


# --- the catalogue ------------------------------------------------------------------------------


def test_catalogue_entries_are_named_described_and_sourced() -> None:
    names = [v.name for v in (*CATALOGUE, *PLAN_RULE)]
    assert len(names) == len(set(names))
    assert tuple(v.axis for v in PLAN_RULE) == AXES
    for v in CATALOGUE:
        assert v.axis in AXES and v.label and v.description and v.seen_in, v
    assert set(v.axis for v in CATALOGUE) == set(AXES)


def test_behaviours_start_with_the_plan_and_combine_one_choice_per_axis() -> None:
    every = behaviours()
    per_axis = [1 + sum(v.axis == a for v in CATALOGUE) for a in AXES]
    assert len(every) == int(np.prod(per_axis))
    assert every[0] == PLAN and PLAN.describe() == "the plan's rule"
    counts = [len(b.deviations) for b in every]
    assert counts == sorted(counts)


def test_behaviour_refuses_unknown_names_and_two_choices_on_one_axis() -> None:
    with pytest.raises(ValueError, match="no AGC variant named 'per_row'"):
        behaviour("per_row")
    with pytest.raises(ValueError, match="both on the units axis"):
        behaviour("per_tensor", "units_dim1")


def test_the_plan_behaviour_is_the_plan_reference() -> None:
    rng = np.random.default_rng(7)
    for shape in [(), (3,), (2, 3), (3, 2, 2), (2, 2, 2, 3)]:
        w = rng.normal(size=shape) * 10.0 ** rng.integers(-5, 2)
        g = rng.normal(size=shape) * 10.0 ** rng.integers(-7, 1)
        for eps in (1e-3, 1e-6):
            want, _ = agc_reference([w], [g], 0.01, eps)
            got, _ = variant_reference([w], [g], 0.01, eps, PLAN)
            np.testing.assert_array_equal(got[0], want[0])


def test_issue_example_by_hand() -> None:
    """A zero weight and a gradient of norm 1.01e-5: the plan clips to 1e-5; per-tensor with
    eps added to both norms gives 1e-5 * 1.01e-5 / (1.01e-5 + 1e-3), about 1e-7."""
    w, g = [np.zeros(2)], [np.array([1.01e-5, 0.0])]
    issue = behaviour("per_tensor", "bound_eps_added", "scale_eps_added")
    plan, _ = variant_reference(w, g, 0.01, 1e-3, PLAN)
    theirs, _ = variant_reference(w, g, 0.01, 1e-3, issue)
    assert plan[0][0] == pytest.approx(1e-5, rel=1e-12)
    assert theirs[0][0] == pytest.approx(1.01e-5 * 1e-5 / (1.01e-5 + 1e-3), rel=1e-12)


def test_half_norms_overflow_in_float16_only() -> None:
    w, g = [np.array([300.0, 0.0])], [np.array([400.0, 0.0])]
    rule = behaviour("half_norms")
    half, _ = variant_reference(w, g, 0.01, 1e-3, rule, ["float16"])
    wide, _ = variant_reference(w, g, 0.01, 1e-3, rule, ["float32"])
    assert half[0].tolist() == [400.0, 0.0]  # ||W||^2 = 9e4 > 65504: bound inf, no clip
    assert wide[0].tolist() == pytest.approx([3.0, 0.0])


# --- the fit, on the probes -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(agc_variants.VARIANTS))
def test_each_variant_is_named_as_itself(name: str) -> None:
    target, expected = agc_variants.VARIANTS[name]
    assert [b.names for b in simplest(target)] == [expected]


@pytest.mark.parametrize(
    "agc",
    [impl.adaptive_gradient_clip_, faithful_agc.adaptive_gradient_clip_],
    ids=["impl", "faithful"],
)
def test_the_plan_implementations_fit_the_plan(agc: Callable[..., None]) -> None:
    assert simplest(agc) == [PLAN]


def test_a_target_of_no_known_variant_fits_none() -> None:
    assert simplest(agc_variants.NONE) == []


def test_untouched_gradients_do_not_fit_the_plan() -> None:
    _, case = PROBES[0]
    params = case.make_params()
    assert not fits(PLAN, case, {"params": [{"grad": p.grad} for p in params]})
    assert not fits(PLAN, case, {"params": []})  # a malformed observation fits nothing


def test_diagnosis_lines() -> None:
    issue = behaviour("per_tensor", "bound_eps_added", "scale_eps_added")
    checked = ("AGC-002 (agc.default_axis_is_dim0)", "AGC-005 (x)", "probe: rank 2")
    line = Diagnosis((issue,), checked).line()
    assert line == (
        "per-tensor norms; bound λ·(‖W‖ + ε); scale T / (‖G‖ + ε) (fitted on the "
        "counterexamples of AGC-002, AGC-005 and 1 probe case (rank 2))"
    )
    assert Diagnosis((), checked).line().startswith("none of the known AGC variants")
    assert Diagnosis((PLAN,), checked).line().startswith("the plan's rule")


# --- through a run: the report's line ---------------------------------------------------------


def test_report_names_the_issue_example(tmp_path: Path) -> None:
    report = run_conformance({"agc": f"{VARIANTS_FILE}:issue_example"}, clauses=["AGC-0*"])
    assert report.exit_status == 1
    assert report.behaves_like is not None
    assert report.behaves_like.startswith(
        "per-tensor norms; bound λ·(‖W‖ + ε); scale T / (‖G‖ + ε) (fitted on the counterexamples"
    )
    text = report.to_text().splitlines()
    line = next(i for i, t in enumerate(text) if t.startswith("agc behaves like: per-tensor"))
    assert line < next(i for i, t in enumerate(text) if t.startswith("ROOT CAUSES"))
    assert json.loads(report.to_json())["behaves_like"] == report.behaves_like


def test_report_of_a_target_matching_none() -> None:
    report = run_conformance({"agc": f"{VARIANTS_FILE}:half_bound"}, clauses=["AGC-0*"])
    assert report.exit_status == 1
    assert report.behaves_like is not None
    assert report.behaves_like.startswith("none of the known AGC variants")


def test_conforming_targets_get_no_diagnosis() -> None:
    report = run_conformance({"agc": "impl:adaptive_gradient_clip_"}, clauses=["AGC-0*"])
    assert report.exit_status == 0 and report.behaves_like is None
    assert "behaves like" not in report.to_text()
    assert json.loads(report.to_json())["behaves_like"] is None
