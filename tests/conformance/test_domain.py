"""Domains: what a target declares it supports (or the command line narrows) is checked, the
rest is not applicable; a gap in dtype or rank support never hides a rule bug."""

from __future__ import annotations

import pytest

from conformance.domain import Domain, DomainError
from conformance.judge import run_conformance
from conformance.targets import TargetError


def statuses(report: object) -> dict[str, str]:
    return {r.property: r.status for r in report.results}  # type: ignore[attr-defined]


def test_a_declared_domain_makes_the_rest_not_applicable() -> None:
    report = run_conformance({"agc": "faithful.narrow:real_agc"})
    status = statuses(report)
    for pid in (
        "agc.complex_modulus",
        "agc.clipped_units_on_bound_half",
        "agc.matches_reference_half",
        "agc.half_precision_accuracy",
        "agc.unclipped_units_bitwise_other_dtypes",
        "agc.default_axis_high_ranks",
    ):
        assert status[pid] == "not_applicable", (pid, status[pid])
    assert status["agc.unit_rule"] == status["agc.dtype_kept"] == "passed"
    assert report.failing_clauses() == [] and report.exit_status == 0
    assert report.resolved["agc"]["domain"] == repr(
        {"dtypes": ["float32", "float64"], "max_rank": 3}
    )
    why = next(r.message for r in report.results if r.property == "agc.complex_modulus")
    assert "complex gradients" in why and "outside the target's domain" in why


def test_the_same_target_undeclared_errors_only_outside_its_support() -> None:
    few = ["AGC-001", "AGC-002", "AGC-015", "AGC-016"]
    report = run_conformance({"agc": "faithful.narrow:undeclared_real_agc"}, clauses=few)
    bad = {r.property for r in report.results if r.bad}
    assert "agc.unit_rule" not in bad and "agc.default_axis_is_dim0" not in bad
    assert {"agc.complex_modulus", "agc.dtype_kept"} <= bad
    narrowed = run_conformance(
        {"agc": "faithful.narrow:undeclared_real_agc"},
        clauses=few,
        domain=Domain(dtypes=("float32", "float64"), max_rank=3),
    )
    assert narrowed.exit_status == 0, narrowed.summary_line()


def test_a_dtype_gap_cannot_hide_a_rule_bug() -> None:
    """nfnets-pytorch's situation: wrong unit axis, no complex support. The axis bug shows on
    the core properties; complex support fails only its own."""
    report = run_conformance(
        {"agc": "faulty.agc_mutants:real_only_last_axis"},
        clauses=["AGC-001", "AGC-002", "AGC-008", "AGC-016"],
    )
    status = statuses(report)
    assert status["agc.default_axis_is_dim0"] == "failed"
    assert status["agc.complex_modulus"] == "error"
    assert "AGC-002" in report.root_causes()


def test_bad_declarations_and_narrowing_are_named() -> None:
    with pytest.raises(TargetError, match=r"dtypes \['float8'\]: allowed are"):
        run_conformance({"agc": "faithful.narrow:badly_declared"})
    with pytest.raises(DomainError, match="max_rank 9"):
        Domain.declared({"max_rank": 9})
    with pytest.raises(DomainError, match="unknown keys"):
        Domain.declared({"ranks": 2})
    with pytest.raises(DomainError, match="0 <= low < high"):
        Domain.declared({"clip_factor": "1:0.5"})


def test_clip_factor_domain_narrows_the_drawn_factors() -> None:
    """A target refusing factors above 0.5, declared: only factors inside are drawn."""
    report = run_conformance(
        {"agc": "faithful.narrow:small_factor_agc"}, clauses=["AGC-00*", "AGC-017", "AGC-033"]
    )
    assert {r.status for r in report.results} == {"passed"}, report.summary_line()


def test_extensions_are_checked_only_where_declared() -> None:
    """AGC-023 / AGC-024 (and AGC-038 for the dispatch) run for a target declaring the
    extensions (the bundled ones) and are not applicable, with the declaration to make, for one
    that does not (the faithful ones)."""
    extension_clauses = ["AGC-023", "AGC-024"]
    ours = statuses(
        run_conformance({"agc": "impl:adaptive_gradient_clip_"}, clauses=["AGC-02[34]"])
    )
    assert ours == {
        "agc.bad_unit_axes_rejected": "passed",
        "agc.error_if_nonfinite": "passed",
        "agc.module_unit_axes": "passed",
        "agc.unit_dim_callable": "passed",
        "agc.unit_dim_int": "passed",
        "agc.unit_dim_per_parameter": "passed",
    }
    stats = {"clip": "impl:clip_gradients_"}
    assert statuses(run_conformance(stats, clauses=["AGC-038"])) == {
        "agc.dispatch_statistics": "passed"
    }
    faithful = run_conformance({"clip": "faithful.clipping:clip_gradients_"}, clauses=["AGC-038"])
    assert [r.status for r in faithful.results] == ["not_applicable"]
    assert '{"extensions": ["statistics"]}' in faithful.results[0].message
    plain = run_conformance(
        {"agc": "faithful.agc:adaptive_gradient_clip_"}, clauses=extension_clauses
    )
    assert {r.status for r in plain.results} == {"not_applicable"}
    why = {r.property: r.message for r in plain.results}
    assert '{"extensions": ["unit_dim"]}' in why["agc.unit_dim_int"]
    assert '{"extensions": ["error_if_nonfinite"]}' in why["agc.error_if_nonfinite"]
    assert '{"extensions": ["module"]}' in why["agc.module_unit_axes"]
    assert '"unit_dim", "module"' in why["agc.bad_unit_axes_rejected"]


def test_extension_declarations_are_validated_and_joined() -> None:
    d = Domain.declared({"extensions": ["unit_dim", "error_if_nonfinite"]})
    assert d.extensions == ("error_if_nonfinite", "unit_dim")  # the order of EXTENSIONS
    assert Domain().narrow(d).extensions == d.extensions  # a declaration: either says so
    assert d.describe() == {"extensions": ["error_if_nonfinite", "unit_dim"]}
    with pytest.raises(DomainError, match=r"extensions \['foreach'\]: allowed are"):
        Domain.declared({"extensions": ["foreach"]})
    with pytest.raises(DomainError, match="must be a list of names"):
        Domain.declared({"extensions": "unit_dim"})
