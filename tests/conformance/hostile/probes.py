"""Small properties that exercise the runner itself, declared outside the harness's catalogue.

A worker finds them by importing this module (``Property.module``), as it finds the
harness's own properties in ``conformance.properties``.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from conformance.properties import Property, Targets

_flips = itertools.count()


def echo(targets: Targets, n: Any) -> Any:
    """Act: hand the example back (the target is not even called)."""
    return n


def spin(targets: Targets, n: Any) -> Any:
    """Act: a Python-level hang inside the worker."""
    while True:
        pass


def below_1000(n: int, seen: int) -> None:
    assert seen == n, f"the worker answered {seen!r} for {n!r}"
    assert n < 1000, f"{n} too big"


def anything(n: Any, seen: Any) -> None:
    """Decide: every example passes."""


def first_call_fails(n: Any, seen: Any) -> None:
    assert next(_flips) != 0, "fails on the first call only"


SHRINK = Property(
    "probes.shrink", "CFG-001", ("agc",), echo, below_1000, st.integers(0, 10**6), module=__name__
)
COUNT = Property(
    "probes.count", "CFG-001", ("agc",), echo, anything, st.integers(), module=__name__
)
CAPPED = Property(
    "probes.capped", "CFG-001", ("agc",), echo, anything, st.integers(), 7, module=__name__
)
ONCE = Property("probes.once", "CFG-001", ("agc",), echo, anything, None, module=__name__)
FLAKY = Property(
    "probes.flaky", "CFG-001", ("agc",), echo, first_call_fails, st.integers(0), module=__name__
)
SPIN = Property("probes.spin", "CFG-001", ("agc",), spin, anything, st.integers(), module=__name__)
