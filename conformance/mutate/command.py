"""``conformance mutate``: the subcommand's parser and what it runs.

>>> import argparse
>>> from conformance.mutate.command import add_parser
>>> parser = argparse.ArgumentParser(prog="conformance")
>>> sub = parser.add_subparsers(dest="command")
>>> check = sub.add_parser("check")
>>> _ = check.add_argument("--agc", metavar="TARGET")
>>> _ = add_parser(sub, check)
>>> parser.parse_args(["mutate", "--agc", "m.py:f", "--jobs", "2"]).jobs
2

The role options and the check options that say how properties run (profile, seed,
clause selection, limits, threads, domain, strict) are the ``check`` parser's own
actions, shared, not declared again: every role option of ``check`` works here. Exactly
one role is mutated (the first given in role-table order, or the one ``--role`` names);
the other roles given are its partners, unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from conformance.mutate.operators import OPERATORS

__all__ = ["add_parser", "run_command"]

_SHARED = (
    "profile",
    "seed",
    "clause",
    "time_limit",
    "call_limit",
    "import_limit",
    "memory_limit",
    "threads",
    "dtypes",
    "max_rank",
    "clip_factor",
    "min_size",
    "distributed",
    "strict",
)
"""The ``check`` options (by dest) that ``mutate`` shares, besides every role option."""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be >= 1")
    return value


def add_parser(sub: Any, check: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``mutate`` subcommand to ``sub``, sharing ``check``'s role and run options."""
    from conformance.roles import ROLES

    mutate = sub.add_parser(
        "mutate",
        help="measure the suite's power: mutants of a target, each judged by its role's properties",
        description=(
            "Mutation analysis of one role's target: mutants of its source (the function or "
            "class and the module-level helpers it uses) are each checked like 'check' would, "
            "in a worker forked from the warm host, stopping at the first counted failure. "
            "score = (killed + timed out) / (all - incompetent - equivalent). Progress on "
            "stderr. Exit status: 0 done (whatever the score); 2 usage error, unloadable or "
            "non-conforming original; 130/143 interrupted (the partial report is written)."
        ),
    )
    wanted = set(ROLES) | set(_SHARED)
    for group in check._action_groups:
        actions = [a for a in group._group_actions if a.dest in wanted]
        if not actions:
            continue
        target = (
            mutate
            if group.title in ("options", "optional arguments")
            else mutate.add_argument_group(group.title, group.description)
        )
        for action in actions:
            target._add_action(action)
    mutate.add_argument(
        "--role", choices=list(ROLES), help="the role to mutate (default: the first one given)"
    )
    mutate.add_argument("--format", choices=["text", "json"], default="text")
    mutate.add_argument("--output", "-o", metavar="FILE", help="write the report here")
    mutate.add_argument(
        "--equivalent",
        metavar="FILE",
        help="mutants reviewed as equivalent: 'MUTANT-ID reason' per line",
    )
    mutate.add_argument(
        "--jobs", type=_count, default=1, help="mutants judged in parallel (default 1)"
    )
    mutate.add_argument(
        "--max-mutants",
        type=_count,
        metavar="N",
        help="judge at most N mutants, sampled reproducibly with --seed",
    )
    mutate.add_argument(
        "--operator",
        nargs="+",
        action="extend",
        choices=list(OPERATORS),
        metavar="NAME",
        help=f"only these operators ({', '.join(OPERATORS)})",
    )
    mutate.add_argument(
        "--run-unreached",
        action="store_true",
        help="also run the mutants on function-body lines that no property executes (by "
        "default a line-coverage run of the original finds them: they survive unrun)",
    )
    return mutate


def _domain_fields(args: argparse.Namespace) -> dict[str, Any]:
    declared: dict[str, Any] = {}
    if getattr(args, "dtypes", None) is not None:
        declared["dtypes"] = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    for name in ("max_rank", "clip_factor", "min_size", "distributed"):
        if getattr(args, name, None) is not None:
            declared[name] = getattr(args, name)
    return declared


def run_command(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    write: Callable[[str, str], None],
) -> int:
    """Run ``conformance mutate`` with parsed ``args``; returns the exit status."""
    from conformance._internal.session import Options, warm
    from conformance.roles import ROLES

    given = {role: getattr(args, role) for role in ROLES if getattr(args, role, None)}
    role = args.role or next(iter(given), None)
    if role is None or role not in given:
        flag = f"--{(args.role or 'agc').replace('_', '-')}"
        print(
            f"conformance mutate: error: give the target to mutate with its role option "
            f"(e.g. {flag} path/to/file.py:attr); see 'conformance roles'",
            file=err,
        )
        return 2
    warm(Options(args.threads, args.memory_limit, args.import_limit))
    from conformance.domain import Domain, DomainError
    from conformance.mutate.equivalence import EquivalenceError, load_equivalence
    from conformance.mutate.execute import Settings, mutate
    from conformance.mutate.mutants import MutateError
    from conformance.targets import TargetError

    fields = _domain_fields(args)
    try:
        Domain.declared(fields or None, "the command line's domain")
        entries = load_equivalence(args.equivalent) if args.equivalent else []
    except (DomainError, EquivalenceError) as error:
        print(f"conformance mutate: error: {error}", file=err)
        return 2
    settings = Settings(
        profile=args.profile,
        seed=args.seed,
        clauses=args.clause,
        time_limit=args.time_limit,
        call_limit=args.call_limit,
        strict=args.strict,
        threads=args.threads,
        memory_limit=args.memory_limit,
        import_limit=args.import_limit,
        domain=fields,
    )
    began = time.perf_counter()

    def progress(done: int, total: int, o: Any) -> None:
        why = o.killed_by or (o.message.splitlines()[0][:60] if o.message else "")
        print(
            f"[{done}/{total} {time.perf_counter() - began:6.0f} s] {o.id:28} {o.outcome:11} {why}",
            file=err,
            flush=True,
        )

    def baseline(line: str) -> None:
        print(f"conformance mutate: original: {line}", file=err, flush=True)

    try:
        report = mutate(
            role,
            given,
            settings,
            operators=args.operator,
            max_mutants=args.max_mutants,
            equivalent=entries,
            jobs=args.jobs,
            progress=progress,
            baseline_progress=baseline,
            skip_unreached=not args.run_unreached,
        )
    except (TargetError, MutateError, ValueError) as error:
        print(f"conformance mutate: error: {error}", file=err)
        return 2
    for warning in report.warnings:
        print(f"conformance mutate: warning: {warning}", file=err)
    text = report.render(args.format)
    if args.output:
        try:
            write(args.output, text + "\n")
        except OSError as error:
            print(
                f"conformance mutate: error: cannot write --output {args.output!r}: {error}",
                file=err,
            )
            return 2
        print(report.summary_line(), file=out)
    else:
        print(text, file=out)
    sys.stdout.flush()
    return report.exit_status
