"""Run profiles: how many examples each property gets, and how long it may take.

>>> from conformance.profiles import PROFILES, get_profile
>>> get_profile("quick").max_examples, get_profile("default").max_examples
(10, 40)
>>> sorted(PROFILES)
['default', 'quick', 'thorough']

Every profile is reproducible: Hypothesis runs with an explicit seed (derived
from ``--seed`` and the property id), no example database and no deadline, so
the same seed and profile give the same examples, hence the same report.
A property's own ``max_examples`` caps the profile's count (expensive checks).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "Profile", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """How hard to look: examples per property and the per-property time limit."""

    name: str
    max_examples: int
    """Examples per property (a property's own ``max_examples`` lowers it)."""
    time_limit: float
    """Seconds one property may run (generation and shrinking) before it is an error."""
    description: str = ""
    shrink: bool = True
    """Shrink a failing example to a minimal one (off: report the first failing example)."""

    def examples_for(self, cap: int | None) -> int:
        """The example count for a property whose own cap is ``cap`` (None: no cap).

        >>> get_profile("default").examples_for(15), get_profile("default").examples_for(None)
        (15, 40)
        """
        return self.max_examples if cap is None else max(1, min(self.max_examples, cap))


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("quick", 10, 60.0, "CI smoke check: 10 examples per property"),
        Profile("default", 40, 120.0, "40 examples per property"),
        Profile("thorough", 400, 600.0, "400 examples per property, for a release"),
    )
}
"""The named profiles, cheapest first."""


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ValueError listing the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: use one of {', '.join(PROFILES)}") from None
