"""Run the conformance properties against targets and collect a :class:`~conformance.report.Report`.

>>> from conformance.judge import run_conformance
>>> report = run_conformance({"torch_config": "spec:TorchTrainingConfig"}, clauses=["CFG-002"])
>>> [(r.clause, r.status) for r in report.results]
[('CFG-002', 'passed')]

This process is the *judge*: it never imports a target. Each target is loaded in a
worker process (:mod:`conformance._internal.session`); for each example Hypothesis draws here,
the worker performs the property's ``act`` and sends back what it saw, and the
property's ``decide`` runs here. Each property is one Hypothesis test under the
profile's settings: an explicit seed derived from ``seed`` and the property id, no
example database, no deadline, one bug reported; the last example that made the
check fail is the shrunk counterexample.

Classification: ``decide`` raising ``AssertionError`` -> ``failed``; the target raising
in the act, or ``decide`` unable to use what it returned -> ``error``; the worker
ending (exit, signal, out of memory, garbage on its channel) -> ``crashed``; no answer
within the time limit (the worker is killed) -> ``timeout``; a property whose roles
are not all given -> ``skipped``; an xfail entry turns a bad result into ``xfailed``
and a pass into ``xpassed``. After a crash or a timeout the next property gets a
fresh worker. Ctrl-C or SIGTERM stops the run; the report then holds what finished,
with ``interrupted`` set.
"""

from __future__ import annotations

import fnmatch
import re
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import errors as hyp_errors
from hypothesis import example as hypothesis_example
from hypothesis.strategies import SearchStrategy

from conformance._internal.causes import GIVE_UP_AFTER, HangWatch, explain, raised_fact
from conformance._internal.host import WorkerCrashed, WorkerTimeout
from conformance._internal.session import Options, Session
from conformance._internal.stop import STOP, Interrupted, request_stop
from conformance._internal.wire import ExceptionInfo
from conformance.diagnose import diagnose
from conformance.domain import Domain, NotApplicable
from conformance.profiles import Profile, get_profile
from conformance.properties import PROPERTIES, Property, Targets
from conformance.report import Report, Result, Status
from conformance.roles import ROLES
from conformance.roles import role as role_row
from conformance.targets import TargetError, canonical, object_name
from conformance.xfail import XfailEntry, current_id, load_xfail, match_xfail, unused_entries

__all__ = [
    "Interrupted",
    "TargetRaised",
    "judge_property",
    "reproduction",
    "request_stop",
    "run_conformance",
    "run_property",
    "select_properties",
    "skip_reason",
    "target_names",
]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_NOTHING = object()
_JUDGE_FILE = str(Path(__file__).resolve().parent)


class TargetRaised(Exception):
    """In the judge: the target raised inside the act (where the clause asks it to work)."""

    def __init__(self, info: ExceptionInfo) -> None:
        super().__init__(info.describe())
        self.info = info


class HarnessFault(Exception):
    """The worker could not run the act at all (a property the worker cannot find, say)."""


class _TimeLimitReached(BaseException):
    """The property's time budget ran out between examples."""


@dataclass
class _State:
    calls: int = 0
    first_failure: int = 0
    failing: Any = _NOTHING
    error: BaseException | None = None
    stopped: BaseException | None = None
    """A crash or timeout: the example it happened on is ``stop_example``."""
    stop_example: Any = _NOTHING


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


def _judge_where(error: BaseException) -> str:
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename]
    if not frames:
        return ""
    last = frames[-1]
    return (
        f"raised in the property's decision ({Path(last.filename).name}:{last.lineno} in "
        f"{last.name}): the target's output could not be used"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, TargetRaised):
        return error.info.describe()
    head = f"{type(error).__name__}: {error}".rstrip(": ")
    where = _judge_where(error)
    return f"{head}\n{where}" if where else head


class _Check:
    """One property against one session: the Hypothesis test and its bookkeeping."""

    def __init__(
        self, prop: Property, session: Session, limit: float, call_limit: float | None
    ) -> None:
        self.prop, self.session = prop, session
        self.limit = limit
        self.call_limit = call_limit
        self.state = _State()
        self.deadline = 0.0
        self.marks: tuple[int, int] | None = None
        self.output: tuple[str, str] = ("", "")

    def one(self, example: Any) -> None:
        STOP.raise_if_requested()
        state, prop = self.state, self.prop
        now = time.monotonic()
        if now >= self.deadline:
            raise _TimeLimitReached
        state.calls += 1
        left = self.deadline - now
        if self.call_limit is not None:
            left = min(left, self.call_limit)
        try:
            worker = self.session.worker(prop.roles)
            if self.marks is None:
                self.marks = worker.marks()
            reply = worker.act(prop.home, prop.id, example, left)
            self.output = worker.output_since(self.marks)
            raised = reply.get("raised")
            if isinstance(raised, ExceptionInfo) and raised.is_a("MemoryError"):
                self.session.discard(prop.roles)
                raise WorkerCrashed(f"ran out of memory ({raised.describe()})")
        except (WorkerCrashed, WorkerTimeout) as stop:
            state.stopped, state.stop_example = stop, example
            self.session.discard(prop.roles)
            raise
        try:
            if "raised" in reply:
                raise TargetRaised(reply["raised"])
            if "harness_error" in reply:
                raise HarnessFault(str(reply["harness_error"]))
            prop.decide(example, reply["ok"])
        except Exception as error:
            if not state.first_failure:
                state.first_failure = state.calls
            state.failing, state.error = example, error
            raise

    def run(
        self,
        strategy: SearchStrategy[Any] | None,
        explicit: tuple[Any, ...],
        examples: int,
        run_seed: int,
        shrink: bool,
    ) -> BaseException | None:
        self.deadline = time.monotonic() + self.limit
        try:
            if strategy is None:
                self.one(None)
            else:

                def test(example: Any) -> None:
                    self.one(example)

                wrapped: Any = given(strategy)(test)
                for case in reversed(explicit):
                    wrapped = hypothesis_example(case)(wrapped)
                seed(run_seed)(_settings(examples, shrink)(wrapped))()
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            return error
        return None


def _classify(check: _Check, error: BaseException | None) -> tuple[Status, str, Any]:
    """(status, message, counterexample or _NOTHING) for the outcome of one property."""
    state, limit = check.state, check.limit
    if error is None:
        return "passed", "", _NOTHING
    if isinstance(error, (_TimeLimitReached, WorkerTimeout)):
        if state.error is not None:
            status: Status = "failed" if isinstance(state.error, AssertionError) else "error"
            base = str(state.error) if status == "failed" else _describe(state.error)
            note = (
                f"(time limit {limit:g} s reached while shrinking: the counterexample may not "
                "be minimal)"
            )
            return status, f"{base}\n{note}", state.failing
        during = f"during example {state.calls}" if state.calls else "before the first example"
        killed = "; the worker was killed" if isinstance(error, WorkerTimeout) else ""
        message = (
            f"time limit of {limit:g} s reached {during}{killed}: the target hangs or is too "
            "slow for this profile"
        )
        return "timeout", message, state.stop_example
    if isinstance(error, WorkerCrashed):
        message = f"the worker running the target {error.how} during example {state.calls}"
        if error.stderr.strip():
            message += f"; its stderr ends with:\n{error.stderr.strip()[-1500:]}"
        return "crashed", message, state.stop_example
    if isinstance(error, AssertionError):
        return "failed", str(error) or "AssertionError (no message)", state.failing
    if isinstance(error, hyp_errors.Unsatisfiable):
        return "error", f"the strategy could not generate examples: {error}", _NOTHING
    flaky = getattr(hyp_errors, "FlakyFailure", hyp_errors.Flaky)
    if isinstance(error, (hyp_errors.Flaky, flaky)):
        inner = state.error
        detail = f"; it raised {_describe(inner)}" if inner is not None else ""
        return (
            "error",
            "flaky: the check failed on an example, then passed when Hypothesis replayed it "
            f"(is the target non-deterministic?){detail}",
            state.failing,
        )
    if isinstance(error, hyp_errors.HypothesisException):
        return "error", f"{type(error).__name__}: {error}", _NOTHING
    return "error", _describe(error), state.failing


def reproduction(prop: Property, targets: Mapping[str, str], example_repr: str | None) -> str:
    """A script that reruns ``prop``'s check on the example, the targets loaded in-process."""
    names = {role: targets.get(role, "?") for role in prop.roles}
    lines = [
        f"# reproduce {prop.clause} ({prop.id}): runs the target in THIS process",
        "import torch",
        "from conformance.reproduction import reproduce",
        "from conformance.strategies import *",
        "",
        f"example = {example_repr if example_repr is not None else 'None'}",
        f"reproduce({prop.id!r}, {names!r}, example, module={prop.home!r})",
        "# raises AssertionError (or the target's exception) where the report says it failed",
    ]
    return "\n".join(lines)


def judge_property(
    prop: Property,
    session: Session,
    prof: Profile,
    seed: int,
    time_limit: float | None,
    call_limit: float | None,
    domain: Domain | None = None,
    keep: dict[str, Any] | None = None,
) -> Result:
    """Check one property through ``session``'s workers (its targets already loaded).

    ``domain`` narrows what the targets declare (the command line's --dtypes and others);
    ``keep`` receives the counterexample object of a failure (for root causes)."""
    inside = session.domain(prop.roles).narrow(domain or Domain())
    strategy = prop.strategy_for(inside)
    if isinstance(strategy, NotApplicable):
        return _result(prop, "not_applicable", message=strategy.reason)
    limit = prof.time_limit if time_limit is None else time_limit
    check = _Check(prop, session, limit, call_limit)
    examples = prof.examples_for(prop.max_examples)
    explicit = prop.examples_for(inside) if strategy is not None else ()
    start = time.perf_counter()
    error = check.run(strategy, explicit, examples, _seed_for(seed, prop), prof.shrink)
    seconds = time.perf_counter() - start
    status, message, example = _classify(check, error)
    result = _result(
        prop,
        status,
        examples=check.state.first_failure or check.state.calls,
        seconds=seconds,
        message=_ADDRESS.sub("0x…", message),
    )
    if result.bad:
        printed = "\n".join(part.strip() for part in check.output if part.strip())
        result.output = printed or None
        if status == "error" and isinstance(check.state.error, TargetRaised):
            result.raised = raised_fact(check.state.error.info, example)  # one finding per line
        if example is not _NOTHING:
            if keep is not None and status == "failed":
                keep[prop.id] = example
            text = None if example is None else _ADDRESS.sub("0x…", repr(example))
            result.example = text
            result.reproduction = reproduction(prop, session.targets, text)
    return result


def target_names(
    targets: Mapping[str, Any] | Targets | None,
) -> tuple[dict[str, str], list[str]]:
    """``({role: canonical target name}, requested roles)``; no targets -> the bundled ones.

    >>> target_names({"bridge": "spec"})
    ({'bridge': 'spec'}, ['bridge'])
    """
    if targets is None or (isinstance(targets, Mapping) and not targets):
        names = {r: role_row(r).default for r in ROLES}
        return names, list(ROLES)
    given = targets.given() if isinstance(targets, Targets) else dict(targets)
    unknown = sorted(set(given) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}: allowed are {', '.join(ROLES)}")
    names = {}
    for role in ROLES:
        if role not in given or given[role] is None:
            continue
        value = given[role]
        text = value if isinstance(value, str) else object_name(value)
        names[role] = canonical(text, role)
    return names, list(names)


def run_property(
    prop: Property,
    targets: Mapping[str, Any] | Targets,
    profile: Profile | str = "quick",
    seed: int = 0,
    time_limit: float | None = None,
    *,
    call_limit: float | None = None,
    options: Options | None = None,
    domain: Domain | None = None,
) -> Result:
    """Check one property against ``targets`` (every role it uses must be given).

    ``targets``: ``{role: "pkg.mod:attr" or an importable object}`` or :class:`Targets`.
    Loads the targets in fresh workers (TargetError if one cannot be loaded).
    """
    names, _ = target_names(targets)
    missing = [r for r in prop.roles if r not in names]
    if missing:
        raise ValueError(f"property {prop.id} needs targets for {missing}")
    session = Session({r: names[r] for r in prop.roles}, options)
    try:
        session.load()
        prof = get_profile(profile) if isinstance(profile, str) else profile
        return judge_property(prop, session, prof, seed, time_limit, call_limit, domain)
    finally:
        session.close()


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
        for pattern in map(current_id, patterns):
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


def skip_reason(prop: Property, names: Mapping[str, str]) -> str | None:
    """Why ``prop`` cannot run with these targets (a role it needs is missing), or None."""
    missing = [r for r in prop.roles if r not in names]
    if not missing:
        return None
    return "; ".join(f"needs the {r} role too ({role_row(r).flag})" for r in missing)


def _entries(xfail: str | Path | Sequence[XfailEntry] | None) -> list[XfailEntry]:
    if isinstance(xfail, (str, Path)):
        return load_xfail(xfail)
    return list(xfail) if xfail is not None else []


def run_conformance(
    targets: Mapping[str, Any] | Targets | None = None,
    *,
    profile: str | Profile = "quick",
    seed: int = 0,
    clauses: Sequence[str] | None = None,
    xfail: str | Path | Sequence[XfailEntry] | None = None,
    time_limit: float | None = None,
    call_limit: float | None = None,
    strict: bool = False,
    progress: Callable[[Result], None] | None = None,
    options: Options | None = None,
    domain: Domain | None = None,
    distributed: int | None = None,
    give_up_after: int | None = GIVE_UP_AFTER,
    stop_at_failure: bool = False,
) -> Report:
    """Check the targets against every applicable property and return the report.

    ``targets``: ``{role: "pkg.mod:attr" | "file.py:attr" | importable object}`` (only
    those roles are checked), :class:`Targets`, or None for the bundled implementation.
    ``clauses``: clause ids, property ids or shell patterns to restrict the run.
    ``xfail``: an xfail file path or parsed entries. ``time_limit``: seconds per property
    (default: the profile's); ``call_limit``: seconds per example. ``options``: worker
    threads, memory cap, import limit. ``domain`` narrows what each target declares
    (properties outside it are not applicable); ``distributed=N`` also checks the sharded
    clauses on N gloo ranks (``Domain.distributed``). ``give_up_after=K``: after K timeouts
    in a row of one role, its other properties are not run but reported ``timeout`` (the target
    hangs; ``Report.given_up``); None waits on every one. Raises TargetError for a target that
    cannot be loaded and ValueError for a bad selection or profile. On Ctrl-C / SIGTERM
    (:class:`Interrupted`) it returns what finished, with ``interrupted`` set.
    ``stop_at_failure``: stop after the first result that counts (``conformance mutate``
    judges a mutant so); root causes are then not computed.
    """
    names, requested = target_names(targets)
    domain = domain or Domain()
    if distributed is not None:
        domain = domain.narrow(Domain.declared({"distributed": distributed}, "distributed"))
    run = _Run(
        get_profile(profile) if isinstance(profile, str) else profile,
        seed,
        time_limit,
        call_limit,
        domain,
        _entries(xfail),
        watch=None if give_up_after is None else HangWatch(give_up_after),
    )
    chosen = [p for p in select_properties(clauses) if set(p.roles) & set(names)]
    session = Session(names, options)
    results: list[Result] = []
    interrupted: str | None = None
    behaves_like: str | None = None
    threads = _one_thread()
    STOP.raising = True  # a stop requested before the run (the CLI's handlers) is seen below
    try:
        STOP.raise_if_requested()
        session.load()
        for prop in chosen:
            STOP.raise_if_requested()
            results.append(run.one(prop, session, names))
            if progress is not None:
                progress(results[-1])
            if stop_at_failure and results[-1].counts(strict):
                break
        if not stop_at_failure:
            explain(results, run.counterexamples, session, _by_id, lambda r: r.counts(strict))
            found = diagnose(results, run.counterexamples, session, strict)  # the agc variant
            behaves_like = None if found is None else found.line()
    except KeyboardInterrupt as stop:
        STOP.raising = False  # winding down: a second request is recorded, not raised
        interrupted = stop.signal_name if isinstance(stop, Interrupted) else "SIGINT"
        session.kill()
    except TargetError:
        session.kill()
        raise
    finally:
        STOP.reset()
        session.close()
        torch.set_num_threads(threads)
    return _report(
        names, requested, session, results, run, chosen, strict, interrupted, behaves_like
    )


def _by_id(pid: str) -> Property | None:
    return next((p for p in PROPERTIES if p.id == pid), None)


def _one_thread() -> int:
    """Run the judge's own torch work (the decisions' references) on one thread, as the
    workers do: on small tensors more threads only wait on each other. Returns the old count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return before


@dataclass(frozen=True)
class _Run:
    """How one run checks each property."""

    profile: Profile
    seed: int
    time_limit: float | None
    call_limit: float | None
    domain: Domain
    entries: list[XfailEntry]
    counterexamples: dict[str, Any] = field(default_factory=dict)
    watch: HangWatch | None = None
    """Gives up on a role after timeouts in a row (None: never)."""

    def one(self, prop: Property, session: Session, names: Mapping[str, str]) -> Result:
        skip = skip_reason(prop, names)
        if skip is not None:
            return _skipped(prop, skip)
        hung = None if self.watch is None else self.watch.hung(prop.roles)
        if hung is not None and self.watch is not None:
            result = self._not_run(prop, session, hung, self.watch)
        else:
            result = judge_property(
                prop,
                session,
                self.profile,
                self.seed,
                self.time_limit,
                self.call_limit,
                self.domain,
                self.counterexamples,
            )
            if self.watch is not None:
                self.watch.seen(result)
        entry = match_xfail(self.entries, prop.clause, prop.id)
        if entry is not None:
            result.xfail_reason = entry.reason
            result.status = "xfailed" if result.bad else "xpassed"
        return result

    def _not_run(
        self, prop: Property, session: Session, hung: tuple[str, ...], watch: HangWatch
    ) -> Result:
        """``prop`` not run: its target hangs (or not applicable, as it would have been)."""
        outside = prop.strategy_for(session.domain(prop.roles).narrow(self.domain))
        if isinstance(outside, NotApplicable):
            return _result(prop, "not_applicable", message=outside.reason)
        watch.skip(hung, prop)
        return _result(prop, "timeout", message=watch.why(hung))


def _report(
    names: dict[str, str],
    requested: list[str],
    session: Session,
    results: list[Result],
    run: _Run,
    chosen: list[Property],
    strict: bool,
    interrupted: str | None,
    behaves_like: str | None = None,
) -> Report:
    from spec import SPEC_VERSION

    warnings = [
        f"xfail entry {e.pattern!r} ({e.source}:{e.line}) matches no property of this run"
        for e in unused_entries(run.entries, [(p.clause, p.id) for p in chosen])
    ]
    warnings += [
        f"xfail entry {e.written!r} ({e.source}:{e.line}) uses a property id renamed since: "
        f"write {e.pattern!r}"
        for e in run.entries
        if e.written
    ]
    return Report(
        spec_version=SPEC_VERSION,
        targets=dict(names),
        profile=run.profile.name,
        seed=run.seed,
        results=results,
        strict=strict,
        warnings=warnings,
        resolved={r: dict(session.meta[r]) for r in names if r in session.meta},
        requested=requested,
        interrupted=interrupted,
        given_up=dict(run.watch.given_up) if run.watch is not None else {},
        behaves_like=behaves_like,
    )


def _result(prop: Property, status: Status, **fields: Any) -> Result:
    """A result for ``prop`` with its clause's level, title, tier and why."""
    from spec import clause as spec_clause

    level: str
    try:
        c = spec_clause(prop.clause)
        level, title, tier, why = c.level, c.title, c.tier, c.why
    except KeyError:
        level, title, tier, why = "?", "(no such clause in the spec)", "plan", ""
    return Result(
        prop.clause, level, title, prop.id, prop.roles, status, tier=tier, why=why, **fields
    )


def _skipped(prop: Property, reason: str) -> Result:
    return _result(prop, "skipped", message=reason)
