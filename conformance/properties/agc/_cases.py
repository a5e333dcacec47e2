"""The AGC properties' strategy adapters: the target's domain decides what may be drawn.

>>> from conformance.domain import Domain
>>> from conformance.properties.agc._cases import COMPLEX, HALF, of
>>> HALF, COMPLEX
(('float16', 'bfloat16'), ('complex64', 'complex128'))
>>> of(HALF, "half gradients")(Domain(dtypes=("float32",)))
NotApplicable(reason="half gradients (float16, bfloat16) are outside the target's domain")

The core rule is checked on float32 / float64 gradients of rank 0 to 3 (and, as explicit
examples, on tensors of 2**17 elements beside small ones: :func:`large`), so that a gap in
dtype or rank support cannot hide a rule bug; other dtypes and ranks have properties of
their own, ``not_applicable`` outside the target's domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.domain import Domain, NotApplicable
from conformance.strategies.tensors import LARGE_CASES, REAL, AGCCase, agc_cases
from spec.vocabulary import COMPLEX_DTYPES, HALF_DTYPES

__all__ = ["COMPLEX", "HALF", "Strategy", "large", "of", "real"]

Strategy = Callable[[Domain], Any]

HALF: tuple[str, ...] = HALF_DTYPES
"""The half-precision gradient dtypes (``spec.vocabulary.HALF_DTYPES``)."""
COMPLEX: tuple[str, ...] = COMPLEX_DTYPES
"""The complex gradient dtypes (``spec.vocabulary.COMPLEX_DTYPES``)."""


def real(**kw: Any) -> Strategy:
    """Core cases: float32 / float64 in the domain (not applicable if neither is)."""

    def make(domain: Domain) -> Any:
        dtypes = domain.only(REAL)
        if not dtypes:
            return NotApplicable("float32 and float64 are both outside the target's domain")
        if kw.get("min_rank", 0) > domain.max_rank:
            return NotApplicable(f"ranks >= {kw['min_rank']} are outside the target's domain")
        return agc_cases(dtypes, domain=domain, **kw)

    return make


def of(dtypes: tuple[str, ...], what: str, **kw: Any) -> Strategy:
    """Cases of these dtypes only, those in the domain (not applicable if none is)."""

    def make(domain: Domain) -> Any:
        inside = domain.only(dtypes)
        if not inside:
            return NotApplicable(f"{what} ({', '.join(dtypes)}) are outside the target's domain")
        return agc_cases(inside, domain=domain, **kw)

    return make


def large(domain: Domain) -> tuple[AGCCase, ...]:
    """The large explicit examples, where float32 and clip_factor 0.01 are in the domain."""
    if "float32" not in domain.dtypes or not domain.allows_clip_factor(0.01):
        return ()
    return tuple(
        c.with_params([p for p in c.params if p.ndim <= domain.max_rank]) for c in LARGE_CASES
    )
