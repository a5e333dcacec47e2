"""The generator registry: architecture names -> generator classes, plugins included.

>>> import spec
>>> from impl.registry import available, build_generator, resolve_generator
>>> available()
['hybrid', 'stable_hybrid']
>>> resolve_generator("stable_hybrid").__name__
'StableHybridGenerator'
>>> model = build_generator(spec.ModelConfig(architecture="hybrid", N=16, fno_width=4,
...                                          fno_blocks=2, fno_modes=3))
>>> type(model).__name__, model.input_size
('HybridUNOGenerator', (16, 16))

Names come from three places: the built-ins ('hybrid', 'stable_hybrid'),
run-time registrations (:func:`register`), and third-party packages that
declare an entry point in the group ``fno_stability.generators``
(:data:`spec.ENTRY_POINT_GROUP`), e.g. in their ``pyproject.toml``::

    [project.entry-points."fno_stability.generators"]
    my_unet = "my_package.models:MyUNet"

Entry points are listed on first use and a plugin is imported only when its
name is resolved (REG-007); one that fails to import, or is not an
``nn.Module`` subclass, raises :class:`GeneratorPluginError` naming it, and
leaves every other name working (REG-006). The names themselves are kept by
:mod:`spec.architectures`: this registry reads the entry points through it and
declares each run-time registration there, so :class:`spec.ModelConfig` accepts
exactly what this registry resolves (REG-005), whether or not ``impl`` has been
imported.

Errors: an unknown name raises :class:`UnknownGeneratorError` (a
``LookupError``) listing the names and the closest match (REG-003); a taken
name raises ``ValueError`` (REG-004).
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Callable
from importlib.metadata import EntryPoint
from typing import Any, TypeVar

from torch import nn

import spec
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from spec import architectures

__all__ = [
    "GeneratorPluginError",
    "UnknownGeneratorError",
    "available",
    "build_generator",
    "generator_kwargs",
    "refresh_plugins",
    "register",
    "resolve_generator",
    "unregister",
]

GeneratorClass = type[nn.Module]
G = TypeVar("G", bound=GeneratorClass)

BUILTIN: dict[str, GeneratorClass] = {
    "hybrid": HybridUNOGenerator,
    "stable_hybrid": StableHybridGenerator,
}
"""The built-in generators (REG-001); fixed: one class for each of
:data:`spec.BUILTIN_ARCHITECTURES` (the registry's tests check the keys against it)."""

_registered: dict[str, GeneratorClass] = {}
_plugins: dict[str, EntryPoint] | None = None  # built from spec's entry points on first use


class UnknownGeneratorError(LookupError):
    """No generator of that name (REG-003)."""


class GeneratorPluginError(RuntimeError):
    """A plugin's entry point could not be loaded as a generator class (REG-006)."""


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = f" from distribution {dist.name!r}" if dist is not None else ""
    return f"entry point {ep.name!r} = {ep.value!r}{where} in group {spec.ENTRY_POINT_GROUP!r}"


def _plugin_table() -> dict[str, EntryPoint]:
    global _plugins
    if _plugins is None:
        table: dict[str, EntryPoint] = {}
        for ep in architectures.plugin_entry_points():
            if ep.name in BUILTIN or ep.name in _registered or ep.name in table:
                warnings.warn(
                    f"generator plugin {_describe(ep)} is ignored: the name {ep.name!r} is "
                    "already taken",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            table[ep.name] = ep
        _plugins = table
    return _plugins


def refresh_plugins() -> None:
    """Forget the entry points read so far; the next lookup reads package metadata again."""
    global _plugins
    _plugins = None
    architectures.refresh_plugins()


def available() -> list[str]:
    """Every name the registry resolves, sorted (plugins listed, not imported)."""
    return sorted({*BUILTIN, *_registered, *_plugin_table()})


def _closest(name: str) -> str:
    close = difflib.get_close_matches(name, available(), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _owner(name: str) -> str | None:
    """Who holds ``name`` (for error messages), or None when it is free."""
    if name in BUILTIN:
        return "built in"
    if name in _registered:
        return f"registered for {_registered[name].__qualname__}"
    plugins = _plugin_table()
    if name in plugins:
        return f"declared by plugin {_describe(plugins[name])}"
    return None


def register(name: str) -> Callable[[G], G]:
    """Class decorator registering a generator under ``name`` (REG-004: taken -> ValueError).

    >>> import torch
    >>> @register("tiny_doc_example")
    ... class Tiny(torch.nn.Module):
    ...     def __init__(self, in_channels, out_channels, hidden_channels, n_blocks, modes, C):
    ...         super().__init__()
    >>> resolve_generator("tiny_doc_example") is Tiny
    True
    >>> unregister("tiny_doc_example")
    """
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(
            f"generator name {name!r}: must be a non-empty string without surrounding spaces"
        )

    def decorate(cls: G) -> G:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register({name!r}) decorates {cls!r}: a torch.nn.Module subclass")
        owner = _owner(name)
        if owner is not None:
            hint = " or unregister() it first" if name in _registered else ""
            raise ValueError(
                f"generator name {name!r} is already taken ({owner}); pick another name{hint}"
            )
        spec.declare_architecture(name)
        _registered[name] = cls
        return cls

    return decorate


def unregister(name: str) -> None:
    """Remove a run-time registration (built-ins and plugins cannot be removed)."""
    if name in _registered:
        del _registered[name]
        spec.withdraw_architecture(name)
        return
    owner = _owner(name)
    if owner is not None:
        raise ValueError(
            f"generator {name!r} is {owner}, not registered at run time: cannot unregister"
        )
    raise UnknownGeneratorError(f"unknown generator {name!r}: available are {available()}")


def _load(ep: EntryPoint) -> GeneratorClass:
    try:
        loaded = ep.load()
    except Exception as error:
        raise GeneratorPluginError(
            f"generator plugin {_describe(ep)} failed to import: {type(error).__name__}: {error}"
        ) from error
    if not (isinstance(loaded, type) and issubclass(loaded, nn.Module)):
        raise GeneratorPluginError(
            f"generator plugin {_describe(ep)} points to {loaded!r}, which is not a "
            "torch.nn.Module subclass"
        )
    return loaded


def resolve_generator(name_or_model_config: str | spec.ModelConfig) -> GeneratorClass:
    """The generator class registered under a name, or under ``model_config.architecture``."""
    if isinstance(name_or_model_config, spec.ModelConfig):
        name = name_or_model_config.architecture
    elif isinstance(name_or_model_config, str):
        name = name_or_model_config
    else:
        raise TypeError(
            f"resolve_generator({name_or_model_config!r}): expected an architecture name (str) "
            "or a spec.ModelConfig"
        )
    if name in BUILTIN:
        return BUILTIN[name]
    if name in _registered:
        return _registered[name]
    plugins = _plugin_table()
    if name in plugins:
        return _load(plugins[name])  # importlib caches the module: cheap after the first time
    raise UnknownGeneratorError(
        f"unknown generator {name!r}: available are {available()}{_closest(name)}"
    )


def _accepts(cls: GeneratorClass) -> Callable[[str], bool]:
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return lambda _name: True
    return lambda name: name in params


def generator_kwargs(model_config: spec.ModelConfig, cls: GeneratorClass) -> dict[str, Any]:
    """Constructor arguments of ``cls`` for ``model_config`` (REG-008).

    The canonical six always: ``in_channels=1, out_channels=2,
    hidden_channels=fno_width, n_blocks=fno_blocks, modes=fno_modes, C=gridsize²``;
    then ``max_hidden_channels``, ``input_size=(N, N)``, ``init=stable_init`` and
    ``layerscale_init`` where the constructor accepts them. A cap the class
    cannot take is an error; the stable-block settings are ignored by a class
    without them, and ``input_size`` is only a sizing hint.
    """
    accepts = _accepts(cls)
    kwargs: dict[str, Any] = {
        "in_channels": 1,
        "out_channels": 2,
        "hidden_channels": model_config.fno_width,
        "n_blocks": model_config.fno_blocks,
        "modes": model_config.fno_modes,
        "C": model_config.C,
    }
    if accepts("max_hidden_channels"):
        kwargs["max_hidden_channels"] = model_config.max_hidden_channels
    elif model_config.max_hidden_channels is not None:
        raise ValueError(
            f"max_hidden_channels={model_config.max_hidden_channels}: architecture "
            f"{model_config.architecture!r} ({cls.__qualname__}) takes no channel cap; "
            "set max_hidden_channels=None"
        )
    optional = {
        "input_size": (model_config.N, model_config.N),
        "init": model_config.stable_init,
        "layerscale_init": model_config.layerscale_init,
    }
    kwargs.update({k: v for k, v in optional.items() if accepts(k)})
    return kwargs


def build_generator(model_config: spec.ModelConfig, **overrides: Any) -> nn.Module:
    """Build the generator ``model_config`` names; ``overrides`` replace constructor arguments.

    >>> import spec
    >>> cfg = spec.ModelConfig(architecture="stable_hybrid", N=8, fno_width=2, fno_blocks=2,
    ...                        fno_modes=2, stable_init="layerscale")
    >>> build_generator(cfg, input_size=None).input_size is None
    True
    """
    cls = resolve_generator(model_config)
    return cls(**{**generator_kwargs(model_config, cls), **overrides})
