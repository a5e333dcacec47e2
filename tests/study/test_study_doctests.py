"""The examples in the study's docstrings run and say what they show (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import impl.study

MODULES = sorted(
    [f"impl.study.{m.name}" for m in pkgutil.iter_modules(impl.study.__path__)] + ["spec.io"]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_study_module_has_an_example() -> None:
    bare = [
        n for n in MODULES
        if not doctest.DocTestFinder().find(importlib.import_module(n))
        or not any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(n)))
    ]  # fmt: skip
    assert bare == ["impl.study.plots"]  # matplotlib pictures: exercised by test_compare instead
