"""What every adapter shares: the library it calls, found without importing it, and loaders
that work around a package import the adapter does not need.

>>> lib = Library("some-dist-not-installed", "1.0", "some_module_not_installed")
>>> lib.pip
'pip install --no-deps some-dist-not-installed==1.0'
>>> lib.installed_version() is None
True
>>> lib.directory()
Traceback (most recent call last):
  ...
conformance.adapters._library.LibraryMissing: some-dist-not-installed is not installed ...

An adapter looks its library up only when it is first called, so that importing
:mod:`conformance.adapters` (or one adapter module) never imports a library.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["Library", "LibraryMissing", "load_file", "namespace", "package_stubs", "parameter_list"]


class LibraryMissing(ImportError):
    """The library an adapter calls is not installed; the message gives the pip command."""


@dataclass(frozen=True)
class Library:
    """A third-party library: its PyPI name, the version the matrix was measured with, and its
    top-level import name."""

    distribution: str
    version: str
    """The version the published matrix was measured with (the tox env ``matrix`` pins it)."""
    import_name: str

    @property
    def pip(self) -> str:
        """The install command (``--no-deps``: none of them may bring another torch)."""
        return f"pip install --no-deps {self.distribution}=={self.version}"

    def installed_version(self) -> str | None:
        """The installed distribution's version, or None."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def directory(self) -> Path:
        """The installed package's folder, found without importing the package."""
        found = importlib.util.find_spec(self.import_name)
        if found is None or not found.submodule_search_locations:
            raise LibraryMissing(
                f"{self.distribution} is not installed (the adapter calls it): {self.pip}"
            )
        return Path(next(iter(found.submodule_search_locations)))


def load_file(path: Path, name: str) -> ModuleType:
    """Execute one source file of a library as a private module, without its package.

    ``name`` is the module's name (kept in ``sys.modules`` so that pickling and dataclasses
    find it); choose one that no real module has.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LibraryMissing(f"{path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@contextmanager
def package_stubs(stubs: Mapping[str, ModuleType]) -> Iterator[None]:
    """Put ``stubs`` in ``sys.modules`` for the duration, then restore what was there.

    Used to load one module of a library whose package ``__init__`` imports far more than that
    module needs (an empty package with the real ``__path__``, or placeholder names).
    """
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def namespace(name: str, folder: Path) -> ModuleType:
    """An empty package ``name`` whose submodules are found in ``folder`` (its ``__init__`` is
    not run)."""
    module = ModuleType(name)
    module.__path__ = [str(folder)]
    return module


def parameter_list(parameters: Any) -> list[Any]:
    """The role's ``parameters`` argument as a list: a single tensor becomes a one-element list
    (as torch's clipping functions take it), an iterable is listed once.

    >>> import torch
    >>> len(parameter_list(torch.ones(2))), len(parameter_list(iter([torch.ones(2)] * 3)))
    (1, 3)
    """
    import torch

    return [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
