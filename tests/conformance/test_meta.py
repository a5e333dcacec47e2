"""Meta-tests of the property catalogue: clause coverage, citations, rebuildable examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

import spec
from conformance.domain import EXTENSIONS, Domain
from conformance.properties import PROPERTIES, Property
from conformance.roles import ROLE_TABLE, ROLES, markdown_table

TESTS = Path(__file__).resolve().parents[1]
PROPERTY_FAMILIES = spec.clauses.CONFORMANCE_FAMILIES
BLACK_BOX_EXEMPT = {
    "REG-006": "a broken plugin needs an installed distribution: tests/test_registry.py",
    "TRN-009": "DDP / FSDP2 models on several ranks: tests/test_distributed_training.py",
}
"""MUST clauses no role can reach from outside; each must be named by a test instead."""


def test_every_must_clause_has_a_property() -> None:
    """Every MUST clause of CFG, AGC, TRN, BLK and REG is checked by at least one property."""
    covered = {p.clause for p in PROPERTIES}
    must = {c.id for c in spec.CLAUSES if c.family in PROPERTY_FAMILIES and c.level == "MUST"}
    missing = sorted(must - covered - set(BLACK_BOX_EXEMPT))
    assert not missing, f"MUST clauses without a property: {missing}"


def _test_sources() -> str:
    """Every test file's text but this one's (which lists the ids it looks for)."""
    files = [p for p in sorted(TESTS.rglob("*.py")) if p.name != Path(__file__).name]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_exempt_and_run_clauses_are_named_by_tests() -> None:
    """RUN clauses (the study runner) and the exempt clauses are checked by tests, which
    name them: each id appears in some tests/*.py file."""
    text = _test_sources()
    wanted = {c.id for c in spec.clauses_of("RUN")} | set(BLACK_BOX_EXEMPT)
    unnamed = sorted(cid for cid in wanted if not re.search(rf"\b{cid}\b", text))
    assert not unnamed, f"clauses no test names: {unnamed}"
    assert {c.id for c in spec.clauses_of("RUN")}, "the RUN clauses exist"


def test_every_property_cites_an_existing_clause_and_known_roles() -> None:
    known = {c.id for c in spec.CLAUSES}
    for prop in PROPERTIES:
        assert prop.clause in known, f"{prop.id} cites unknown clause {prop.clause}"
        assert set(prop.roles) <= set(ROLES) and prop.roles, prop.id
        assert prop.doc, f"{prop.id} has no docstring (its first line is the report's summary)"
    ids = [p.id for p in PROPERTIES]
    assert len(ids) == len(set(ids))


def test_every_role_has_a_default_and_a_canonical_call() -> None:
    assert tuple(r.name for r in ROLE_TABLE) == ROLES and len(set(ROLES)) == len(ROLES)
    for row in ROLE_TABLE:
        assert (row.call and ":" in row.default) or row.shape == "bridge", row
    used = {r for p in PROPERTIES for r in p.roles}
    assert used == set(ROLES), f"roles no property uses: {sorted(set(ROLES) - used)}"


def _namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"torch": torch}
    exec("from conformance.strategies import *", namespace)
    return namespace


WHOLE = Domain(distributed=2, extensions=tuple(EXTENSIONS))
"""The whole contract, the sharded properties (which run on request) included."""


@pytest.mark.parametrize(
    "prop", [p for p in PROPERTIES if p.strategy_for(WHOLE) is not None], ids=lambda p: p.id
)
def test_example_repr_round_trips(prop: Property) -> None:
    """The counterexample a report prints is Python that rebuilds the example: evaluated
    after ``import torch`` and ``from conformance.strategies import *``, its repr is the same."""
    namespace = _namespace()
    strategy = prop.strategy_for(WHOLE)
    assert isinstance(strategy, SearchStrategy)

    @settings(
        max_examples=5,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def check(example: Any) -> None:
        text = repr(example)
        assert repr(eval(text, namespace)) == text

    check()


def test_docs_role_table_is_the_role_table() -> None:
    """The docs' role page has one row per role of ``ROLE_TABLE``, as ``conformance roles
    --markdown`` prints them (README.md links to it)."""
    page = (TESTS.parent / "docs" / "reference" / "roles.md").read_text(encoding="utf-8")
    for r in ROLE_TABLE:
        row = f"| `{r.name}` | `{r.flag}` | `{r.call}` | `{r.default}` |"
        assert row in page, (
            f"role {r.name} missing from docs/reference/roles.md: run docs/generate.py"
        )
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == len(ROLE_TABLE) == len(markdown_table().splitlines()) - 2
