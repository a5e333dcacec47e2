"""One vocabulary: each enumerated name is spelled once, in spec.vocabulary, and nowhere else.

The tuples must be what the config models are annotated with, must name what the clauses
name (read from the clause texts, not copied here), and no source file of the packages
and tests this covers may spell a whole list again (checked on the syntax tree).
"""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest
import torch

import spec
from spec import vocabulary

ROOT = Path(__file__).resolve().parents[2]

LISTS: dict[str, tuple[str, ...]] = {
    name: value
    for name, value in vars(vocabulary).items()
    if name.isupper() and isinstance(value, tuple)
}
"""Every tuple of the vocabulary, by name."""

SCANNED = (
    "spec",
    "impl",
    "conformance",
    "tests/spec",
    "tests/impl",
    "tests/study",
    "tests/conformance/properties",
)
"""Where no list may be spelled again. Not scanned: ``tests/conformance/{faithful,faulty,
hostile}``, stand-ins for other people's implementations, which spell their own lists."""

EXEMPT = ("conformance/domain.py", "tests/conformance/properties/test_vocabulary.py")
"""Deliberate copies: ``conformance.domain`` is imported by the pytest plugin in the user's
process, where a folder named ``spec`` may shadow ours, so it cannot import spec (a test in
tests/test_layout.py holds the copy equal); the properties' vocabulary test writes the
plan's names out by hand on purpose, as the independent side of its comparison."""


def _quoted(clause_id: str) -> list[str]:
    return re.findall(r"'(\w+)'", spec.clause(clause_id).text)


def test_every_tuple_is_its_literal() -> None:
    assert len(LISTS) >= 11
    for name, values in LISTS.items():
        assert values and len(set(values)) == len(values), name
        assert all(isinstance(v, str) for v in values), name
    pairs = {
        "CLIP_ALGORITHMS": spec.ClipAlgorithm,
        "OPTIMIZER_NAMES": spec.OptimizerName,
        "LOSS_FUNCTIONS": spec.LossFunction,
        "BUILTIN_ARCHITECTURES": spec.BuiltinArchitecture,
        "STABLE_INITS": spec.StableInit,
        "GRADIENT_DTYPES": spec.GradientDtype,
        "OBJECT_KINDS": spec.ObjectKind,
        "PROBE_KINDS": spec.ProbeKind,
    }
    for name, literal in pairs.items():
        assert LISTS[name] == typing.get_args(literal), name


def test_dtype_classes_partition_the_gradient_dtypes() -> None:
    parts = (vocabulary.FULL_DTYPES, vocabulary.HALF_DTYPES, vocabulary.COMPLEX_DTYPES)
    assert sum(parts, ()) == spec.GRADIENT_DTYPES
    assert all(isinstance(getattr(torch, d, None), torch.dtype) for d in spec.GRADIENT_DTYPES)


@pytest.mark.parametrize(
    ("model", "field", "values"),
    [
        (spec.TorchTrainingConfig, "gradient_clip_algorithm", "CLIP_ALGORITHMS"),
        (spec.TFTrainingConfig, "gradient_clip_algorithm", "CLIP_ALGORITHMS"),
        (spec.TorchTrainingConfig, "optimizer", "OPTIMIZER_NAMES"),
        (spec.TFTrainingConfig, "optimizer", "OPTIMIZER_NAMES"),
        (spec.TorchTrainingConfig, "loss_function", "LOSS_FUNCTIONS"),
        (spec.ModelConfig, "stable_init", "STABLE_INITS"),
        (spec.DataConfig, "objects", "OBJECT_KINDS"),
        (spec.DataConfig, "probe", "PROBE_KINDS"),
    ],
)
def test_config_fields_take_exactly_the_vocabulary(
    model: type[spec.ModelConfig], field: str, values: str
) -> None:
    annotation = model.model_fields[field].annotation
    assert typing.get_args(annotation) == LISTS[values]
    for value in LISTS[values]:
        assert getattr(model(**{field: value}), field) == value


def test_clauses_name_the_vocabulary() -> None:
    """The normative texts and the vocabulary name the same things."""
    assert tuple(_quoted("CFG-001")) == spec.CLIP_ALGORITHMS
    assert tuple(_quoted("REG-001")) == spec.BUILTIN_ARCHITECTURES
    assert tuple(_quoted("BLK-010")) == spec.STABLE_INITS
    listed = re.search(r"\(by default ([^)]*)\)", spec.clause("AGC-015").text)
    assert listed is not None
    assert set(re.split(r", | and ", listed.group(1))) == set(spec.GRADIENT_DTYPES)
    half = re.match(r"For (\w+) and (\w+) gradients", spec.clause("AGC-032").text)
    assert half is not None and half.groups() == vocabulary.HALF_DTYPES


def _files() -> list[Path]:
    out: list[Path] = []
    for rel in SCANNED:
        path = ROOT / rel
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    skip = {ROOT / "spec" / "vocabulary.py", *(ROOT / e for e in EXEMPT)}
    return [p for p in out if p not in skip]


def _copies(path: Path, root: Path = ROOT) -> list[str]:
    """``line: names`` of each tuple, list or set literal of strings that equals a vocabulary
    list as a set (``Literal[...]`` arguments included)."""
    wanted = {frozenset(v): k for k, v in LISTS.items() if len(v) > 1}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            continue
        items = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(items) != len(node.elts) or not all(isinstance(i, str) for i in items):
            continue
        name = wanted.get(frozenset(items))
        if name is not None:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {items} (use spec.{name})")
    return found


def test_no_list_is_spelled_twice() -> None:
    files = _files()
    assert len(files) > 50
    copies = [c for path in files for c in _copies(path)]
    assert not copies, "\n".join(copies)


def test_the_scan_finds_a_copy(tmp_path: Path) -> None:
    """The check above can fail: a file spelling a list again is reported."""
    bad = tmp_path / "probe.py"
    bad.write_text(
        'X = ("agc", "value", "norm")\nY = ("agc", "value")\nZ: Literal["mae", "poisson"]\n',
        encoding="utf-8",
    )
    assert _copies(bad, tmp_path) == [
        "probe.py:1: ['agc', 'value', 'norm'] (use spec.CLIP_ALGORITHMS)",
        "probe.py:3: ['mae', 'poisson'] (use spec.LOSS_FUNCTIONS)",
    ]
