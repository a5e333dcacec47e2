"""The ``conformance`` command: check implementations against the spec clauses.

>>> from conformance.cli import main
>>> main(["check", "--torch-config", "spec:TorchTrainingConfig", "--clause", "CFG-002",
...       "--format", "json", "--output", "/dev/null"])  # doctest: +ELLIPSIS
summary: 1 passed in ... s: conforms (every checked MUST clause passes)
0

``python -m conformance check [--agc T] ... [--profile P] [--seed N] [--format F]
[--output FILE] [--xfail FILE] [--clause ID ...]`` checks the roles given (no
role: everything, against the bundled ``impl``). ``python -m conformance
clauses`` prints which properties check each clause; ``roles`` prints each
role's canonical call. Exit status: 0 every checked MUST clause passes, 1 a
clause fails or errors, 2 a usage error or a target that cannot be loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from conformance.profiles import PROFILES

__all__ = ["main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conformance",
        description="Check an implementation against the fno-stability clauses.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{check,clauses,roles}")
    check = sub.add_parser(
        "check",
        help="run the properties (no role given: the bundled impl)",
        description=(
            "Run the conformance properties. A target is 'package.module:attr' or "
            "'path/to/file.py:attr'. Only the roles given are checked; with none, "
            "everything is checked against the bundled impl. Exit status: 0 every "
            "checked MUST clause passes; 1 a clause fails or errors; 2 usage error or "
            "unloadable target."
        ),
    )
    from conformance.properties import ROLES
    from conformance.targets import ROLE_CALLS, ROLE_FLAGS

    group = check.add_argument_group("targets (one per role)")
    for role in ROLES:
        group.add_argument(ROLE_FLAGS[role], dest=role, metavar="TARGET", help=ROLE_CALLS[role])
    check.add_argument("--profile", choices=list(PROFILES), default="quick")
    check.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    check.add_argument("--format", choices=["text", "json", "junit"], default="text")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report here")
    check.add_argument("--xfail", metavar="FILE", help="known failures: 'ID reason' per line")
    check.add_argument(
        "--clause",
        nargs="+",
        action="extend",
        metavar="ID",
        help="only these clause ids, property ids or patterns (e.g. AGC-00*)",
    )
    check.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="per-property time limit (default: the profile's)",
    )
    check.add_argument("--strict", action="store_true", help="SHOULD failures fail the run too")
    check.add_argument(
        "--progress",
        action="store_true",
        help="print each property's result to stderr as it finishes",
    )
    sub.add_parser("clauses", help="which properties check each clause")
    sub.add_parser("roles", help="each role's option and canonical call")
    return parser


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from conformance.properties import ROLES
    from conformance.runner import run_conformance
    from conformance.targets import TargetError
    from conformance.xfail import XfailError

    given = {role: getattr(args, role) for role in ROLES if getattr(args, role) is not None}
    if args.time_limit is not None and args.time_limit <= 0:
        raise _UsageError(f"--time-limit {args.time_limit}: must be > 0 seconds")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: targets in the current directory

    def progress(result: object) -> None:
        from conformance.report import Result

        assert isinstance(result, Result)
        print(
            f"{result.clause:8} {result.property:45} {result.status:8} "
            f"{result.examples:4d} ex {result.seconds:6.2f} s",
            file=err,
            flush=True,
        )

    try:
        report = run_conformance(
            given or None,
            profile=args.profile,
            seed=args.seed,
            clauses=args.clause,
            xfail=args.xfail,
            time_limit=args.time_limit,
            strict=args.strict,
            progress=progress if args.progress else None,
        )
    except TargetError as error:
        print(f"conformance: error: {error}", file=err)
        return 2
    except (XfailError, ValueError) as error:
        print(f"conformance: error: {error}", file=err)
        return 2
    for warning in report.warnings:
        print(f"conformance: warning: {warning}", file=err)
    text = report.render(args.format)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            print(f"conformance: error: cannot write --output {args.output!r}: {error}", file=err)
            return 2
        print(report.summary_line(), file=out)
    else:
        print(text, file=out)
    return report.exit_status


def _clauses(out: TextIO) -> int:
    from conformance.properties import PROPERTIES
    from spec import CLAUSES, SPEC_VERSION

    by_clause: dict[str, list[str]] = {}
    for prop in PROPERTIES:
        by_clause.setdefault(prop.clause, []).append(f"{prop.id} [{'+'.join(prop.roles)}]")
    print(f"fno-stability specification {SPEC_VERSION}: {len(CLAUSES)} clauses", file=out)
    uncovered = 0
    for c in CLAUSES:
        props = by_clause.get(c.id, [])
        uncovered += not props
        shown = ", ".join(props) if props else "(no property: checked by the project's tests)"
        print(f"{c.id:8} {c.level:6} {c.title:42} {shown}", file=out)
    print(
        f"\n{len(PROPERTIES)} properties; {len(CLAUSES) - uncovered} of {len(CLAUSES)} clauses "
        "have at least one",
        file=out,
    )
    return 0


def _roles(out: TextIO) -> int:
    from conformance.properties import ROLES
    from conformance.targets import DEFAULT_TARGETS, ROLE_CALLS, ROLE_FLAGS

    for role in ROLES:
        print(f"{ROLE_FLAGS[role]:20} {ROLE_CALLS[role]}", file=out)
        print(f"{'':20} default: {DEFAULT_TARGETS[role]}", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    out = out or sys.stdout
    err = sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "check")
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
        if args.command == "clauses":
            return _clauses(out)
        if args.command == "roles":
            return _roles(out)
        return _check(args, out, err)
    except _UsageError as error:
        print(parser.format_usage().rstrip(), file=err)
        print(error, file=err)
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
