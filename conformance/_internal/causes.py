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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conformance._internal.host import WorkerCrashed, WorkerTimeout
from conformance._internal.session import Session
from conformance.properties import PROPERTIES, Property
from conformance.report import Result
from conformance.strategies.tensors import LocalityCase

__all__ = ["CONDITIONS", "ROOTS", "explain", "roots_of"]


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
    explain another (so one fact is never filed under an unrelated one through a chain)."""
    failed = [
        r for r in results if counted(r) and r.status == "failed" and r.property in counterexamples
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
