"""Run the conformance properties against targets and collect a :class:`~conformance.report.Report`.

>>> from conformance.runner import run_conformance
>>> report = run_conformance({"torch_config": "spec:TorchTrainingConfig"}, clauses=["CFG-002"])
>>> [(r.clause, r.status) for r in report.results]
[('CFG-002', 'passed')]

Each property becomes one Hypothesis test (``given(prop.strategy)``, or one
plain call when the strategy is None) under the profile's settings: an
explicit seed derived from ``seed`` and the property id, no example database,
no deadline, one bug reported. The last example that made the check raise is
the shrunk counterexample (Hypothesis replays it last).

Classification: the check raising ``AssertionError`` -> ``failed``; any other
exception (the target raised, or returned something the check could not use)
-> ``error``; a property whose roles are not all given -> ``skipped``; an
xfail entry turns failed/error into ``xfailed`` and passed into ``xpassed``.
Each property runs in a worker thread under the profile's time limit: a hung
target is stopped (an exception is raised in the worker) and reported as an
error on that property, and the run goes on. Target code stuck inside one
native call cannot be interrupted; the worker is then abandoned (it is a daemon
thread) and the run goes on all the same.
"""

from __future__ import annotations

import ctypes
import fnmatch
import queue
import re
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import errors as hyp_errors

from conformance.profiles import Profile, get_profile
from conformance.properties import PROPERTIES, Property, Targets
from conformance.report import Report, Result, Status
from conformance.targets import DEFAULT_TARGETS, ROLE_FLAGS, resolve_targets
from conformance.xfail import XfailEntry, load_xfail, match_xfail, unused_entries

__all__ = ["reproduction", "run_conformance", "run_property", "select_properties"]

_CONFORMANCE_DIR = str(Path(__file__).resolve().parent)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_MAX_MESSAGE = 6000
_GRACE = 2.0
_NOTHING = object()


class _TimeLimitReached(BaseException):
    """Raised inside a worker that ran past its time limit (BaseException: Hypothesis lets it
    through instead of treating it as a failing example)."""


@dataclass
class _State:
    calls: int = 0
    first_failure: int = 0
    failing: Any = _NOTHING
    error: BaseException | None = None
    cancelled: bool = False
    """Set at the time limit: the next example raises, for a target that ignored the stop."""


def _clean(text: str) -> str:
    text = _ADDRESS.sub("0x…", text)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + f" … ({len(text) - _MAX_MESSAGE} more characters)"
    return text


def _seed_for(base: int, prop: Property) -> int:
    return zlib.crc32(f"{base}:{prop.id}".encode())


def _settings(examples: int, shrink: bool) -> settings:
    phases = (
        (Phase.explicit, Phase.generate, Phase.shrink)
        if shrink
        else (Phase.explicit, Phase.generate)
    )
    return settings(
        max_examples=examples,
        derandomize=False,  # the explicit @seed makes runs reproducible and honours --seed
        database=None,
        deadline=None,
        phases=phases,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )


def _test_function(
    prop: Property, targets: Targets, state: _State, examples: int, run_seed: int, shrink: bool
) -> Callable[[], None]:
    def call(example: Any) -> None:
        if state.cancelled:
            raise _TimeLimitReached
        state.calls += 1
        try:
            prop.check(targets, example)
        except _TimeLimitReached:
            raise
        except BaseException as error:
            if not state.first_failure:
                state.first_failure = state.calls
            state.failing, state.error = example, error
            raise

    if prop.strategy is None:
        return lambda: call(None)

    def test(example: Any) -> None:
        call(example)

    wrapped: Callable[[], None] = seed(run_seed)(
        _settings(examples, shrink)(given(prop.strategy)(test))
    )
    return wrapped


class _Job:
    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.fn()
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()


class _Worker:
    """One long-lived daemon thread running jobs in turn.

    Reused across properties because Hypothesis registers a per-thread random
    generator on a thread's first test, at the cost of a full ``gc.collect()``.
    """

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="conformance-worker", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            try:
                self.jobs.get().run()
            except _TimeLimitReached:
                continue  # a stop request that arrived after its job ended

    def interrupt(self, exc: type[BaseException] | None) -> None:
        """Raise ``exc`` in the worker at its next bytecode (None: cancel a pending one)."""
        ident = self.thread.ident
        if ident is not None:
            target = ctypes.py_object(exc) if exc is not None else ctypes.py_object()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), target)


_WORKER: _Worker | None = None
_WORKER_LOCK = threading.Lock()


def _run_in_worker(
    fn: Callable[[], None], limit: float, cancel: Callable[[], None]
) -> tuple[BaseException | None, str]:
    """Run ``fn`` in the worker thread; returns (exception or None, timeout note or '').

    At the time limit ``cancel()`` is called (so ``fn`` stops at its next step) and an
    exception is raised in the worker; if it does not end within a grace period (stuck
    in one native call) the worker is abandoned with the exception withdrawn, and ``fn``
    stops by itself once that call returns."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None or not _WORKER.thread.is_alive():
            _WORKER = _Worker()
        worker = _WORKER
        job = _Job(fn)
        worker.jobs.put(job)
        if job.done.wait(limit):
            return job.error, ""
        cancel()
        worker.interrupt(_TimeLimitReached)
        stopped = job.done.wait(_GRACE)
        # Either way the next job gets a fresh thread: an exception raised at an arbitrary
        # point may have cut a cleanup short in this one.
        _WORKER = None
        if not stopped:
            worker.interrupt(None)  # not at an arbitrary point later: cancel() stops it cleanly
            return _TimeLimitReached(), "the target did not stop (stuck in native code?): abandoned"
        worker.interrupt(None)  # the job may have ended before the stop request landed
        if job.error is None or isinstance(job.error, _TimeLimitReached):
            return _TimeLimitReached(), "stopped"
        return job.error, ""


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    deepest = frames[-1]
    text = f"raised at {deepest.filename}:{deepest.lineno} in {deepest.name}"
    ours = [f for f in frames if f.filename.startswith(_CONFORMANCE_DIR)]
    if ours and ours[-1] is not deepest:
        text += f" (called from {Path(ours[-1].filename).name}:{ours[-1].lineno})"
    elif ours:
        text += " (in the property's own code: the target's output could not be used)"
    return text


def _describe_error(error: BaseException) -> str:
    head = f"{type(error).__name__}: {error}".rstrip(": ")
    where = _where(error)
    return f"{head}\n{where}" if where else head


def _classify(
    prop: Property, error: BaseException | None, note: str, state: _State, limit: float
) -> tuple[Status, str, Any]:
    """(status, message, counterexample or _NOTHING) for the outcome of one property."""
    if error is None:
        return "passed", "", _NOTHING
    if isinstance(error, _TimeLimitReached):
        if state.error is not None:
            status: Status = "failed" if isinstance(state.error, AssertionError) else "error"
            base = str(state.error) if status == "failed" else _describe_error(state.error)
            message = (
                f"{base}\n(time limit {limit:g} s reached while shrinking: the counterexample "
                "may not be minimal)"
            )
            return status, message, state.failing
        return (
            "error",
            f"time limit of {limit:g} s reached "
            f"{f'during example {state.calls}' if state.calls else 'before the first example'} "
            f"({note}); "
            "the target hangs or is too slow for this profile",
            _NOTHING,
        )
    if isinstance(error, AssertionError):
        return "failed", str(error) or "AssertionError (no message)", state.failing
    if isinstance(error, hyp_errors.Unsatisfiable):
        return "error", f"the strategy could not generate examples: {error}", _NOTHING
    flaky = getattr(hyp_errors, "FlakyFailure", hyp_errors.Flaky)
    if isinstance(error, (hyp_errors.Flaky, flaky)):
        inner = state.error
        detail = f"; it raised {_describe_error(inner)}" if inner is not None else ""
        return (
            "error",
            "flaky: the check failed on an example, then passed when Hypothesis replayed it "
            f"(is the target non-deterministic?){detail}",
            state.failing,
        )
    if isinstance(error, hyp_errors.HypothesisException):
        return "error", f"{type(error).__name__}: {error}", _NOTHING
    return "error", _describe_error(error), state.failing


def reproduction(prop: Property, targets: Targets, example_repr: str | None) -> str:
    """A script that reruns ``prop``'s check on the example against the same targets."""
    lines = [
        f"# reproduce {prop.clause} ({prop.id})",
        "import torch",
        "from conformance.properties import PROPERTIES, Targets",
        "from conformance.strategies import *",
        "from conformance.targets import load_target",
        "",
        "targets = Targets(",
    ]
    for role in prop.roles:
        name = targets.names.get(role, DEFAULT_TARGETS.get(role, "?"))
        lines.append(f"    {role}=load_target({name!r}, role={role!r}),")
    lines += [
        ")",
        f"example = {example_repr if example_repr is not None else 'None'}",
        f"check = next(p for p in PROPERTIES if p.id == {prop.id!r}).check",
        "check(targets, example)  # raises where the report says it failed",
    ]
    return "\n".join(lines)


def run_property(
    prop: Property,
    targets: Targets,
    profile: Profile | str = "quick",
    seed: int = 0,
    time_limit: float | None = None,
) -> Result:
    """Check one property against ``targets`` (every role it uses must be set)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    level, title = _clause_info(prop.clause)
    limit = prof.time_limit if time_limit is None else time_limit
    state = _State()
    examples = prof.examples_for(prop.max_examples)
    fn = _test_function(prop, targets, state, examples, _seed_for(seed, prop), prof.shrink)
    start = time.perf_counter()
    error, note = _run_in_worker(fn, limit, lambda: setattr(state, "cancelled", True))
    seconds = time.perf_counter() - start
    status, message, example = _classify(prop, error, note, state, limit)
    tried = state.first_failure or state.calls
    result = Result(
        clause=prop.clause,
        level=level,
        title=title,
        property=prop.id,
        roles=prop.roles,
        status=status,
        examples=tried,
        seconds=seconds,
        message=_clean(message),
    )
    if status in ("failed", "error") and example is not _NOTHING:
        text = "None" if example is None else repr(example)
        result.example = None if example is None else _ADDRESS.sub("0x…", text)
        result.reproduction = reproduction(prop, targets, text)
    elif status in ("failed", "error") and not isinstance(error, _TimeLimitReached):
        result.reproduction = reproduction(prop, targets, None) if prop.strategy is None else None
    return result


def _clause_order() -> dict[str, int]:
    from spec import CLAUSES

    return {c.id: i for i, c in enumerate(CLAUSES)}


def select_properties(
    patterns: Sequence[str] | None, properties: Iterable[Property] = PROPERTIES
) -> list[Property]:
    """Properties whose clause or id matches a pattern (shell-style), in spec clause order.

    ValueError names a pattern that matches no property.
    """
    props = list(properties)
    if patterns:
        chosen = []
        for pattern in patterns:
            hits = [p for p in props if _matches(pattern, p)]
            if not hits:
                raise ValueError(
                    f"--clause {pattern!r} matches no property; give a clause id "
                    "(e.g. AGC-003), a property id (e.g. agc.unit_rule) or a pattern (AGC-0*)"
                )
            chosen += [p for p in hits if p not in chosen]
        props = chosen
    order = _clause_order()
    index = {p.id: i for i, p in enumerate(props)}
    return sorted(props, key=lambda p: (order.get(p.clause, len(order)), index[p.id]))


def _matches(pattern: str, prop: Property) -> bool:
    return any(fnmatch.fnmatchcase(x, pattern) for x in (prop.clause, prop.id))


def _skip_reason(prop: Property, targets: Targets, unavailable: Mapping[str, str]) -> str | None:
    missing = [r for r in prop.roles if getattr(targets, r) is None]
    if not missing:
        return None
    reasons = []
    for role in missing:
        if role in unavailable:
            reasons.append(f"{role}: {unavailable[role]}")
        else:
            reasons.append(f"needs the {role} role too ({ROLE_FLAGS[role]})")
    return "; ".join(reasons)


def run_conformance(
    targets: Mapping[str, Any] | Targets | None = None,
    *,
    profile: str | Profile = "quick",
    seed: int = 0,
    clauses: Sequence[str] | None = None,
    xfail: str | Path | Sequence[XfailEntry] | None = None,
    time_limit: float | None = None,
    strict: bool = False,
    progress: Callable[[Result], None] | None = None,
) -> Report:
    """Check the targets against every applicable property and return the report.

    ``targets``: ``{role: "pkg.mod:attr" or object}`` (only those roles are
    checked), a ready :class:`Targets`, or None for the bundled implementation.
    ``clauses``: clause ids, property ids or shell patterns to restrict the run.
    ``xfail``: an xfail file path or parsed entries. ``time_limit``: seconds
    per property (default: the profile's). Raises TargetError for a target
    that cannot be loaded and ValueError for a bad selection or profile.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if isinstance(targets, Targets):
        resolved, unavailable = targets, dict[str, str]()
        wanted = {r for r in DEFAULT_TARGETS if getattr(targets, r) is not None}
    else:
        resolved, unavailable = resolve_targets(targets)
        wanted = set(targets) if targets else set(DEFAULT_TARGETS)
    entries: list[XfailEntry] = []
    if isinstance(xfail, (str, Path)):
        entries = load_xfail(xfail)
    elif xfail is not None:
        entries = list(xfail)
    chosen = [p for p in select_properties(clauses) if set(p.roles) & wanted]
    results: list[Result] = []
    for prop in chosen:
        skip = _skip_reason(prop, resolved, unavailable)
        entry = match_xfail(entries, prop.clause, prop.id)
        if skip is not None:
            result = _skipped(prop, skip)
        else:
            result = run_property(prop, resolved, prof, seed, time_limit)
            if entry is not None:
                result.xfail_reason = entry.reason
                result.status = "xfailed" if result.bad else "xpassed"
        results.append(result)
        if progress is not None:
            progress(result)
    warnings = [
        f"xfail entry {e.pattern!r} ({e.source}:{e.line}) matches no property of this run"
        for e in unused_entries(entries, [(p.clause, p.id) for p in chosen])
    ]
    from spec import SPEC_VERSION

    names = {r: resolved.names.get(r, DEFAULT_TARGETS[r]) for r in wanted if r not in unavailable}
    ordered = {r: names[r] for r in DEFAULT_TARGETS if r in names}
    return Report(
        spec_version=SPEC_VERSION,
        targets=ordered,
        profile=prof.name,
        seed=seed,
        results=results,
        strict=strict,
        unavailable={r: unavailable[r] for r in DEFAULT_TARGETS if r in unavailable},
        warnings=warnings,
    )


def _clause_info(clause_id: str) -> tuple[str, str]:
    """(level, title) of a clause; ('?', note) for an id the spec does not know."""
    from spec import clause as spec_clause

    try:
        c = spec_clause(clause_id)
    except KeyError:
        return "?", "(no such clause in the spec)"
    return c.level, c.title


def _skipped(prop: Property, reason: str) -> Result:
    level, title = _clause_info(prop.clause)
    return Result(prop.clause, level, title, prop.id, prop.roles, "skipped", message=reason)
