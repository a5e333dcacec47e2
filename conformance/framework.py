"""The property framework: how a conformance property is declared, run and reproduced.

>>> from conformance.framework import Targets, attempt
>>> attempt(int, "3").value, Targets(agc=print).agc is print
(3, True)

A property is one check of one clause, in two halves that run in different processes:

- ``act(targets, example) -> observation`` runs in a **worker** process, the only one
  that imports the objects under test (*targets*, one per role): it builds fresh inputs
  from the example, performs the role's canonical calls and returns what it saw as plain
  data (tensors, numbers, strings, lists, dicts, None; see :mod:`conformance._internal.wire`).
  It decides nothing. An exception the target raises escapes it (the judge reports it);
  where the clause expects an exception, the act records it with :func:`attempt`.
- ``decide(example, observation)`` runs in the **judge** (the harness process), which
  never imports a target: it compares the observation with what ``spec``'s float64
  references and the example itself say, and raises ``AssertionError`` (message carrying
  the values) on a violation.

Declared with :func:`conformance_property` on the deciding half::

    @conformance_property("AGC-003", roles=("agc",), strategy=agc_cases(), act=agc_once)
    def rank_le1_is_one_unit(case: AGCCase, seen: dict[str, Any]) -> None:
        ...  # raise AssertionError with the values on a violation

Rules for authors: the ``repr`` of every example must be valid Python that rebuilds it
(after ``import torch`` and ``from conformance.strategies import *``), so a report can
print a reproduction; strategies shrink toward simple cases and live in
:mod:`conformance.strategies`; ``strategy=None`` declares a single deterministic check,
run once. The roles are those of :mod:`conformance.roles`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sysconfig
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis.strategies import SearchStrategy

from conformance._internal.wire import ExceptionInfo, decode, encode
from conformance.domain import Domain, NotApplicable
from conformance.roles import ROLES

__all__ = [
    "HARNESS_DIR",
    "Attempt",
    "Property",
    "Root",
    "Targets",
    "attempt",
    "conformance_property",
    "exception_info",
    "find_property",
    "registered",
]


HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
"""The conformance package's folder: frames there are the harness's, not the target's."""


def _library_dirs() -> tuple[str, ...]:
    """Folders of the standard library and torch: a frame there is not where a target erred."""
    dirs = {sysconfig.get_paths()["stdlib"]}
    torch_spec = importlib.util.find_spec("torch")
    if torch_spec is not None and torch_spec.origin:
        dirs.add(os.path.dirname(torch_spec.origin))
    return tuple(os.path.join(d, "") for d in dirs)


_LIBRARY_DIRS = _library_dirs()
"""Folder prefixes of the standard library and torch (see :func:`_library_dirs`)."""


class Targets:
    """The objects under test, one attribute per role (None: the role is not checked).

    >>> t = Targets(agc=print)
    >>> t.agc is print, t.block, sorted(t.given())
    (True, None, ['agc'])
    """

    def __init__(self, **objects: Any) -> None:
        unknown = sorted(set(objects) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}: allowed are {', '.join(ROLES)}")
        self._objects = {r: o for r, o in objects.items() if o is not None}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ROLES:
            return self._objects.get(name)
        raise AttributeError(f"no role {name!r}: the roles are {', '.join(ROLES)}")

    def given(self) -> dict[str, Any]:
        """``{role: object}`` for the roles that have a target."""
        return dict(self._objects)

    def __repr__(self) -> str:
        inner = ", ".join(f"{r}={o!r}" for r, o in self._objects.items())
        return f"Targets({inner})"


@dataclass(frozen=True)
class Attempt:
    """What calling something gave: its return value, or the exception it raised (as data)."""

    value: Any = None
    raised: ExceptionInfo | None = None

    @property
    def ok(self) -> bool:
        return self.raised is None


def exception_info(error: BaseException, harness_dir: str = "") -> ExceptionInfo:
    """``error`` as data; ``where`` names its deepest frame outside ``harness_dir``."""

    def safe(fn: Callable[[], str], fallback: str) -> str:
        try:
            text = fn()
            return text if isinstance(text, str) else fallback
        except BaseException:
            return fallback

    cls = type(error)
    mro = tuple(f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__ if c is not object)
    message = safe(lambda: str(error), f"<{cls.__name__} whose str() raised>")
    frames = traceback.extract_tb(error.__traceback__)
    shown = tuple(f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-8:])
    where = ""
    if frames:
        outside = [f for f in frames if not (harness_dir and f.filename.startswith(harness_dir))]
        if outside:
            deepest = outside[-1]
            where = f"raised at {deepest.filename}:{deepest.lineno} in {deepest.name}"
            own = [f for f in outside if not f.filename.startswith(_LIBRARY_DIRS)]
            if own and own[-1] is not deepest:  # raised inside torch or the standard library
                caller = own[-1]
                where += f" (called from {caller.filename}:{caller.lineno} in {caller.name})"
        else:
            last = frames[-1]
            where = (
                f"raised in the property's own code ({last.filename}:{last.lineno} in "
                f"{last.name}): the target's output could not be used"
            )
    return ExceptionInfo(mro[0] if mro else cls.__name__, mro, message, where, shown)


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Attempt:
    """Call ``fn`` where the clause expects it may raise: the value or the exception, as data.

    >>> attempt(int, "x").raised.is_a("ValueError"), attempt(int, "3").value
    (True, 3)
    """
    try:
        return Attempt(value=fn(*args, **kwargs))
    except Exception as error:
        return Attempt(raised=exception_info(error, HARNESS_DIR))


@dataclass(frozen=True)
class Root:
    """A property's root-cause role: it isolates one fact, so other failures may follow from it.

    >>> Root(rank=3).rank, Root(rank=3).condition is None
    (3, True)

    ``rank`` orders the roots, most basic first (lower is more basic; no two alike); a
    failure is put to the roots ranked before it (:mod:`conformance._internal.causes`).
    ``condition``, where given, takes the root's condition out of an example without changing
    what the rule expects (e.g. lifts weight norms below eps): a failure follows from such a
    root only if it goes away without the condition.
    """

    rank: int
    condition: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Property:
    """One checkable property of one clause: what is done to the targets, what is decided."""

    id: str
    """Unique id, ``<family stem>.<function>``, e.g. ``agc.bound_respected`` (a property
    declared outside the bundled packages: ``<module>.<function>``)."""
    clause: str
    """The clause id it checks, e.g. ``AGC-003``."""
    roles: tuple[str, ...]
    """Every role the check uses; it is run only when all of them are given."""
    act: Callable[[Targets, Any], Any]
    """Worker half: ``act(targets, example) -> observation`` (plain data)."""
    decide: Callable[[Any, Any], None]
    """Judge half: ``decide(example, observation)``; AssertionError on a violation."""
    strategy: SearchStrategy[Any] | Callable[[Domain], Any] | None = None
    """The examples: a strategy, a function of the target's :class:`~conformance.domain.Domain`
    giving one (or :class:`~conformance.domain.NotApplicable`), or None for one plain call."""
    max_examples: int | None = None
    """Cap on examples for an expensive property (the profile's count applies below it)."""
    doc: str = ""
    module: str = ""
    """The module a worker imports to find this property (default: the act's module)."""
    examples: Sequence[Any] | Callable[[Domain], Sequence[Any]] = ()
    """Explicit examples run before the drawn ones (or a function of the domain giving them)."""
    root: Root | None = None
    """Its root-cause role (None: it is not a root), see :class:`Root`."""
    rule: bool = False
    """Whether it is *the* rule a root's failure is put back to once the root's condition is
    taken out (at most one property says so; see :mod:`conformance._internal.causes`)."""

    @property
    def home(self) -> str:
        return self.module or getattr(self.act, "__module__", "") or ""

    def strategy_for(self, domain: Domain) -> SearchStrategy[Any] | NotApplicable | None:
        """The strategy inside ``domain`` (NotApplicable when it cannot draw there)."""
        if self.strategy is None or isinstance(self.strategy, SearchStrategy):
            return self.strategy
        made = self.strategy(domain)
        if not isinstance(made, (SearchStrategy, NotApplicable)):
            raise TypeError(f"{self.id}: its strategy function returned {made!r}")
        return made

    def examples_for(self, domain: Domain) -> tuple[Any, ...]:
        """The explicit examples inside ``domain``."""
        found = self.examples(domain) if callable(self.examples) else self.examples
        return tuple(found)

    def check(self, targets: Targets, example: Any) -> None:
        """Both halves in this process, the observation passed through the wire format as
        between processes: for reproduction scripts and debugging, never for verdicts."""
        observation = self.act(targets, example)
        self.decide(example, decode(*encode(observation)))


_REGISTRY: dict[str, Property] = {}

_BUNDLED = "conformance.properties."


def _id_prefix(module: str) -> str:
    """A property id's prefix: the clause family's stem for the bundled properties
    (``conformance.properties.agc.rule`` -> ``agc``), the module's last name otherwise.

    >>> _id_prefix("conformance.properties.agc.rule"), _id_prefix("my_checks")
    ('agc', 'my_checks')
    """
    if module.startswith(_BUNDLED):
        return module[len(_BUNDLED) :].split(".", 1)[0]
    return module.rsplit(".", 1)[-1]


def conformance_property(
    clause: str,
    *,
    roles: tuple[str, ...],
    act: Callable[[Targets, Any], Any],
    strategy: SearchStrategy[Any] | Callable[[Domain], Any] | None = None,
    max_examples: int | None = None,
    name: str | None = None,
    doc: str | None = None,
    examples: Sequence[Any] | Callable[[Domain], Sequence[Any]] = (),
    root: Root | None = None,
    rule: bool = False,
) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    """Register the decorated ``decide(example, observation)`` with its ``act`` (module doc).

    The property id is ``<family stem>.<name>`` (``name`` defaults to the function's name);
    ``root`` / ``rule`` declare its root-cause role (:class:`Root`, :attr:`Property.rule`).
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}: allowed are {', '.join(ROLES)}")

    def register(decide: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        module = decide.__module__
        pid = f"{_id_prefix(module)}.{name or decide.__name__}"
        if pid in _REGISTRY:
            raise RuntimeError(f"property {pid} registered twice")
        text = doc if doc is not None else (decide.__doc__ or "")
        _REGISTRY[pid] = Property(
            id=pid,
            clause=clause,
            roles=roles,
            act=act,
            decide=decide,
            strategy=strategy,
            max_examples=max_examples,
            doc=text.strip().splitlines()[0] if text.strip() else "",
            module=module,
            examples=examples,
            root=root,
            rule=rule,
        )
        return decide

    return register


def _module_properties(module: Any) -> Iterator[Property]:
    for value in vars(module).values():
        if isinstance(value, Property):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, Property))


def find_property(module: str, pid: str) -> Property:
    """The property ``pid`` declared in ``module`` (registered, or a module-level
    :class:`Property`); LookupError otherwise. Used by workers, which get both names."""
    if pid in _REGISTRY:
        return _REGISTRY[pid]
    mod = importlib.import_module(module)
    for prop in _module_properties(mod):
        if prop.id == pid:
            return prop
    if pid in _REGISTRY:
        return _REGISTRY[pid]
    raise LookupError(f"no property {pid!r} in module {module!r}")


def registered() -> tuple[Property, ...]:
    """Every property registered so far, in registration order."""
    return tuple(_REGISTRY.values())
