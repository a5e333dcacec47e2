"""The properties' assertion helpers (conformance/properties/_assertions.py): they pass within
tolerance, fail on a near miss, and their message carries what was compared, the worst entry
(index, got, expected, difference, tolerance) and a short view of the arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conformance.properties._assertions import (
    assert_at_most,
    assert_bitwise,
    assert_close,
    assert_rows_close,
    brief,
    worst,
)


def test_close_passes_within_tolerance_and_on_equal_infinities() -> None:
    want = np.array([1.0, -2.0, 3.0])
    assert_close(want + np.array([1e-7, -1e-7, 0.0]), want, 1e-6, "grad")
    assert_close(np.array([np.inf, 1.0]), np.array([np.inf, 1.0]), 0.0, "grad")
    assert_close(2.0 + 4e-7, 2.0, np.float64(5e-7), "norm")


def test_close_fails_on_a_near_miss_naming_the_worst_entry() -> None:
    want = np.zeros((2, 3))
    got = want.copy()
    got[0, 1] = 1.5e-6  # just outside
    got[1, 2] = 4.0e-6  # the worst
    with pytest.raises(AssertionError) as caught:
        assert_close(got, want, 1e-6, "param 3 vs its rows", "Case(x=1)")
    text = str(caught.value)
    assert text.startswith("param 3 vs its rows: worst entry [1, 2]: got 4e-06, expected 0.0, ")
    assert "difference 4e-06, tolerance 1e-06" in text
    assert "got [0, 1.5e-06, 0, 0, 0, 4e-06], expected [0, 0, 0, 0, 0, 0]" in text
    assert text.endswith("; case 'Case(x=1)'")


def test_close_per_entry_tolerances() -> None:
    got, want = np.array([1.1, 2.1]), np.array([1.0, 2.0])
    assert_close(got, want, np.array([0.2, 0.2]), "x")
    with pytest.raises(AssertionError, match=r"worst entry \[0\]: got 1.1, expected 1.0"):
        assert_close(got, want, np.array([0.05, 0.2]), "x")


def test_close_fails_on_nan_and_on_a_shape_mismatch() -> None:
    with pytest.raises(AssertionError, match=r"worst entry \[1\]: got nan, expected 2.0"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]), 1.0, "x")
    with pytest.raises(AssertionError, match=r"x: got shape \(2,\), expected \(3,\)"):
        assert_close(np.ones(2), np.ones(3), 1.0, "x")


def test_worst_is_none_when_everything_holds() -> None:
    assert worst(np.ones(4), np.ones(4), 0.0) is None
    found = worst(np.array([1.0, 1.3, 1.2]), np.ones(3), 0.1)
    assert found is not None
    assert (found.index, found.got, found.expected) == ((1,), 1.3, 1.0)
    assert found.difference == pytest.approx(0.3) and found.tolerance == 0.1


def test_rows_close_reports_the_first_bad_unit_outside_skip() -> None:
    want = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    got = want + np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.7]])
    allowed = np.full_like(want, 0.1)
    ratios = np.array([0.5, 1.0, 2.0])
    skip = np.array([False, True, False])
    with pytest.raises(AssertionError) as caught:
        assert_rows_close("param 0", got, want, allowed, skip, "C", ratios)
    text = str(caught.value)
    assert text.startswith("param 0 unit 2 (ratio 2): worst entry [1]: got 3.7, expected 3.0")
    assert_rows_close("param 0", got, want, allowed, np.array([False, True, True]), "C")


def test_at_most_is_a_bound() -> None:
    assert_at_most(np.array([0.5, 1.0, np.nan]), 1.0, "|G|")
    with pytest.raises(AssertionError) as caught:
        assert_at_most(np.array([0.5, 1.25, 1.1]), np.ones(3), "|G| after vs before")
    text = str(caught.value)
    assert "worst entry [1]: got 1.25, at most 1.0, difference 0.25" in text
    assert "at most [1, 1, 1]" in text


def test_bitwise_sees_signed_zeros_and_nan_payloads() -> None:
    nan = torch.tensor([1.0, float("nan")])
    assert_bitwise(nan.clone(), nan, "g")
    with pytest.raises(AssertionError, match=r"g: worst entry \[0\]: got 0.0, expected -0.0"):
        assert_bitwise(torch.tensor([0.0, 2.0]), torch.tensor([-0.0, 2.0]), "g")
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16)
    b = a.clone()
    b[2] = 3.015625  # one bfloat16 ulp away
    with pytest.raises(AssertionError) as caught:
        assert_bitwise(a, b, "unit 0", "Case()")
    text = str(caught.value)
    assert "worst entry [2]: got 3.0, expected 3.015625" in text and "(bitwise)" in text
    assert text.endswith("; case 'Case()'")


def test_bitwise_complex_index_and_type_mismatches() -> None:
    a = torch.tensor([[1 + 1j, 2 + 0j]], dtype=torch.complex64)
    b = a.clone()
    b[0, 1] = 2 + 1j
    with pytest.raises(AssertionError, match=r"worst entry \[0, 1\]: got \(2\+0j\)"):
        assert_bitwise(a, b, "c")
    with pytest.raises(AssertionError, match=r"expected torch\.float64"):
        assert_bitwise(torch.ones(2), torch.ones(2, dtype=torch.float64), "d")
    with pytest.raises(AssertionError, match="not a tensor"):
        assert_bitwise(None, torch.ones(2), "e")


def test_brief_is_short() -> None:
    assert brief(np.arange(3.0)) == "[0, 1, 2]"
    assert brief(np.arange(100.0)).endswith(", ... (100 values)]")
    assert len(brief(np.random.default_rng(0).normal(size=10_000))) < 120
