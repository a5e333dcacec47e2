"""Naming and loading the objects under test: ``package.module:attr`` or ``path/to/file.py:attr``.

>>> from conformance.targets import load_target, parse_target
>>> parse_target("impl:adaptive_gradient_clip_", "agc")
('impl', 'adaptive_gradient_clip_')
>>> load_target("spec.bridge:to_tf").__name__
'to_tf'
>>> load_target("no_such_module_xyz:fn")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
conformance.targets.TargetError: cannot load target 'no_such_module_xyz:fn': module ... not found...

The judge (the harness process) only *parses* target names (:func:`parse_target`,
:func:`canonical`); importing a target (:func:`load_target`) happens in a worker
process, or in a reproduction script the user runs.

The file form loads ONE file by path, without importing the package it sits in
(``timm/utils/agc.py:adaptive_clip_grad`` works although ``import timm`` needs
torchvision). Such a file may import installed packages, but not its siblings
through relative imports. The attribute may be dotted (``pkg.mod:Class.method``).
The ``bridge`` role alone may also name a whole module (``pkg.bridge`` or
``path/bridge.py``), since its canonical form is any object with ``to_tf`` and
``to_torch``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

from conformance.roles import ROLES
from conformance.roles import role as role_row

__all__ = [
    "EXPECTED_FORM",
    "TargetError",
    "canonical",
    "describe_object",
    "load_target",
    "object_name",
    "parse_target",
]

EXPECTED_FORM = "'package.module:attr' or 'path/to/file.py:attr'"

_FILE_MODULES: dict[str, ModuleType] = {}


class TargetError(ValueError):
    """A target that cannot be named or loaded: names the target, why, and the expected form."""

    def __init__(self, target: str, reason: str, role: str | None = None) -> None:
        self.target, self.reason, self.role = target, reason, role
        row = role_row(role) if role in ROLES else None
        where = f"{row.flag} target" if row is not None else "target"
        expected = EXPECTED_FORM
        if role == "bridge":
            expected += " (or a module: 'package.bridge' / 'path/to/bridge.py')"
        if row is not None:
            expected += f"; the {role} role's canonical call is {row.call}"
        super().__init__(f"cannot load {where} {target!r}: {reason}. Expected form: {expected}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (TargetError, (self.target, self.reason, self.role))


def parse_target(text: str, role: str | None = None) -> tuple[str, str | None]:
    """``(module or file, attribute)`` of a target name, without importing anything.

    The attribute is None for a whole-module ``bridge``. TargetError for a malformed name.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}: allowed are {', '.join(ROLES)}")
    if not isinstance(text, str) or not text.strip():
        raise TargetError(str(text), "the target is empty", role)
    text = text.strip()
    location, colon, attr = text.rpartition(":")
    if not colon or not location or "/" in attr or os.sep in attr:
        if role == "bridge":
            return text, None
        raise TargetError(text, "no ':' between the module or file and the attribute", role)
    if not attr:
        raise TargetError(text, "nothing after ':' (the attribute name is missing)", role)
    if not all(part.isidentifier() for part in attr.split(".")):
        raise TargetError(text, f"{attr!r} is not a (dotted) Python attribute name", role)
    return location, attr


def is_file(location: str) -> bool:
    """Whether a parsed location names a file (rather than a module)."""
    return location.endswith(".py") or "/" in location or os.sep in location


def canonical(text: str, role: str | None = None) -> str:
    """The target name with a file location made absolute (as reports and reproductions show it).

    >>> canonical("impl:training_step")
    'impl:training_step'
    """
    location, attr = parse_target(text, role)
    if is_file(location):
        location = str(Path(location).expanduser().resolve())
    return location if attr is None else f"{location}:{attr}"


def object_name(obj: Any) -> str:
    """A target name for an object the caller holds, importable in another process.

    ``module:qualname``; for an object of a script run as ``__main__``, ``/abs/script.py:name``.
    TargetError for an object that cannot be found again by name (a lambda, a local
    function, an instance).
    """
    if isinstance(obj, ModuleType):
        file = getattr(obj, "__file__", None)
        if obj.__name__ == "__main__":
            if not file:
                raise TargetError(repr(obj), "the __main__ module has no file to load again")
            return str(Path(file).resolve())
        return obj.__name__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    shown = _safe_repr(obj)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise TargetError(
            shown,
            "an object target must be a module-level function or class (it is checked in a "
            "worker process, which imports it again by name); give its name instead",
        )
    if "<" in qualname:
        raise TargetError(
            shown,
            f"{qualname!r} is not reachable by name (a lambda or a function defined inside "
            "another); define it at module level or give 'module:attr'",
        )
    if module == "__main__":
        main = sys.modules.get("__main__")
        file = getattr(main, "__file__", None)
        if not file:
            raise TargetError(shown, "it is defined in an interactive session (no file)")
        return f"{Path(file).resolve()}:{qualname}"
    text = f"{module}:{qualname}"
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise TargetError(shown, f"{text!r} does not name this object (it is not found there)")
    return text


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)[:200]
    except Exception:
        return f"<{type(obj).__name__}>"


# -- loading (worker side) ---------------------------------------------------------------------


def _load_file(text: str, location: str, role: str | None) -> ModuleType:
    path = Path(location).expanduser().resolve()
    if not path.is_file():
        raise TargetError(text, f"file not found: {path}", role)
    key = str(path)
    if key in _FILE_MODULES:
        return _FILE_MODULES[key]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_conformance_target_{stem}_{zlib.crc32(key.encode()):08x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(text, f"{path} cannot be loaded as a Python module", role)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        hint = ""
        if isinstance(error, ImportError) and "relative import" in str(error):
            hint = " (the file form loads one file alone: its relative imports cannot work)"
        raise TargetError(
            text, f"executing {path} raised {type(error).__name__}: {error}{hint}", role
        ) from error
    _FILE_MODULES[key] = module
    return module


def _import(text: str, location: str, role: str | None) -> ModuleType:
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (location == missing or location.startswith(missing + ".")):
            raise TargetError(text, f"module {location!r} not found ({error})", role) from error
        raise TargetError(
            text,
            f"importing {location!r} raised ModuleNotFoundError: {error} (a dependency is "
            "missing; the file form path/to/file.py:attr loads one file without its package)",
            role,
        ) from error
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise TargetError(
            text, f"importing {location!r} raised {type(error).__name__}: {error}", role
        ) from error


def _attribute(text: str, module: ModuleType, attr: str, role: str | None) -> Any:
    obj: Any = module
    walked: list[str] = []
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = ".".join([module.__name__, *walked])
            close = difflib.get_close_matches(part, [n for n in dir(obj) if n[:1] != "_"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TargetError(text, f"{owner!r} has no attribute {part!r}{hint}", role) from None
        except Exception as error:
            raise TargetError(
                text, f"reading attribute {part!r} raised {type(error).__name__}: {error}", role
            ) from error
        walked.append(part)
    return obj


def check_shape(text: str, obj: Any, role: str | None) -> None:
    """TargetError unless ``obj`` has the shape its role's table row asks for."""
    if role is None:
        return
    if role_row(role).shape == "bridge":
        for name in ("to_tf", "to_torch"):
            if not callable(getattr(obj, name, None)):
                raise TargetError(text, f"{_safe_repr(obj)} has no callable {name}", role)
    elif not callable(obj):
        raise TargetError(text, f"it is a {type(obj).__name__}, not callable", role)


def load_target(text: str, role: str | None = None) -> Any:
    """Import and return the object named by ``text`` (see the module docstring).

    ``role`` makes the error name the role's option and checks the object's shape.
    Runs the target's module code: the harness calls it only in worker processes.
    """
    location, attr = parse_target(text, role)
    module = (
        _load_file(text, location, role) if is_file(location) else _import(text, location, role)
    )
    obj = module if attr is None else _attribute(text, module, attr, role)
    check_shape(text, obj, role)
    return obj


def describe_object(obj: Any) -> dict[str, str]:
    """What a loaded target is: ``object`` (module:qualname), ``file`` and ``kind``."""
    module = obj if isinstance(obj, ModuleType) else inspect.getmodule(obj)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or ""
    file = ""
    try:
        file = inspect.getsourcefile(obj) or inspect.getfile(obj)
    except (TypeError, OSError):
        file = getattr(module, "__file__", None) or ""
    if isinstance(obj, ModuleType):
        shown = obj.__name__
    else:
        shown = f"{getattr(module, '__name__', '?')}:{name}" if name else _safe_repr(obj)
    kind = "module" if isinstance(obj, ModuleType) else type(obj).__name__
    return {"object": shown, "file": str(Path(file).resolve()) if file else "", "kind": kind}
