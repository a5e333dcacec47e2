"""Running a mutation analysis: the baseline, then each mutant judged through the warm host.

>>> from conformance.mutate.execute import Settings, judge_mutant
>>> judge_mutant("agc", "impl:adaptive_gradient_clip_", {}, Settings(clauses=["AGC-001"]))
('survived', None, None, '', None)

:func:`judge_mutant` checks one target as a mutant (the original survives its own check);
:func:`mutate` runs the whole analysis.

Steps: (1) the original targets are checked (a full run at the chosen profile); they must
conform, or every mutant would be "killed" by the original's own failures. The report's
``resolved`` entry of the role names the object's defining file and qualified name. (2) The
mutants of that file's scope are generated (:mod:`conformance.mutate.mutants`), filtered by
operator and sampled to ``max_mutants`` with the seed. (3) Each mutant is written to a
temporary folder and checked as the target ``/tmp/.../file.py:qualname`` by
:func:`conformance.judge.run_conformance` with the same :class:`Options`, so its worker is
forked from the warm host (no new interpreter per mutant), stopping at the first counted
failure. A mutant that cannot be loaded is ``incompetent``; one loading longer than the
import limit, or whose first counted failure is a timeout, is ``timeout``. Unless given, the
per-property time limit of a mutant is ten times the slowest property of the baseline, at
least 10 s and at most the profile's.

``jobs > 1`` starts that many judge processes (each with its own warm host: two interpreters
per job, started once) and hands them mutants one at a time.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.mutate.equivalence import EquivalenceEntry, unused
from conformance.mutate.mutants import (
    MEMBERS_SEP,
    Mutant,
    MutateError,
    absolute_imports,
    defines,
    generate,
    locate,
    sample,
)
from conformance.mutate.outcomes import MutantOutcome, MutationReport

__all__ = ["MODULE_MEMBERS", "Settings", "judge_mutant", "mutate"]

MODULE_MEMBERS: dict[str, tuple[str, ...]] = {"bridge": ("to_tf", "to_torch")}
"""The members a whole-module target of a role is mutated through (with what they use)."""


def _as_target(path: str | Path, qualname: str) -> str:
    """The target naming ``qualname`` in the file ``path`` (the file alone for a module)."""
    return str(path) if MEMBERS_SEP in qualname else f"{path}:{qualname}"


@dataclass(frozen=True)
class Settings:
    """How every run of the analysis checks its targets (as ``conformance check`` would)."""

    profile: str = "quick"
    seed: int = 0
    clauses: Sequence[str] | None = None
    time_limit: float | None = None
    call_limit: float | None = None
    strict: bool = False
    threads: int = 1
    memory_limit: int | None = None
    import_limit: float = 120.0
    domain: dict[str, Any] = field(default_factory=dict)
    """Declared domain fields (as ``conformance_domain``), e.g. ``{"max_rank": 3}``."""


def _options(settings: Settings) -> Any:
    from conformance._internal.session import Options

    return Options(settings.threads, settings.memory_limit, settings.import_limit)


def _domain(settings: Settings) -> Any:
    from conformance.domain import Domain

    return Domain.declared(settings.domain or None, "the command line's domain")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def judge_mutant(
    role: str, target: str, others: dict[str, str], settings: Settings
) -> tuple[str, str | None, str | None, str, str | None]:
    """``(outcome, killed_by, status, message, interrupted)`` of one mutant target.

    ``others``: the other roles' targets of the run (unchanged).
    """
    from conformance.judge import run_conformance
    from conformance.targets import TargetError

    targets = {**others, role: target}
    try:
        report = run_conformance(
            targets,
            profile=settings.profile,
            seed=settings.seed,
            clauses=settings.clauses,
            time_limit=settings.time_limit,
            call_limit=settings.call_limit,
            strict=settings.strict,
            options=_options(settings),
            domain=_domain(settings),
            stop_at_failure=True,
        )
    except TargetError as error:
        outcome = "timeout" if "did not finish within" in error.reason else "incompetent"
        return outcome, None, None, _first_line(error.reason), None
    if report.interrupted:
        return "survived", None, None, "", report.interrupted
    for result in report.results:
        if result.counts(settings.strict):
            outcome = "timeout" if result.status == "timeout" else "killed"
            killed_by = f"{result.clause} {result.property}"
            return outcome, killed_by, result.status, _first_line(result.message), None
    return "survived", None, None, "", None


def _families(role: str) -> list[str]:
    from conformance.properties import PROPERTIES

    return sorted({p.clause.split("-")[0] for p in PROPERTIES if role in p.roles})


def _auto_limit(results: Sequence[Any], profile_limit: float) -> float:
    slowest = max((r.seconds for r in results), default=0.0)
    return min(profile_limit, max(10.0, 10.0 * slowest))


Progress = Callable[[int, int, MutantOutcome], None]


def mutate(
    role: str,
    targets: dict[str, str],
    settings: Settings,
    *,
    operators: Sequence[str] | None = None,
    max_mutants: int | None = None,
    equivalent: Sequence[EquivalenceEntry] = (),
    jobs: int = 1,
    progress: Progress | None = None,
    baseline_progress: Callable[[str], None] | None = None,
    skip_unreached: bool = True,
) -> MutationReport:
    """Run the mutation analysis of ``targets[role]`` (other roles stay as given).

    ``skip_unreached``: a line-coverage run of the original (a copy of its file that records
    which of its lines run, checked like the mutants) finds the function-body lines no
    property executes; mutants confined to them are reported ``survived`` without being run
    (their run would be the original's).

    MutateError: the baseline does not conform, or the target has no Python source to mutate.
    TargetError (from the judge): a target that cannot be loaded.
    """
    from conformance.judge import run_conformance
    from conformance.profiles import get_profile
    from conformance.targets import canonical

    if role not in targets:
        raise MutateError(f"no target for the role to mutate ({role!r})")
    names = {r: canonical(t, r) for r, t in targets.items()}
    start = time.perf_counter()
    base = run_conformance(
        names,
        profile=settings.profile,
        seed=settings.seed,
        clauses=settings.clauses,
        time_limit=settings.time_limit,
        call_limit=settings.call_limit,
        strict=settings.strict,
        options=_options(settings),
        domain=_domain(settings),
    )
    baseline_seconds = time.perf_counter() - start
    if baseline_progress is not None:
        baseline_progress(base.summary_line())
    meta = base.resolved.get(role, {})
    file, qualname, module = _source_of(names[role], meta, role)
    report = MutationReport(
        role=role,
        target=names[role],
        file=file,
        qualname=qualname,
        profile=settings.profile,
        seed=settings.seed,
        families=_families(role),
        generated=0,
        operators=sorted(operators) if operators else [],
        baseline_seconds=baseline_seconds,
        jobs=jobs,
    )
    if base.interrupted:
        report.interrupted = base.interrupted
        return report
    if base.exit_status != 0:
        raise MutateError(
            f"the original targets do not conform at profile {settings.profile} "
            f"({base.summary_line()}); a mutation score needs a conforming original: fix it, "
            "or leave the failing clauses out with --clause"
        )
    source = Path(file).read_text(encoding="utf-8")
    everything = generate(source, qualname, file)
    chosen = generate(source, qualname, file, operators) if operators else everything
    report.generated = len(everything)
    chosen = sample(chosen, max_mutants, settings.seed)
    report.planned = len(chosen)
    declared = {e.id: e for e in equivalent}
    report.warnings += [
        f"equivalence entry {e.id!r} ({e.source}:{e.line}) names no mutant of this target"
        for e in unused(equivalent, [m.id for m in everything])
    ]
    if settings.time_limit is None:
        limit = _auto_limit(base.results, get_profile(settings.profile).time_limit)
        settings = replace(settings, time_limit=limit)
    report.time_limit = settings.time_limit
    others = {r: t for r, t in names.items() if r != role}
    package = Path(file).name == "__init__.py"
    relative = bool(module) and absolute_imports(source, module, package) != source
    with tempfile.TemporaryDirectory(prefix="conformance-mutants-") as folder:
        reached = None
        if skip_unreached and any(m.in_body for m in chosen):
            text = absolute_imports(source, module, package) if relative else source
            reached = _reached_lines(role, text, Path(file).name, qualname, names, settings, folder)
        report.coverage = reached is not None
        todo: list[tuple[Mutant, str]] = []
        results: dict[str, MutantOutcome] = {}
        for number, mutant in enumerate(chosen):
            if mutant.id in declared:
                continue
            if reached is not None and mutant.in_body and not _runs(mutant, reached):
                results[mutant.id] = _outcome(
                    mutant,
                    "survived",
                    message=f"line {mutant.line} is reached by no property: not run",
                    reached=False,
                )
                continue
            text = absolute_imports(mutant.source, module, package) if relative else mutant.source
            path = Path(folder) / str(number) / Path(file).name
            path.parent.mkdir()
            path.write_text(text, encoding="utf-8")
            todo.append((mutant, _as_target(path, qualname)))
        started = time.perf_counter()
        for mutant in chosen:
            entry = declared.get(mutant.id)
            if entry is not None:
                results[mutant.id] = _outcome(mutant, "equivalent", message=entry.reason)
        runner = _run_serial if jobs <= 1 else _run_parallel
        report.interrupted = runner(
            role, todo, others, settings, jobs, results, len(chosen), progress
        )
        report.seconds = time.perf_counter() - started
    report.outcomes = [results[m.id] for m in chosen if m.id in results]
    return report


def _source_of(target: str, meta: dict[str, str], role: str) -> tuple[str, str, str]:
    """``(file, qualname, module)`` of the object ``target`` names (its source is mutated).

    The worker's description of the loaded object is used when its file defines the name;
    otherwise (a decorated function, whose wrapper lives in another module) the file form's
    own file, or the module's file found on ``sys.path`` following re-exports.
    """
    from conformance._internal.session import worker_sys_path
    from conformance.targets import is_file, parse_target

    location, attr = parse_target(target, role)
    if attr is None:  # a whole module (the bridge): its members and what they use
        members = MODULE_MEMBERS.get(role)
        if members is None:
            raise MutateError(
                f"the {role} target {target!r} names a whole module: give 'module:attr'"
            )
        if is_file(location):
            return location, MEMBERS_SEP.join(members), ""
        path, _, module = locate(location, members[0], worker_sys_path())
        source = Path(path).read_text(encoding="utf-8")
        missing = [m for m in members if not defines(source, m)]
        if missing:
            raise MutateError(
                f"the {role} target {target!r}: {path} defines {members[0]!r} but not "
                f"{missing}; mutation needs one file defining {', '.join(members)}"
            )
        return str(path), MEMBERS_SEP.join(members), module
    file = meta.get("file", "")
    obj = meta.get("object", "")
    module, _, qualname = obj.partition(":")
    readable = file.endswith(".py") and qualname and Path(file).is_file()
    if readable and defines(Path(file).read_text(encoding="utf-8"), qualname.split(".")[0]):
        return file, qualname, module
    if is_file(location):
        return location, attr, ""
    path, name, module = locate(location, attr, worker_sys_path())
    return str(path), name, module


_TRACE = """

def _conformance_mutate_lines():  # appended by conformance mutate: which lines of this file run
    import sys
    import threading

    me, out, seen = __file__, {out!r}, set()

    def line(frame, event, arg):
        if event == "line" and frame.f_lineno not in seen:
            seen.add(frame.f_lineno)
            with open(out, "a") as f:
                f.write(f"{{frame.f_lineno}}\\n")
        return line

    def call(frame, event, arg):
        return line if frame.f_code.co_filename == me else None

    sys.settrace(call)
    threading.settrace(call)


_conformance_mutate_lines()
"""


def _reached_lines(
    role: str,
    source: str,
    name: str,
    qualname: str,
    names: dict[str, str],
    settings: Settings,
    folder: str,
) -> set[int] | None:
    """The lines of ``source`` that run when the role's properties check it (None: unknown)."""
    from conformance.judge import run_conformance
    from conformance.targets import TargetError

    out = Path(folder) / "lines.txt"
    copy = Path(folder) / "coverage" / name
    copy.parent.mkdir()
    copy.write_text(source.rstrip("\n") + "\n" + _TRACE.format(out=str(out)), encoding="utf-8")
    try:
        report = run_conformance(
            {**names, role: _as_target(copy, qualname)},
            profile=settings.profile,
            seed=settings.seed,
            clauses=settings.clauses,
            time_limit=settings.time_limit,
            call_limit=settings.call_limit,
            strict=settings.strict,
            options=_options(settings),
            domain=_domain(settings),
        )
    except TargetError:
        return None
    if report.interrupted or report.exit_status != 0 or not out.is_file():
        return None
    return {int(n) for n in out.read_text().split()}


def _runs(mutant: Mutant, reached: set[int]) -> bool:
    return any(n in reached for n in range(mutant.line, max(mutant.line, mutant.end_line) + 1))


def _outcome(
    mutant: Mutant,
    outcome: str,
    killed_by: str | None = None,
    status: str | None = None,
    message: str = "",
    seconds: float = 0.0,
    reached: bool = True,
) -> MutantOutcome:
    return MutantOutcome(
        mutant.id,
        mutant.operator,
        mutant.description,
        mutant.diff,
        outcome,  # type: ignore[arg-type]
        killed_by,
        status,
        message,
        round(seconds, 3),
        mutant.line,
        reached,
    )


def _run_serial(
    role: str,
    todo: list[tuple[Mutant, str]],
    others: dict[str, str],
    settings: Settings,
    jobs: int,
    results: dict[str, MutantOutcome],
    total: int,
    progress: Progress | None,
) -> str | None:
    from conformance._internal.stop import STOP

    for mutant, target in todo:
        if STOP.requested:
            return STOP.requested
        begin = time.perf_counter()
        outcome, killed_by, status, message, stopped = judge_mutant(role, target, others, settings)
        if stopped:
            return stopped
        results[mutant.id] = _outcome(
            mutant, outcome, killed_by, status, message, time.perf_counter() - begin
        )
        if progress is not None:
            progress(len(results), total, results[mutant.id])
    return None


_JOB_BOOT = (
    "import json, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "c = json.loads(sys.stdin.readline()); sys.path[:] = c['sys_path']; "
    "from conformance.mutate.execute import job_main; job_main(c)"
)


def job_main(config: dict[str, Any]) -> None:
    """A ``--jobs`` judge process: reads one mutant per stdin line, writes one result line."""
    settings = Settings(**config["settings"])
    for line in sys.stdin:
        if not line.strip():
            break
        task = json.loads(line)
        begin = time.perf_counter()
        outcome, killed_by, status, message, _ = judge_mutant(
            config["role"], task["target"], config["others"], settings
        )
        reply = {
            "id": task["id"],
            "result": [outcome, killed_by, status, message, time.perf_counter() - begin],
        }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def _run_parallel(
    role: str,
    todo: list[tuple[Mutant, str]],
    others: dict[str, str],
    settings: Settings,
    jobs: int,
    results: dict[str, MutantOutcome],
    total: int,
    progress: Progress | None,
) -> str | None:
    from conformance._internal.session import worker_sys_path
    from conformance._internal.stop import STOP

    config = {
        "sys_path": worker_sys_path(),
        "role": role,
        "others": others,
        "settings": {
            **{k: getattr(settings, k) for k in Settings.__dataclass_fields__},
            "clauses": list(settings.clauses) if settings.clauses else None,
        },
    }
    by_id = {m.id: m for m, _ in todo}
    queue = list(todo)
    children: list[subprocess.Popen[str]] = []
    selector = selectors.DefaultSelector()
    busy: dict[int, bool] = {}

    def feed(child: subprocess.Popen[str]) -> None:
        assert child.stdin is not None
        if queue:
            mutant, target = queue.pop(0)
            child.stdin.write(json.dumps({"id": mutant.id, "target": target}) + "\n")
            child.stdin.flush()
            busy[child.pid] = True
        else:
            busy[child.pid] = False
            child.stdin.close()

    try:
        for _ in range(min(jobs, len(todo))):
            child = subprocess.Popen(
                [sys.executable, "-c", _JOB_BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(json.dumps(config) + "\n")
            child.stdin.flush()
            children.append(child)
            selector.register(child.stdout, selectors.EVENT_READ, child)
            feed(child)
        while any(busy.values()):
            if STOP.requested:
                return STOP.requested
            for key, _ in selector.select(timeout=0.5):
                child = key.data
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if not line:
                    selector.unregister(key.fileobj)
                    busy[child.pid] = False
                    continue
                reply = json.loads(line)
                outcome, killed_by, status, message, seconds = reply["result"]
                mutant = by_id[reply["id"]]
                results[mutant.id] = _outcome(mutant, outcome, killed_by, status, message, seconds)
                if progress is not None:
                    progress(len(results), total, results[mutant.id])
                feed(child)
        return None
    except KeyboardInterrupt as stop:
        return getattr(stop, "signal_name", "SIGINT")
    finally:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        selector.close()
