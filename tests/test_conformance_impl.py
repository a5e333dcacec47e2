"""The bundled implementation passes every clause under the quick profile (what CI runs)."""

from __future__ import annotations

from conformance.runner import run_conformance
from conformance.targets import DEFAULT_TARGETS


def test_bundled_impl_passes_every_property_quick() -> None:
    report = run_conformance(None, profile="quick")
    assert report.unavailable == {}, f"defaults missing from impl: {report.unavailable}"
    assert set(report.targets) == set(DEFAULT_TARGETS)
    bad = [(r.property, r.status, r.message[:300]) for r in report.results if r.status != "passed"]
    assert not bad, bad
    assert report.exit_status == 0
