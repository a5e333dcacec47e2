"""The architecture names :class:`spec.ModelConfig` accepts, whatever has been imported.

>>> import spec
>>> {"hybrid", "stable_hybrid"} <= spec.known_architectures()
True
>>> spec.declare_architecture("my_doc_unet")
>>> spec.ModelConfig(architecture="my_doc_unet").architecture
'my_doc_unet'
>>> spec.withdraw_architecture("my_doc_unet")
>>> "my_doc_unet" in spec.known_architectures()
False

The set has three parts, all kept here so that validating a config gives the same
answer before and after :mod:`impl` (or any other registry) is imported (REG-005):

- the built-in names, :data:`spec.BUILTIN_ARCHITECTURES`;
- the names third-party packages declare in the entry-point group
  :data:`ENTRY_POINT_GROUP`, read from package metadata on first use (names only:
  no plugin is imported) and cached until :func:`refresh_plugins`;
- names a registry adds at run time: ``impl.register(name)`` calls
  :func:`declare_architecture`, ``impl.registry.unregister`` calls
  :func:`withdraw_architecture`.

A registry reads the plugin entry points through :func:`plugin_entry_points`, so it
lists exactly the names validated here.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from spec.vocabulary import BUILTIN_ARCHITECTURES

__all__ = [
    "ENTRY_POINT_GROUP",
    "declare_architecture",
    "declared_architectures",
    "known_architectures",
    "plugin_entry_points",
    "refresh_plugins",
    "withdraw_architecture",
]

ENTRY_POINT_GROUP = "fno_stability.generators"
"""Package entry-point group through which third-party generators register."""

_declared: set[str] = set()
_plugins: tuple[EntryPoint, ...] | None = None  # read from package metadata on first use


def _read_entry_points() -> tuple[EntryPoint, ...]:
    """The entry points installed packages declare in the group (tests replace this)."""
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def plugin_entry_points() -> tuple[EntryPoint, ...]:
    """The entry points of :data:`ENTRY_POINT_GROUP`, read on first use and cached."""
    global _plugins
    if _plugins is None:
        _plugins = _read_entry_points()
    return _plugins


def refresh_plugins() -> None:
    """Forget the entry points read so far; the next look-up reads package metadata again."""
    global _plugins
    _plugins = None


def declared_architectures() -> frozenset[str]:
    """The names added at run time by :func:`declare_architecture` (and not withdrawn)."""
    return frozenset(_declared)


def known_architectures() -> frozenset[str]:
    """The architecture names :class:`spec.ModelConfig` accepts right now."""
    plugins = {ep.name for ep in plugin_entry_points()}
    return frozenset(BUILTIN_ARCHITECTURES) | plugins | _declared


def declare_architecture(name: str) -> None:
    """Add a run-time architecture name (a registry calls this when a class is registered).

    Raises ``ValueError`` for a name that is not a non-empty string without
    surrounding spaces, or that is already known (built in, a plugin's, or declared).
    """
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(
            f"architecture name {name!r}: must be a non-empty string without surrounding spaces"
        )
    if name in known_architectures():
        raise ValueError(f"architecture name {name!r} is already known; pick another name")
    _declared.add(name)


def withdraw_architecture(name: str) -> None:
    """Remove a name added by :func:`declare_architecture` (built-ins and plugins stay).

    Raises ``ValueError`` naming the names that can be withdrawn when ``name`` is not one.
    """
    if name not in _declared:
        raise ValueError(
            f"architecture name {name!r} was not declared at run time: the names that can be "
            f"withdrawn are {sorted(_declared)}"
        )
    _declared.remove(name)
