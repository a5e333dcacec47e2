"""Root causes: which failing clause a failure follows from.

Internal. One fact about an implementation often fails several clauses under unrelated
titles (an AGC with no eps floor fails the unit rule, the bound, the reference, the eps
guard, ...). After a run, each counted failure's counterexample is put to the *more
basic* properties of :data:`ROOTS` (same roles, earlier in the list, of a clause that
failed in this run too); the first that also fails on it is the failure's
``follows_from``. The report then opens with the failing clauses that follow from no
other (:meth:`conformance.report.Report.root_causes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conformance._host import WorkerCrashed, WorkerTimeout
from conformance._session import Session
from conformance.properties import Property
from conformance.report import Result

__all__ = ["ROOTS", "explain"]

ROOTS: tuple[str, ...] = (
    "agc.weights_untouched",
    "agc.eps_guard",
    "agc.zero_grad_stays_zero",
    "agc.default_axis_is_dim0",
    "agc.rank_le1_is_one_unit",
    "agc.unit_rule",
    "agc.clipped_units_on_bound",
    "agc.unclipped_units_bitwise",
    "spectral.real_output",
    "spectral.both_frequency_corners",
    "block.forward_shape",
    "block.identity_at_init",
    "generator.output_shape",
    "generator.stable_output_shape",
)
"""Properties that isolate one fact each, most basic first."""

_CALL_LIMIT = 30.0


def _fails_on(prop: Property, example: Any, session: Session) -> bool:
    """Whether ``prop``'s check fails (its decision asserts) on ``example``."""
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


def explain(
    results: Sequence[Result],
    counterexamples: dict[str, Any],
    session: Session,
    lookup: Callable[[str], Property | None],
    counted: Callable[[Result], bool],
) -> None:
    """Set ``follows_from`` on each counted failure explained by a more basic failing clause."""
    failing = {r.clause for r in results if counted(r)}
    for result in results:
        if not counted(result) or result.status != "failed":
            continue
        if result.property not in counterexamples:
            continue
        example = counterexamples[result.property]
        mine = ROOTS.index(result.property) if result.property in ROOTS else len(ROOTS)
        for pid in ROOTS[:mine]:
            basic = lookup(pid)
            if basic is None or basic.roles != tuple(result.roles):
                continue
            if basic.clause == result.clause or basic.clause not in failing:
                continue
            if _fails_on(basic, example, session):
                result.follows_from = basic.clause
                break
