"""Root-cause roles are declared on the properties, and no string in the harness names a
property that does not exist.

The root-cause machinery (:mod:`conformance._internal.causes`) derives its lists from each
property's ``root=Root(...)`` / ``rule=True`` declaration; a renamed or removed property would
otherwise silently weaken the root causes, or leave a test or an xfail entry pointing nowhere.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import spec
from conformance._internal import causes
from conformance.framework import Property, Root
from conformance.properties import PROPERTIES
from conformance.strategies.tensors import as_rank2, lift_small_weights
from spec.clauses import FAMILY_STEMS

ROOT = Path(__file__).resolve().parents[2]

OLD_ROOTS = (
    "agc.weights_untouched",
    "agc.eps_guard",
    "agc.zero_grad_stays_zero",
    "agc.default_axis_is_dim0",
    "agc.unit_locality",
    "agc.rank_le1_is_one_unit",
    "agc.unit_rule",
    "agc.clipped_units_on_bound",
    "agc.unclipped_units_bitwise",
    "blocks.real_output",
    "blocks.both_frequency_corners",
    "blocks.forward_shape",
    "blocks.identity_at_init",
    "blocks.output_shape",
    "blocks.stable_output_shape",
)
"""The root list as ``causes.py`` spelled it before the roles moved onto the properties."""


def test_derived_roots_keep_the_old_order() -> None:
    assert causes.ROOTS == OLD_ROOTS
    conditions = {"agc.eps_guard": lift_small_weights, "agc.rank_le1_is_one_unit": as_rank2}
    assert dict(causes.CONDITIONS) == conditions
    assert causes._RULE == "agc.unit_rule"


def test_every_declared_root_is_a_registered_property() -> None:
    ids = {p.id for p in PROPERTIES}
    assert set(causes.ROOTS) <= ids
    assert set(causes.CONDITIONS) <= set(causes.ROOTS)
    assert [p.id for p in PROPERTIES if p.rule] == ["agc.unit_rule"]


def _prop(pid: str, root: Root | None = None, rule: bool = False) -> Property:
    return Property(pid, "AGC-001", ("agc",), print, print, root=root, rule=rule)


def test_roots_of_orders_by_rank_and_refuses_ambiguity() -> None:
    roots, conditions, rule = causes.roots_of(
        [_prop("a.late", Root(5)), _prop("a.early", Root(1, as_rank2)), _prop("a.no")]
    )
    assert (roots, conditions, rule) == (("a.early", "a.late"), {"a.early": as_rank2}, None)
    with pytest.raises(ValueError, match="same root rank 3"):
        causes.roots_of([_prop("a.x", Root(3)), _prop("a.y", Root(3))])
    with pytest.raises(ValueError, match="at most one"):
        causes.roots_of([_prop("a.x", rule=True), _prop("a.y", rule=True)])


# --- no dangling property ids ---------------------------------------------------------------

_STEMS = tuple(FAMILY_STEMS.values())
_ALTERNATIVES = "|".join(_STEMS)
_QUOTED = re.compile(rf"""["']({_ALTERNATIVES})\.([A-Za-z_][A-Za-z_0-9]*)["']""")

_EXTENSIONS = {"py", "json", "md", "toml", "yaml", "yml", "txt", "csv"}
_PLACEHOLDER = re.compile(r"[a-z]")
"""A one-letter name (``agc.p``) is a made-up property of a hand-built Result in report tests;
real property names say what they check."""


def _modules(stem: str) -> set[str]:
    """The module names of ``conformance.properties.<stem>`` (``agc.rule`` names a module)."""
    package = importlib.import_module(f"conformance.properties.{stem}")
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def _config_paths() -> set[str]:
    """``<section>.<field>`` of the study config (``training.epochs`` names a config field)."""
    out = set()
    for section, field in spec.StudyConfig.model_fields.items():
        model = field.annotation
        for name in getattr(model, "model_fields", {}):
            out.add(f"{section}.{name}")
    return out


def _quoted_ids() -> dict[str, list[str]]:
    """Every quoted ``"<stem>.<name>"`` in conformance/ and tests/ that is not a module, a
    file name, a config path or a one-letter placeholder: ``id -> [file:line, ...]``."""
    modules = {stem: _modules(stem) for stem in _STEMS if stem != "study"}
    skip = _config_paths()
    found: dict[str, list[str]] = {}
    for folder in ("conformance", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                for stem, name in _QUOTED.findall(line):
                    text = f"{stem}.{name}"
                    if name in _EXTENSIONS or name in modules.get(stem, set()) or text in skip:
                        continue
                    if _PLACEHOLDER.fullmatch(name):
                        continue
                    found.setdefault(text, []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def test_the_scan_finds_the_ids_the_harness_names() -> None:
    """The scan is not vacuous: the ids named by this file and by causes' old list are found."""
    found = _quoted_ids()
    assert set(OLD_ROOTS) <= set(found)
    assert "agc.rule" not in found and "training.epochs" not in found


def test_no_dangling_property_ids() -> None:
    ids = {p.id for p in PROPERTIES}
    dangling = {pid: where for pid, where in _quoted_ids().items() if pid not in ids}
    assert not dangling, f"strings naming properties that do not exist: {dangling}"
