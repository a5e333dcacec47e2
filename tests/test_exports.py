"""The packages' export lists agree with what the packages import and hold.

``conformance`` loads its public names on first use: the names are spelled in its
``TYPE_CHECKING`` imports (which mypy checks and the loader reads) and in ``__all__``
(which documentation tools and type checkers read without running the module); the
two must name the same names, each must load, and ``import conformance`` must stay
light. ``spec`` and ``impl`` import their public names eagerly: every name of
``__all__`` must exist, and every public name they import must be in ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import conformance

# Names a package's __init__ imports for its own use, not to export.
PLUMBING = {
    "conformance": {"TYPE_CHECKING", "Any", "importlib", "annotations"},
    "spec": set(),
    "impl": set(),
}


def _tree(module: ModuleType) -> ast.Module:
    assert module.__file__ is not None
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


def _imported(statements: list[ast.stmt]) -> dict[str, str]:
    """Name bound -> the module it is imported from, for the import statements given."""
    names: dict[str, str] = {}
    for node in statements:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = node.module or ""
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = alias.name
    return names


def _type_checking_imports(module: ModuleType) -> dict[str, str]:
    blocks = [
        node
        for node in _tree(module).body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, f"{module.__name__}: expected one `if TYPE_CHECKING:` block"
    return _imported(blocks[0].body)


def _duplicates(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


# --- conformance: lazily loaded ---------------------------------------------------------


def test_conformance_type_checking_imports_name_what_all_names() -> None:
    imported = _type_checking_imports(conformance)
    assert not _duplicates(conformance.__all__), _duplicates(conformance.__all__)
    missing = sorted(set(imported) - set(conformance.__all__))
    extra = sorted(set(conformance.__all__) - set(imported))
    assert not missing, f"imported under TYPE_CHECKING but not in __all__: {missing}"
    assert not extra, f"in __all__ but not imported under TYPE_CHECKING: {extra}"


def test_conformance_loader_table_matches_the_type_checking_imports() -> None:
    assert conformance._homes() == _type_checking_imports(conformance)


@pytest.mark.parametrize("name", conformance.__all__)
def test_conformance_name_loads_from_its_home(name: str) -> None:
    home = conformance._homes()[name]
    assert home.startswith("conformance."), f"{name}: home {home!r} is outside the package"
    value = getattr(importlib.import_module(home), name)
    assert getattr(value, "__name__", name) == name, f"{home}.{name} is {value!r}"
    assert getattr(conformance, name) is value


def test_no_public_name_is_also_a_submodule_name() -> None:
    """``conformance.reproduce`` was both a function and a module: once the module had been
    imported (as every reproduction script did), the package attribute was the module and
    ``conformance.reproduce(...)`` failed. Public names and submodule names stay apart."""
    modules = {info.name for info in pkgutil.iter_modules(conformance.__path__)}
    assert not modules & set(conformance.__all__), sorted(modules & set(conformance.__all__))


def test_conformance_dir_offers_every_public_name() -> None:
    missing = sorted(set(conformance.__all__) - set(dir(conformance)))
    assert not missing, f"dir(conformance) lacks {missing}"


def test_conformance_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'run_conformanse'"):
        conformance.run_conformanse  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'importlib_util'"):
        conformance.importlib_util  # type: ignore[attr-defined]  # noqa: B018


def test_import_conformance_stays_light() -> None:
    """``import conformance``, ``dir`` and reading the loader's table import nothing heavy
    (the pytest plugin triggers ``import conformance`` in every pytest run)."""
    code = (
        "import sys, conformance; dir(conformance); conformance._homes(); "
        "heavy = ('torch', 'numpy', 'hypothesis', 'pytest', 'pydantic'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
        "or (m.startswith('conformance.') and m != 'conformance.__init__')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"import conformance loaded {done.stdout.strip()}"


# --- spec and impl: eagerly imported ----------------------------------------------------


@pytest.mark.parametrize("package", ["spec", "impl"])
def test_every_name_in_all_exists(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert not _duplicates(names), f"{package}.__all__ repeats {_duplicates(names)}"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{package}.__all__ names what {package} does not have: {missing}"


@pytest.mark.parametrize("package", ["spec", "impl", "conformance"])
def test_every_public_name_imported_is_exported(package: str) -> None:
    module = importlib.import_module(package)
    imported = _imported(_tree(module).body)
    public = {n for n in imported if not n.startswith("_")} - PLUMBING[package]
    unexported = sorted(public - set(module.__all__))
    assert not unexported, (
        f"{package}/__init__.py imports {unexported} but __all__ does not list them: "
        f"add them to __all__, or import them under a private name"
    )
