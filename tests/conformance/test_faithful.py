"""Calibration: the harness never calls a faithful implementation wrong, nor a mutant right.

- Every role written the plain way from the plan (faithful/) conforms to the plan on 20
  seeds of the quick profile, and under --strict fails exactly the hardening it lacks.
- Every one-line mutant of the faithful AGC (faulty/agc_mutants.py) is caught at the
  quick profile on a plan clause its faithful twin passes.
"""

from __future__ import annotations

import pytest
from faulty import agc_mutants

import spec
from conformance.judge import run_conformance
from conformance.report import Report

FAITHFUL = {
    "agc": "faithful.agc:adaptive_gradient_clip_",
    "clip": "faithful.clipping:clip_gradients_",
    "train_step": "faithful.clipping:training_step",
    "block": "faithful.layers:StablePtychoBlock",
    "generator": "faithful.layers:HybridUNOGenerator",
    "stable_generator": "faithful.layers:StableHybridGenerator",
    "spectral_conv": "faithful.layers:SpectralConv2d",
    "plain_block": "faithful.layers:PtychoBlock",
    "registry": "faithful.registry:resolve_generator",
    "register": "faithful.registry:register",
    "model_config": "faithful.registry:ModelConfig",
    "build_generator": "faithful.registry:build_generator",
    "tf_config": "faithful.configs:TFTrainingConfig",
    "torch_config": "faithful.configs:TorchTrainingConfig",
    "bridge": "faithful.configs",
}
"""One faithful target per role."""

PLAN = [c.id for c in spec.CLAUSES if c.family != "RUN" and c.level == "MUST" and c.tier == "plan"]
AGC_PLAN = [c for c in PLAN if c.startswith("AGC")]
SEEDS = range(20)

LACKS = {
    "CFG-008": "the lax Torch model ignores unknown keys",
    "CFG-009": "the bridge drops one-sided values silently (SHOULD)",
    "CFG-010": "lax and dataclass configs coerce or keep wrong types",
    "CFG-011": "the dataclass TF side refuses 'bogus' by annotation only",
    "CFG-012": "negative clip values are kept",
    "AGC-019": "no argument checks",
    "AGC-020": "sparse gradients are not refused",
    "AGC-025": "returns None, not a tensor count (SHOULD)",
    "AGC-030": "the plan's dispatch falls through on an unknown name",
    "AGC-032": "norms and factors in the working dtype",
    "AGC-034": "a single tensor is iterated over its rows",
    "TRN-005": "the step returns the loss only",
    "TRN-006": "the micro-batch count is not checked",
    "TRN-008": "the loss is read on the host (SHOULD)",
    "BLK-010": "no argument checks",
    "BLK-014": "no input checks",
    "BLK-016": "the modes are not capped on small grids",
    "BLK-017": "InstanceNorm2d rejects a 1x1 grid in training",
    "BLK-018": "the output layout is fixed to (real, imag)",
    "BLK-019": "cfloat weights: float32 inputs only",
    "REG-004": "register overwrites a taken name",
    "REG-005": "the model config takes any architecture string",
    "REG-009": "an unknown name raises ValueError",
    "REG-010": "the model config has no channel cap or stable init",
}
"""The hardening the faithful implementations lack: what --strict must report, and why."""


def _bad(report: Report) -> list[str]:
    return [f"{r.property}: {r.status}: {r.message[:400]}" for r in report.results if r.bad]


PLAN_ROLES = {r: t for r, t in FAITHFUL.items() if r != "register"}
"""The roles with a plan-tier property (registration, REG-004, is this project's API)."""


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_faithful_implementations_conform_to_the_plan(seed: int) -> None:
    report = run_conformance(PLAN_ROLES, seed=seed, clauses=PLAN)
    assert report.exit_status == 0, _bad(report)
    assert not _bad(report), "no plan-tier property of a faithful implementation may be bad"
    assert {r.clause for r in report.results} >= set(PLAN) - {"REG-006"}


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_the_paper_code_agc_conforms_to_the_plan(seed: int) -> None:
    """The paper's reference code floors the gradient norm at 1e-6: right at plan level."""
    report = run_conformance({"agc": "faithful.agc:paper_code_agc"}, seed=seed, clauses=AGC_PLAN)
    assert report.exit_status == 0, _bad(report)


def test_faithful_implementations_fail_strict_exactly_where_they_lack_hardening() -> None:
    report = run_conformance(FAITHFUL, strict=True)
    failing = set(report.failing_clauses())
    assert failing == set(LACKS), (sorted(failing - set(LACKS)), sorted(set(LACKS) - failing))
    for clause_id in failing:
        c = spec.clause(clause_id)
        assert c.tier == "strict", f"{clause_id} fails for a faithful implementation: plan tier"
    assert report.exit_status == 1
    default = run_conformance(FAITHFUL)
    assert default.exit_status == 0
    assert set(default.strict_failures()) | set(default.advisory_failures()) == set(LACKS)
    assert default.summary_line().split(": ", 2)[2].startswith("conforms to the plan; ")


def test_paper_code_agc_fails_only_strict_clauses() -> None:
    report = run_conformance({"agc": "faithful.agc:paper_code_agc"}, strict=True)
    assert set(report.failing_clauses()) == {
        "AGC-019",
        "AGC-020",
        "AGC-025",
        "AGC-032",
        "AGC-033",
        "AGC-034",
    }


@pytest.fixture(scope="module")
def twin_failing() -> set[str]:
    """The plan clauses the faithful twin of the mutants fails (none)."""
    report = run_conformance({"agc": FAITHFUL["agc"]}, clauses=AGC_PLAN)
    return set(report.failing_clauses())


@pytest.mark.parametrize("mutant", agc_mutants.MUTANTS, ids=lambda m: m.__name__)
def test_each_mutant_is_caught_at_quick(mutant: object, twin_failing: set[str]) -> None:
    name = getattr(mutant, "__name__", "")
    report = run_conformance({"agc": f"faulty.agc_mutants:{name}"}, profile="quick")
    caught = set(report.failing_clauses()) - twin_failing
    assert caught, f"{name} passes every plan clause at quick: {report.summary_line()}"
    assert report.exit_status == 1
    assert report.root_causes(), "the report names at least one root cause"
