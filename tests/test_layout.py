"""One stem per clause family through every layer (``spec.clauses.FAMILY_STEMS``).

A newcomer who finds ``AGC-003`` in a report finds its family's clauses in
``spec/clauses/agc.py``, its code in ``impl/agc.py``, its properties in
``conformance/properties/agc/`` and its tests in a ``tests/.../agc/`` folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spec.clauses import CLAUSES, CONFORMANCE_FAMILIES, FAMILIES, FAMILY_STEMS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_has_a_clause_module_and_a_test_folder(family: str) -> None:
    stem = FAMILY_STEMS[family]
    module = ROOT / "spec" / "clauses" / f"{stem}.py"
    assert module.is_file(), f"{family}: no clause module {module.relative_to(ROOT)}"
    folders = [p for p in (ROOT / "tests").rglob(stem) if p.is_dir()]
    assert folders, f"{family}: no test folder named {stem!r} under tests/"
    assert any(f.glob("test_*.py") for f in folders), (
        f"{family}: {[str(f.relative_to(ROOT)) for f in folders]} hold no test_*.py module"
    )


@pytest.mark.parametrize("family", list(CONFORMANCE_FAMILIES))
def test_checked_family_has_a_property_package(family: str) -> None:
    from conformance.properties import PROPERTIES

    stem = FAMILY_STEMS[family]
    package = ROOT / "conformance" / "properties" / stem
    assert (package / "__init__.py").is_file(), f"{family}: no package {package.relative_to(ROOT)}"
    homes = {p.home.split(".")[2] for p in PROPERTIES if p.clause.startswith(f"{family}-")}
    assert homes == {stem}, f"{family}'s properties live in {sorted(homes)}, not only {stem!r}"


def test_every_clause_module_is_a_family_stem() -> None:
    modules = {p.stem for p in (ROOT / "spec" / "clauses").glob("*.py")} - {"__init__"}
    assert modules == set(FAMILY_STEMS.values()), sorted(modules ^ set(FAMILY_STEMS.values()))
    assert {c.family for c in CLAUSES} == set(FAMILIES)


def test_property_ids_start_with_their_family_stem() -> None:
    from conformance.properties import PROPERTIES

    wrong = [
        (p.id, p.clause)
        for p in PROPERTIES
        if p.id.split(".", 1)[0] != FAMILY_STEMS[p.clause.split("-", 1)[0]]
    ]
    assert not wrong, f"property ids whose prefix is not their clause family's stem: {wrong}"


def test_no_two_modules_share_a_name() -> None:
    """A module name means one thing (``runner.py`` in the harness and in the study did not);
    a family's stem names that family's module in every layer, which is the point."""
    seen: dict[str, list[str]] = {}
    for package in ("spec", "impl", "conformance"):
        for path in (ROOT / package).rglob("*.py"):
            if path.stem in {"__init__", "__main__", *FAMILY_STEMS.values()}:
                continue
            if "properties" in path.parts:  # one concern of one family: agc/rule.py
                continue
            seen.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    twice = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not twice, f"modules sharing a name: {twice}"


def test_the_harness_home_holds_the_three_packages() -> None:
    """Workers put HOME first on ``sys.path`` so that the harness's own ``spec``/``impl``/
    ``conformance`` are found; pointing at ``conformance/`` itself (as it did right after the
    private modules moved one folder down) would let ``conformance/roles.py`` and friends
    shadow a target's own top-level modules of the same name."""
    from conformance._internal.session import HOME

    assert {p.name for p in Path(HOME).iterdir()} >= {"spec", "impl", "conformance"}, HOME


def test_the_domain_dtypes_are_the_vocabulary_dtypes() -> None:
    """``conformance.domain`` may not import ``spec`` (the plugin loads it in the user's pytest
    process); its copy of the dtype list must be the vocabulary's, in the same order."""
    from conformance.domain import DTYPES
    from spec.vocabulary import GRADIENT_DTYPES

    assert DTYPES == GRADIENT_DTYPES
