"""Name the fact: which known AGC variant a failing ``agc`` target behaves like.

>>> from conformance.diagnose import PROBES, fits
>>> from spec.variants import PLAN, behaviour
>>> case = PROBES[0][1]
>>> params = case.make_params()
>>> fits(PLAN, case, {"params": [{"grad": p.grad} for p in params]})   # untouched: no fit
False
>>> [name for name, _ in PROBES][:3]
['rank 2', 'rank 3', 'rank 4']

After a run in which the ``agc`` role fails a counted clause, :func:`diagnose` asks the
target's worker for its gradients (the act :data:`OUTPUTS`: the role's canonical call, in
the worker, as every property's act) on the failing properties' counterexamples and on a few
fixed :data:`PROBES` made to tell the variants apart, and fits them, in the judge, against
every :class:`~spec.variants.Behaviour` of :data:`spec.variants.CATALOGUE` (the plan's rule
combined with the known deviations). A behaviour fits an example when every gradient entry
is where the behaviour's float64 reference puts it, within the rounding that AGC-017 allows
(units within the rounding band of their bound may go either way). The behaviours that fit
every example, fewest deviations first, are the diagnosis: the report's ``behaves_like``
line names them and the examples they were checked on, says "the plan's rule" when the
formula is right and the failures lie elsewhere, or says that no known variant fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance._internal.host import WorkerCrashed, WorkerTimeout
from conformance._internal.session import Session
from conformance.domain import Domain
from conformance.framework import Property
from conformance.properties._numeric import as64, band, slack
from conformance.properties.agc._acts import act_once
from conformance.properties.agc._seen import before, grad_after
from conformance.report import Result
from conformance.strategies.tensors import AGCCase, LocalityCase, ParamCase
from spec.variants import PLAN, Behaviour, behaviours, variant_reference

__all__ = ["OUTPUTS", "PROBES", "Diagnosis", "diagnose", "fits", "fitting"]

_CALL_LIMIT = 20.0
_MAX_COUNTEREXAMPLES = 8


def _no_decision(example: Any, observation: Any) -> None:
    """The diagnosis decides nothing per example: :func:`fitting` reads the observations."""


OUTPUTS = Property(
    id="diagnose.outputs",
    clause="",
    roles=("agc",),
    act=act_once,
    decide=_no_decision,
    doc="The agc target's gradients after one canonical call (for the diagnosis).",
    module=__name__,
)
"""The worker side: one canonical call of the ``agc`` target (not a property of any clause)."""


def _param(weight: Any, grad: Any, dtype: str = "float32") -> ParamCase:
    return ParamCase(weight, grad, dtype)


_CUBE = [[[2.0, 0.0, 1e-3], [0.0, 0.5, 0.0]], [[1e-3, 2e-3, 0.0], [3.0, 0.0, 4.0]]]
_ROWS = [[3.0, -4.0, 0.0, 12.0], [0.03, 0.0, 0.04, -0.01], [1.5e-3, 0.0, -2e-3, 0.0]]

PROBES: tuple[tuple[str, AGCCase], ...] = (
    (
        "rank 2",
        AGCCase(
            (
                _param(_ROWS, [[30.0, 40.0, -1.0, 2.0], [1e-4, 2e-4, 0.0, -1e-4],
                               [0.02, -0.05, 0.01, 0.0]]),
                _param([[0.0, 0.0], [1.0, 1e-3]], [[1.01e-5, 0.0], [0.5, 0.25]]),
            ),
            clip_factor=0.01,
            eps=1e-3,
        ),
    ),
    (
        "rank 3",
        AGCCase(
            (
                _param(_CUBE, [[[1.0, -2.0, 0.5], [0.25, 0.0, 3.0]],
                               [[0.1, 0.0, -0.2], [1e-3, 2e-3, 0.0]]]),
            ),
            clip_factor=0.1,
            eps=1e-3,
        ),
    ),
    (
        "rank 4",
        AGCCase(
            (
                _param([[[[2.0, 0.0], [1e-3, 0.5]], [[0.0, 3.0], [0.0, 4.0]]],
                        [[[1e-3, 0.0], [0.0, 2e-3]], [[0.1, 0.0], [0.0, -0.2]]]],
                       [[[[1.0, 0.5], [0.0, 2.0]], [[0.3, 0.0], [-1.0, 0.0]]],
                        [[[0.2, 0.0], [0.1, 0.0]], [[0.0, 5e-3], [0.05, 0.0]]]]),
            ),
            clip_factor=0.1,
            eps=1e-3,
        ),
    ),
    (
        "vectors",
        AGCCase(
            (
                _param([1e-3, -1e-3, 0.0], [0.02, 0.0, -0.01]),
                _param([3.0, 4.0], [0.5, -2.0]),
                _param(0.0, 3e-5),
            ),
            clip_factor=0.01,
            eps=1e-3,
        ),
    ),
    (
        "bound below 1e-6",
        AGCCase(
            (_param([[0.0, 0.0], [0.0, 0.0], [1e-3, 0.0]], [[1e-7, 0.0], [3e-9, -4e-9],
                                                           [0.0, 2e-3]]),),
            clip_factor=0.01,
            eps=1e-6,
        ),
    ),
    (
        "NaN gradient",
        AGCCase(
            (_param([[1.0, 0.0], [2.0, 0.0]], [[float("nan"), 1e-3], [3.0, 4.0]]),),
            clip_factor=0.01,
            eps=1e-3,
        ),
    ),
    (
        "float16",
        AGCCase(
            (
                _param([[300.0, 0.0], [0.5, 0.0]], [[400.0, 0.0], [3.0, 4.0]], "float16"),
                _param([2.0, 1.0], [300.0, 0.0], "float16"),
            ),
            clip_factor=0.01,
            eps=1e-3,
        ),
    ),
)  # fmt: skip
"""Fixed cases that tell the catalogue's variants apart: units of their own decades in
tensors of rank 2, 3 and 4 (the unit axes), weight norms near eps and zero (the bound's
floor), gradient norms near eps (the scale), a bound below 1e-6 (floors on ‖G‖), a NaN
gradient (the comparison), float16 norms above 256 (half-precision accumulation)."""


def _in_domain(case: AGCCase, domain: Domain) -> bool:
    return all(
        p.dtype in domain.dtypes and p.ndim <= domain.max_rank for p in case.params
    ) and domain.allows_clip_factor(case.clip_factor)


@dataclass(frozen=True)
class _Seen:
    """One observation, read once: the parameters before the call and the gradients after."""

    case: AGCCase
    params: list[Any]
    weights: list[Any]
    grads: list[Any]
    got: list[Any]


def _read(case: AGCCase, seen: Mapping[str, Any]) -> _Seen | None:
    """The observation against its case (None: it cannot be read as gradients of the case)."""
    try:
        params, weights, grads = before(case)
        observed = list(seen["params"])
        if len(observed) != len(params):
            return None
        got = [
            None if g is None else as64(grad_after(f)) for g, f in zip(grads, observed, strict=True)
        ]
    except (AssertionError, KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    return _Seen(case, params, weights, grads, got)


def _agrees(rule: Behaviour, seen: _Seen) -> bool:
    case = seen.case
    dtypes = [p.dtype for p in case.params]
    try:
        want, ratios = variant_reference(
            seen.weights, seen.grads, case.clip_factor, case.eps, rule, dtypes
        )
    except ValueError:
        return False
    rows = zip(seen.params, seen.grads, seen.got, want, ratios, strict=True)
    for p, old, got, new, ratio in rows:
        if old is None or got is None or new is None or ratio is None:
            continue
        if got.shape != new.shape:
            return False
        with np.errstate(invalid="ignore", over="ignore"):
            near = np.abs(ratio - 1) < band(p.dtype)
            close = np.abs(got - new) <= slack(old, new, p.dtype)
        both_nan = np.isnan(got) & np.isnan(new)
        same_inf = np.isinf(new) & (got == new)
        if not bool(np.all(near | close | both_nan | same_inf)):
            return False
    return True


def fits(rule: Behaviour, case: AGCCase, seen: Mapping[str, Any]) -> bool:
    """Whether the gradients ``seen`` after a call on ``case`` are what ``rule`` gives, entry
    by entry, within the rounding AGC-017 allows (units within the rounding band of their
    bound may go either way)."""
    read = _read(case, seen)
    return read is not None and _agrees(rule, read)


def fitting(
    observed: Sequence[tuple[AGCCase, Mapping[str, Any]]],
    candidates: Sequence[Behaviour] | None = None,
) -> list[Behaviour]:
    """The candidates (default: every behaviour, fewest deviations first) that fit every
    observation, in the same order."""
    alive = list(behaviours() if candidates is None else candidates)
    for case, seen in observed:
        read = _read(case, seen)
        alive = [] if read is None else [rule for rule in alive if _agrees(rule, read)]
        if not alive:
            break
    return alive


@dataclass(frozen=True)
class Diagnosis:
    """The behaviours that fit (fewest deviations, all equally simple) and what was checked."""

    rules: tuple[Behaviour, ...]
    """Empty: no known variant fits."""
    checked: tuple[str, ...]
    """The examples fitted: ``the counterexample of AGC-005 (agc.clipped_units_on_bound)``,
    ``probe: rank 2``, ..."""

    def line(self) -> str:
        """The report's ``behaves like`` text."""
        on = f"(fitted on {_listed(self.checked)})"
        if not self.rules:
            return f"none of the known AGC variants (spec.variants.CATALOGUE) {on}"
        if self.rules[0] == PLAN:
            return f"the plan's rule: its failures are not in the formula {on}"
        names = " or: ".join(rule.describe() for rule in self.rules)
        return f"{names} {on}"


def _listed(items: Sequence[str]) -> str:
    """``the counterexamples of AGC-002, AGC-005 and 3 probe cases (rank 2, ...)``."""
    clauses = sorted({i.split(" ", 1)[0] for i in items if not i.startswith("probe: ")})
    probes = [i.removeprefix("probe: ") for i in items if i.startswith("probe: ")]
    parts = []
    if clauses:
        parts.append(f"the counterexample{'s' if len(clauses) > 1 else ''} of {', '.join(clauses)}")
    if probes:
        many = "s" if len(probes) > 1 else ""
        parts.append(f"{len(probes)} probe case{many} ({', '.join(probes)})")
    return " and ".join(parts) or "no example"


def _case(example: Any) -> AGCCase | None:
    inner = example.case if isinstance(example, LocalityCase) else example
    return inner if isinstance(inner, AGCCase) else None


class _Hung(Exception):
    """The target did not answer a probe in time: a hanging target is not probed further."""


def _observe(session: Session, case: AGCCase) -> Mapping[str, Any] | None:
    """The target's gradients after one canonical call on ``case`` (None: it raised or crashed
    there). Raises :class:`_Hung` when it did not answer within the limit."""
    try:
        worker = session.worker(OUTPUTS.roles)
        reply = worker.act(OUTPUTS.home, OUTPUTS.id, case, _CALL_LIMIT)
    except WorkerCrashed:
        session.discard(OUTPUTS.roles)
        return None
    except WorkerTimeout:
        session.discard(OUTPUTS.roles)
        raise _Hung from None
    seen = reply.get("ok")
    return seen if isinstance(seen, dict) else None


def diagnose(
    results: Sequence[Result],
    counterexamples: Mapping[str, Any],
    session: Session,
    strict: bool = False,
) -> Diagnosis | None:
    """Fit the ``agc`` target's gradients on the counterexamples of its counted failures and on
    the :data:`PROBES` inside its domain; None when the ``agc`` role has no counted failure,
    no example could be observed, or the target hangs (a timeout in the run or on a probe: a
    hanging target is not waited on again to name what it computes)."""
    failing = [r for r in results if r.roles == ("agc",) and r.counts(strict)]
    if "agc" not in session.targets or not failing:
        return None
    if any(r.roles == ("agc",) and r.status == "timeout" for r in results):
        return None
    examples: list[tuple[str, AGCCase]] = []
    seen_reprs: set[str] = set()
    for r in failing:
        case = _case(counterexamples.get(r.property))
        if case is None or repr(case) in seen_reprs:
            continue
        seen_reprs.add(repr(case))
        examples.append((f"{r.clause} ({r.property})", case))
        if len(examples) >= _MAX_COUNTEREXAMPLES:
            break
    domain = session.domain(OUTPUTS.roles)
    probes = [(f"probe: {name}", case) for name, case in PROBES if _in_domain(case, domain)]
    observed: list[tuple[AGCCase, Mapping[str, Any]]] = []
    checked: list[str] = []
    for label, case in [*probes, *examples]:  # small probes first: they rule out most rules
        try:
            seen = _observe(session, case)
        except _Hung:
            return None
        if seen is not None:
            observed.append((case, seen))
            checked.append(label)
    if not observed:
        return None
    alive = fitting(observed)
    simplest = [r for r in alive if len(r.deviations) == len(alive[0].deviations)] if alive else []
    order = [
        *(c for c in checked if not c.startswith("probe: ")),
        *(c for c in checked if c.startswith("probe: ")),
    ]
    return Diagnosis(tuple(simplest), tuple(order))
