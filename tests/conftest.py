"""Hypothesis profiles for the project's own tests.

``ci`` (the default): derandomised, no deadline, so a run is reproducible on a
noisy shared machine. ``thorough``: many more examples, random seeds. Pick one
with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, settings

from conformance.properties.agc.sync import HOST_READS

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Spy on :data:`HOST_READS`; the returned list names each one called during the test."""
    calls: list[str] = []
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def spy(
            self: torch.Tensor, *a: Any, _name: str = name, _orig: Any = original, **k: Any
        ) -> Any:
            calls.append(_name)
            return _orig(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, spy)
    return calls
