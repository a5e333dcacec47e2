"""Root causes: which failing clause a failure follows from.

Internal. One fact about an implementation often fails several clauses under unrelated
titles (an AGC with no eps floor fails the unit rule, the bound, the reference, the eps
guard, ...). After a run, each counted failure's counterexample is put to the *more
basic* properties of :data:`ROOTS` (same roles, earlier in the list, of a clause that
failed in this run too); the first that also fails on it is the failure's
``follows_from``. Two roots isolate a condition that can be taken out of an example
without changing what the rule expects (:data:`CONDITIONS`): a weight norm below eps (the
eps guard) and a rank-0/1 tensor. A failure follows from such a root only if it goes away
once the condition is taken out; and the root's own failure follows from the unit rule
when the rule still fails without the condition. The report then opens with the failing
clauses that follow from no other (:meth:`conformance.report.Report.root_causes`).

Each property declares its role itself: ``root=Root(rank, condition)`` or ``rule=True`` of
:func:`~conformance.framework.conformance_property`; :func:`roots_of` derives the lists.

Two more facts are said once, whatever the number of clauses they touch
(:class:`conformance.report.Finding`): an exception of the target — :func:`raised_fact` records
its type, message, the target's line (:func:`target_line`) and the counterexample's tensors
(:func:`tensors_in`) on each ``error`` so the report can group them — and a target that hangs:
:class:`HangWatch` gives up on a role after :data:`GIVE_UP_AFTER` timeouts in a row.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import torch

from conformance._internal.host import WorkerCrashed, WorkerTimeout
from conformance._internal.session import Session
from conformance._internal.wire import ExceptionInfo
from conformance.properties import PROPERTIES, Property
from conformance.report import Result
from conformance.strategies.tensors import LocalityCase

__all__ = [
    "CONDITIONS",
    "GIVE_UP_AFTER",
    "ROOTS",
    "HangWatch",
    "explain",
    "raised_fact",
    "roots_of",
    "target_line",
    "tensors_in",
]


def roots_of(
    properties: Sequence[Property],
) -> tuple[tuple[str, ...], dict[str, Callable[[Any], Any]], str | None]:
    """What ``properties`` declare of their root-cause roles (``root=Root(...)``, ``rule=True``):
    the root ids ordered by rank (most basic first), each root's condition-removing transform
    (:data:`CONDITIONS`), and the rule's id (None when none declares it).

    >>> from conformance.properties import PROPERTIES
    >>> roots, conditions, rule = roots_of(PROPERTIES)
    >>> roots[0], sorted(conditions), rule
    ('agc.weights_untouched', ['agc.eps_guard', 'agc.rank_le1_is_one_unit'], 'agc.unit_rule')
    """
    declared = [(p.id, p.root) for p in properties if p.root is not None]
    ranks: dict[int, str] = {}
    for pid, root in declared:
        if root.rank in ranks:
            raise ValueError(
                f"properties {ranks[root.rank]} and {pid} declare the same root rank "
                f"{root.rank}: each root needs a rank of its own"
            )
        ranks[root.rank] = pid
    roots = tuple(ranks[r] for r in sorted(ranks))
    conditions = {pid: root.condition for pid, root in declared if root.condition is not None}
    rules = [p.id for p in properties if p.rule]
    if len(rules) > 1:
        raise ValueError(f"properties {rules} all declare rule=True: at most one may")
    return roots, conditions, (rules[0] if rules else None)


ROOTS: tuple[str, ...]
"""Properties that isolate one fact each, most basic first (from their ``root=`` declarations)."""
CONDITIONS: dict[str, Callable[[Any], Any]]
"""Root -> a transform of an example that removes the root's condition (None: not there)."""
_RULE: str | None
"""The property a root's failure is put back to without its condition (``rule=True``)."""
ROOTS, CONDITIONS, _RULE = roots_of(PROPERTIES)

_CALL_LIMIT = 30.0

Lookup = Callable[[str], Property | None]


def _fails_on(prop: Property | None, example: Any, session: Session) -> bool:
    """Whether ``prop``'s check fails (its decision asserts) on ``example``."""
    if prop is None or example is None:
        return False
    try:
        worker = session.worker(prop.roles)
        reply = worker.act(prop.home, prop.id, example, _CALL_LIMIT)
    except (WorkerCrashed, WorkerTimeout):
        session.discard(prop.roles)
        return False
    if "ok" not in reply:
        return False
    try:
        prop.decide(example, reply["ok"])
    except AssertionError:
        return True
    except Exception:
        return False  # not this property's kind of example
    return False


def _cause(
    result: Result, example: Any, roots: set[str], session: Session, lookup: Lookup
) -> str | None:
    """The root clause ``result``'s counterexample also breaks, or None."""
    mine = lookup(result.property)
    position = ROOTS.index(result.property) if result.property in ROOTS else len(ROOTS)
    for pid in ROOTS[:position]:
        basic = lookup(pid)
        if basic is None or basic.roles != tuple(result.roles):
            continue
        if basic.clause == result.clause or basic.clause not in roots:
            continue
        if not _fails_on(basic, example, session):
            continue
        remove = CONDITIONS.get(pid)
        if remove is not None and _fails_on(mine, remove(example), session):
            continue  # it still fails without the root's condition: not its cause
        return basic.clause
    remove = CONDITIONS.get(result.property)
    rule = None if _RULE is None else lookup(_RULE)
    if remove is None or rule is None or rule.clause == result.clause:
        return None
    if _fails_on(rule, remove(example), session):
        return rule.clause  # the condition does not matter: the rule itself is broken
    return None


def _as_case(example: Any) -> Any:
    """The AGC case inside an example of another kind (a locality example's base case)."""
    return example.case if isinstance(example, LocalityCase) else example


def explain(
    results: Sequence[Result],
    counterexamples: dict[str, Any],
    session: Session,
    lookup: Lookup,
    counted: Callable[[Result], bool],
) -> None:
    """Set ``follows_from`` on each counted failure explained by a more basic failing clause.

    Failures are taken most basic first; only a clause already found to be a root cause can
    explain another (so one fact is never filed under an unrelated one through a chain). A role
    that timed out anywhere in the run is not probed: a hanging target is not waited on again."""
    hung = {r.roles for r in results if r.status == "timeout"}
    failed = [
        r
        for r in results
        if counted(r)
        and r.status == "failed"
        and r.property in counterexamples
        and r.roles not in hung
    ]
    failed.sort(key=lambda r: ROOTS.index(r.property) if r.property in ROOTS else len(ROOTS))
    roots: set[str] = set()
    for result in failed:
        example = _as_case(counterexamples[result.property])
        result.follows_from = _cause(result, example, roots, session, lookup)
        if result.follows_from is None:
            roots.add(result.clause)
    for result in failed:  # filed under the rule, which itself turned out to follow from a root
        if result.follows_from is None or result.follows_from in roots:
            continue
        result.follows_from = _rerooted(result, counterexamples, failed, roots, session, lookup)
        if result.follows_from is None:
            roots.add(result.clause)


def _rerooted(
    result: Result,
    counterexamples: dict[str, Any],
    failed: Sequence[Result],
    roots: set[str],
    session: Session,
    lookup: Lookup,
) -> str | None:
    """The root that the clause ``result`` was filed under follows from, if ``result``'s own
    example (without its condition) breaks that root too."""
    remove = CONDITIONS.get(result.property, lambda e: e)
    example = remove(_as_case(counterexamples[result.property]))
    for other in failed:
        if other.clause != result.follows_from or other.follows_from not in roots:
            continue
        for pid in ROOTS:
            basic = lookup(pid)
            hit = basic is not None and basic.clause == other.follows_from
            if hit and _fails_on(basic, example, session):
                return other.follows_from
    return None


# -- findings: what an exception of the target needs to be grouped (conformance.report.Finding)

_CALLED_FROM = re.compile(r"\(called from (.+)\)\s*$")
_RAISED_AT = re.compile(r"^raised at (.+?)(?: \(called from .+\))?\s*$")


def target_line(info: ExceptionInfo) -> str:
    """The line of the target an exception came from, ``FILE:LINE in FUNCTION``: the deepest
    frame of the target's own code (the caller when it was raised inside torch or the standard
    library); "" when no frame of the target is known.

    >>> target_line(ExceptionInfo("builtins.RuntimeError", (), "x",
    ...     "raised at /t/torch/functional.py:9 in norm (called from /me/agc.py:22 in unit)"))
    '/me/agc.py:22 in unit'
    >>> target_line(ExceptionInfo("builtins.ValueError", (), "x", "raised at /me/agc.py:3 in agc"))
    '/me/agc.py:3 in agc'
    """
    where = info.where.strip()
    called = _CALLED_FROM.search(where)
    if called:
        return called.group(1)
    raised = _RAISED_AT.match(where)
    return raised.group(1) if raised else ""


def _shape_of(nested: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(nested, (list, tuple)):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return tuple(shape)


def tensors_in(example: Any, depth: int = 0) -> list[tuple[tuple[int, ...], str]]:
    """``(shape, dtype)`` of each tensor an example describes (an AGC case's parameters, a
    seeded parameter, a tensor itself), looking into dataclasses and their tuples and lists.

    >>> from conformance.strategies.tensors import AGCCase, ParamCase, SeededParam
    >>> tensors_in(AGCCase((ParamCase([[[[0.0]]]], None), SeededParam((2, 3), "float16"))))
    [((1, 1, 1, 1), 'float32'), ((2, 3), 'float16')]
    """
    if depth > 8:
        return []
    if isinstance(example, torch.Tensor):
        return [(tuple(example.shape), str(example.dtype).removeprefix("torch."))]
    if dataclasses.is_dataclass(example) and not isinstance(example, type):
        dtype = getattr(example, "dtype", None)
        if isinstance(dtype, str):
            shape = getattr(example, "shape", None)
            if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
                return [(shape, dtype)]
            if hasattr(example, "weight"):
                return [(_shape_of(example.weight), dtype)]
        found = []
        for item in dataclasses.fields(example):
            found += tensors_in(getattr(example, item.name, None), depth + 1)
        return found
    if isinstance(example, (list, tuple)) and len(example) <= 256:
        found = []
        for item in example:
            if isinstance(item, (torch.Tensor, list, tuple)) or dataclasses.is_dataclass(item):
                found += tensors_in(item, depth + 1)
        return found
    return []


def raised_fact(info: ExceptionInfo, example: Any) -> dict[str, Any] | None:
    """What :attr:`conformance.report.Result.raised` holds for an exception the target raised
    on ``example``: its type, message and line, and the example's tensor ranks, dtypes and
    size (None when no line of the target is known: nothing to group it by)."""
    line = target_line(info)
    if not line:
        return None
    tensors = tensors_in(example)
    return {
        "type": info.type,
        "message": info.message,
        "line": line,
        "ranks": sorted({len(shape) for shape, _ in tensors}),
        "dtypes": sorted({dtype for _, dtype in tensors}),
        "size": sum(math.prod(shape) for shape, _ in tensors) if tensors else None,
    }


# -- a hanging target: given up after timeouts in a row ------------------------------------------

GIVE_UP_AFTER = 3
"""Timeouts in a row of one role after which its remaining properties are not run (each a
``timeout`` result saying why) instead of each waiting out the time limit."""


class HangWatch:
    """Counts each role's timeouts in a row and says when to give up on it.

    A property's timeout counts for its roles together (``("agc",)``, ``("agc", "clip")``); any
    other outcome of a property that ran (passed, failed, error, crashed) ends the streak of
    its roles and of each of them alone. Once a streak reaches ``after``, every later property
    of those roles (or of one of them, when the streak is one role's own) is not run.

    >>> from conformance.report import Result
    >>> watch = HangWatch(2)
    >>> for p in ("agc.a", "agc.b"):
    ...     watch.seen(Result("AGC-001", "MUST", "", p, ("agc",), "timeout"))
    >>> watch.hung(("agc",)), watch.hung(("torch_config",))
    (('agc',), None)
    >>> watch.why(("agc",))[:72]
    'not run: the agc target reached the time limit on 2 properties in a row '
    """

    def __init__(self, after: int = GIVE_UP_AFTER) -> None:
        if isinstance(after, bool) or not isinstance(after, int) or after < 1:
            raise ValueError(
                f"give up after {after!r} timeouts: allowed is a whole number >= 1 (None: never)"
            )
        self.after = after
        self.streak: dict[tuple[str, ...], list[str]] = {}
        self.given_up: dict[str, list[str]] = {}
        """Role key (``agc``, ``agc+clip``) -> the properties not run."""

    def hung(self, roles: Sequence[str]) -> tuple[str, ...] | None:
        """The roles (all of ``roles``, or one of them) given up on, or None."""
        for key in [tuple(roles)] + [(r,) for r in roles if len(roles) > 1]:
            if len(self.streak.get(key, ())) >= self.after:
                return key
        return None

    def why(self, key: tuple[str, ...]) -> str:
        """The message of a property not run because the roles ``key`` hang."""
        waited = self.streak[key]
        return (
            f"not run: the {'+'.join(key)} target reached the time limit on {len(waited)} "
            f"properties in a row ({', '.join(waited)}): it hangs, so its other properties are "
            f"not waited on (give up after {self.after})"
        )

    def skip(self, key: tuple[str, ...], prop: Property) -> None:
        """Record that ``prop`` was not run because ``key`` hangs."""
        self.given_up.setdefault("+".join(key), []).append(prop.id)

    def seen(self, result: Result) -> None:
        """Count ``result`` (a property that was run) in its roles' streaks."""
        key = tuple(result.roles)
        if result.status == "timeout":
            self.streak.setdefault(key, []).append(result.property)
        elif result.status not in ("skipped", "not_applicable"):
            self.streak[key] = []
            for role in key:
                self.streak[(role,)] = []
