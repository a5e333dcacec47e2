"""Loading the objects under test: ``package.module:attr`` or ``path/to/file.py:attr``.

>>> from conformance.targets import load_target
>>> load_target("spec.bridge:to_tf").__name__
'to_tf'
>>> load_target("no_such_module_xyz:fn")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
conformance.targets.TargetError: cannot load target 'no_such_module_xyz:fn': module ... not found...

The file form loads ONE file by path, without importing the package it sits
in (``timm/utils/agc.py:adaptive_clip_grad`` works although ``import timm``
needs torchvision). Such a file may import installed packages, but not its
siblings through relative imports.

The attribute may be dotted (``pkg.mod:Class.method``). The ``bridge`` role
alone may also name a whole module (``pkg.bridge`` or ``path/bridge.py``),
since its canonical form is any object with ``to_tf`` and ``to_torch``.

With no target given for any role, :func:`resolve_targets` checks the bundled
implementation (:data:`DEFAULT_TARGETS`); a default the bundled ``impl`` does
not have (yet) is skipped, not an error.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from conformance.properties import ROLES, Targets

__all__ = [
    "DEFAULT_TARGETS",
    "EXPECTED_FORM",
    "ROLE_CALLS",
    "ROLE_FLAGS",
    "TargetError",
    "load_target",
    "resolve_targets",
]

EXPECTED_FORM = "'package.module:attr' or 'path/to/file.py:attr'"

ROLE_FLAGS: dict[str, str] = {role: "--" + role.replace("_", "-") for role in ROLES}
"""The command-line option of each role (``train_step`` -> ``--train-step``)."""

ROLE_CALLS: dict[str, str] = {
    "agc": "fn(parameters, clip_factor=..., eps=...) clips .grad in place",
    "clip": "fn(parameters, algorithm, value) clips .grad in place ('norm' | 'value' | 'agc')",
    "train_step": "fn(model, optimizer, micro_batches, loss_fn, config, *, scaler=None)",
    "block": "Block(channels, modes) -> module (B, C, H, W) -> (B, C, H, W)",
    "generator": (
        "Generator(in_channels, out_channels, hidden_channels, n_blocks, modes, C) -> module "
        "(B, C*in, H, W) -> (B, H, W, C, out)"
    ),
    "stable_generator": "as generator, with every block the stable block",
    "registry": "resolve(name) -> generator class; LookupError for an unknown name",
    "tf_config": "TFConfig(**fields) -> object with the fields as attributes",
    "torch_config": "TorchConfig(**fields) -> object with the fields as attributes",
    "bridge": "object or module with to_tf(torch_cfg) -> tf_cfg and to_torch(tf_cfg) -> torch_cfg",
    "spectral_conv": "SpectralConv(in_channels, out_channels, modes) -> module (B, in, H, W) -> "
    "(B, out, H, W)",
    "plain_block": "PtychoBlock(channels, modes) -> module y = x + GELU(S(x) + K(x))",
    "register": "register(name)(cls) adds a generator class to the registry role's table",
    "model_config": "ModelConfig(architecture=..., N=..., fno_width=..., ...) -> config object",
    "build_generator": "build(model_config) -> generator module",
}
"""The canonical call each role's target must answer (adapt other conventions in a few lines)."""

DEFAULT_TARGETS: dict[str, str] = {
    "agc": "impl:adaptive_gradient_clip_",
    "clip": "impl:clip_gradients_",
    "train_step": "impl:training_step",
    "block": "impl:StablePtychoBlock",
    "generator": "impl:HybridUNOGenerator",
    "stable_generator": "impl:StableHybridGenerator",
    "registry": "impl:resolve_generator",
    "tf_config": "spec:TFTrainingConfig",
    "torch_config": "spec:TorchTrainingConfig",
    "bridge": "spec",
    "spectral_conv": "impl:SpectralConv2d",
    "plain_block": "impl:PtychoBlock",
    "register": "impl:register",
    "model_config": "spec:ModelConfig",
    "build_generator": "impl:build_generator",
}
"""The bundled implementation, checked when no role is given."""

_FILE_MODULES: dict[str, ModuleType] = {}


class TargetError(ValueError):
    """A target that cannot be loaded: names the target, why, and the expected form."""

    def __init__(self, target: str, reason: str, role: str | None = None) -> None:
        self.target, self.reason, self.role = target, reason, role
        where = f"{ROLE_FLAGS[role]} target" if role in ROLE_FLAGS else "target"
        expected = EXPECTED_FORM
        if role == "bridge":
            expected += " (or a module: 'package.bridge' / 'path/to/bridge.py')"
        if role in ROLE_CALLS:
            expected += f"; the {role} role's canonical call is {ROLE_CALLS[role]}"
        super().__init__(f"cannot load {where} {target!r}: {reason}. Expected form: {expected}")


def _split(text: str, role: str | None) -> tuple[str, str | None]:
    location, colon, attr = text.rpartition(":")
    if not colon or not location or "/" in attr or os.sep in attr:
        if role == "bridge" and text.strip():
            return text, None
        raise TargetError(text, "no ':' between the module or file and the attribute", role)
    if not attr:
        raise TargetError(text, "nothing after ':' (the attribute name is missing)", role)
    if not all(part.isidentifier() for part in attr.split(".")):
        raise TargetError(text, f"{attr!r} is not a (dotted) Python attribute name", role)
    return location, attr


def _is_file(location: str) -> bool:
    return location.endswith(".py") or "/" in location or os.sep in location


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
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
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
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
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


def _check_shape(text: str, obj: Any, role: str | None) -> None:
    if role == "bridge":
        for name in ("to_tf", "to_torch"):
            if not callable(getattr(obj, name, None)):
                raise TargetError(text, f"{obj!r} has no callable {name}", role)
    elif role is not None and not callable(obj):
        raise TargetError(text, f"it is a {type(obj).__name__}, not callable", role)


def load_target(text: str, role: str | None = None) -> Any:
    """The object named by ``text`` (see the module docstring); TargetError otherwise.

    ``role`` (one of :data:`conformance.properties.ROLES`) makes the error name
    the role's option and checks the object's shape: callable, or for
    ``bridge`` an object with callable ``to_tf`` and ``to_torch``.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}: allowed are {list(ROLES)}")
    if not isinstance(text, str) or not text.strip():
        raise TargetError(str(text), "the target is empty", role)
    location, attr = _split(text.strip(), role)
    if _is_file(location):
        module = _load_file(text, location, role)
    else:
        module = _import(text, location, role)
    obj = module if attr is None else _attribute(text, module, attr, role)
    _check_shape(text, obj, role)
    return obj


def _describe(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(obj, ModuleType):
        return obj.__name__
    return f"{module}:{name}" if name else repr(obj)


def resolve_targets(given: Mapping[str, Any] | None = None) -> tuple[Targets, dict[str, str]]:
    """Build :class:`Targets` from ``{role: target string or object}``.

    Returns the targets and ``{role: reason}`` for roles that were wanted but
    are not available. With ``given`` empty or None, every role gets its
    :data:`DEFAULT_TARGETS` entry; a default attribute missing from the bundled
    package is listed as unavailable (its properties are skipped). A target
    given explicitly that cannot be loaded raises :class:`TargetError`.

    >>> targets, missing = resolve_targets({"torch_config": "spec:TorchTrainingConfig"})
    >>> targets.torch_config.__name__, targets.agc, missing
    ('TorchTrainingConfig', None, {})
    """
    unknown = sorted(set(given or ()) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}: allowed are {list(ROLES)}")
    targets = Targets()
    unavailable: dict[str, str] = {}
    if given:
        for role, target in given.items():
            if isinstance(target, str):
                setattr(targets, role, load_target(target, role))
                targets.names[role] = target
            else:
                _check_shape(_describe(target), target, role)
                setattr(targets, role, target)
                targets.names[role] = _describe(target)
        return targets, unavailable
    for role, target in DEFAULT_TARGETS.items():
        location, attr = _split(target, role)
        module = _import(target, location, role)
        if attr is not None and not hasattr(module, attr):
            unavailable[role] = f"not available in {location} ({attr} is not defined there yet)"
            continue
        setattr(targets, role, load_target(target, role))
        targets.names[role] = target
    return targets, unavailable
