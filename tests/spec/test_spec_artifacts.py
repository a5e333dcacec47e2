"""Generated artefacts stay in step with the models and clauses: schema, the clauses page, table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

import spec
from spec.__main__ import main as spec_main
from spec.docs import render_spec
from spec.schema import stale_schemas, write_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_fresh() -> None:
    assert stale_schemas() == [], "run: python -m spec schema"


def test_schema_drift_is_detected(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    assert stale_schemas(tmp_path) == []
    target = tmp_path / "TorchTrainingConfig.json"
    target.write_text(target.read_text().replace('"agc"', '"adaptive"'))
    assert stale_schemas(tmp_path) == ["TorchTrainingConfig"]


def test_clauses_page_is_fresh() -> None:
    page = ROOT / "docs" / "reference" / "clauses.md"
    assert page.read_text(encoding="utf-8") == render_spec(), (
        "docs/reference/clauses.md is stale: run python -m spec docs"
    )


def test_clauses_page_lists_every_clause() -> None:
    text = render_spec()
    for c in spec.CLAUSES:
        assert re.search(rf"^\| {c.id} \| {c.level} \|", text, re.M), c.id


def test_docs_check_command(tmp_path: Path) -> None:
    out = tmp_path / "clauses.md"
    assert spec_main(["docs", "--output", str(out), "--check"]) == 1
    assert spec_main(["docs", "--output", str(out)]) == 0
    assert spec_main(["docs", "--output", str(out), "--check"]) == 0


def test_clause_ids_unique_and_well_formed() -> None:
    ids = [c.id for c in spec.CLAUSES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", i) for i in ids)
    assert spec.clauses_of("CFG"), "the CFG clauses are missing"


def test_clause_lookup_errors() -> None:
    with pytest.raises(KeyError, match="CFG-001"):
        spec.clause("CFG-999")
    with pytest.raises(KeyError, match="known"):
        spec.clauses_of("XYZ")


def test_clause_model_rejects_unknown_family() -> None:
    with pytest.raises(ValidationError, match="family must be one of"):
        spec.Clause(id="ZZZ-001", level="MUST", title="t", text="t", source="s")


def test_spec_version_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec.SPEC_VERSION)
