"""Every docstring example of the three packages runs and shows what it says (they open most
modules' docstrings: a stale one misleads the first reader)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import conformance
import impl
import spec

_SKIP = {"conformance.__main__", "spec.__main__"}
"""Entry points: importing them runs nothing, but they hold no examples either."""


def _modules() -> list[str]:
    names = []
    for package in (spec, impl, conformance):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name not in _SKIP and not info.name.rsplit(".", 1)[-1].startswith("__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing docstring example(s) in {name}"
