"""The ``conformance`` command: check implementations against the spec clauses.

>>> from conformance.cli import main
>>> main(["check", "--torch-config", "spec:TorchTrainingConfig", "--clause", "CFG-002",
...       "--format", "json", "--output", "/dev/null"])  # doctest: +ELLIPSIS
summary: 1 passed in ... s: conforms to the plan
0

``python -m conformance check [--agc T] ... [--profile P] [--seed N] [--format F]
[--output FILE] [--xfail FILE] [--clause ID ...]`` checks the roles given (no role:
everything, against the bundled implementation — the installed one, never a folder of
the same name in the current directory). ``clauses`` prints which properties check each
clause; ``roles`` prints each role's option, canonical call and bundled target.

Exit status: 0 a complete verdict and every checked MUST clause passes; 1 a clause
fails, errors, crashes or times out; 2 a usage error or a target that cannot be loaded;
3 incomplete: a role that was asked for ran no property; 130 / 143 interrupted by
Ctrl-C / SIGTERM (the report of what finished is still written, marked interrupted).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from conformance.profiles import PROFILES
from conformance.roles import ROLE_TABLE, ROLES, markdown_table
from conformance.writers import WRITERS

__all__ = ["main"]

HOME = str(Path(__file__).resolve().parent.parent)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r}: must be > 0")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``conformance`` command's parser (the CLI reference page is generated from it)."""
    parser = _Parser(
        prog="conformance",
        description="Check an implementation against the fno-stability clauses.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{check,mutate,clauses,roles}")
    check = sub.add_parser(
        "check",
        help="run the properties (no role given: the bundled implementation)",
        description=(
            "Run the conformance properties. A target is 'package.module:attr' or "
            "'path/to/file.py:attr'; each is loaded in a worker process of its own, never "
            "in this one. Only the roles given are checked; with none, everything is "
            "checked against the bundled implementation. Exit status: 0 complete and every "
            "checked MUST clause passes; 1 a clause fails, errors, crashes or times out; 2 "
            "usage error or unloadable target; 3 a role asked for ran no property; 130/143 "
            "interrupted."
        ),
    )
    group = check.add_argument_group("targets (one per role)")
    for row in ROLE_TABLE:
        group.add_argument(row.flag, dest=row.name, metavar="TARGET", help=row.call)
    check.add_argument("--profile", choices=list(PROFILES), default="quick")
    check.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    check.add_argument("--format", choices=list(WRITERS), default="text")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report here")
    check.add_argument("--xfail", metavar="FILE", help="known failures: 'ID reason' per line")
    check.add_argument(
        "--clause",
        nargs="+",
        action="extend",
        metavar="ID",
        help="only these clause ids, property ids or patterns (e.g. AGC-00*)",
    )
    limits = check.add_argument_group("limits (each enforced by stopping the worker)")
    limits.add_argument(
        "--time-limit",
        type=_positive(float),
        metavar="SECONDS",
        help="per property (default: the profile's)",
    )
    limits.add_argument(
        "--call-limit",
        type=_positive(float),
        metavar="SECONDS",
        help="per example (default: none beyond the property's)",
    )
    limits.add_argument(
        "--import-limit",
        type=_positive(float),
        default=120.0,
        metavar="SECONDS",
        help="for loading each target (default 120)",
    )
    limits.add_argument(
        "--memory-limit",
        type=_positive(int),
        metavar="MIB",
        help="address space (MiB) each worker may map beyond what it holds when it starts "
        "(torch itself: ~0.6 GB for a CPU build, ~3 GB for a CUDA build, not counted)",
    )
    check.add_argument(
        "--threads",
        type=_positive(int),
        default=1,
        help="torch intra-op threads in each worker (default 1: faster on small tensors)",
    )
    domain = check.add_argument_group(
        "domain (narrows what the targets declare; properties outside it are not applicable)"
    )
    domain.add_argument("--dtypes", metavar="LIST", help="e.g. float32,float64")
    domain.add_argument("--max-rank", type=int, metavar="N", help="largest tensor rank (0-5)")
    domain.add_argument(
        "--clip-factor", metavar="LOW:HIGH", help="clip factors with LOW < factor <= HIGH"
    )
    domain.add_argument("--min-size", type=int, metavar="N", help="smallest grid side H, W")
    domain.add_argument(
        "--distributed",
        type=int,
        metavar="N",
        help="also check AGC and the dispatch on DTensor parameters sharded over N gloo ranks "
        "forked on this machine (AGC-035, AGC-036; 2 to 16; default: not applicable)",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="count strict-tier and SHOULD clauses too (default: the plan tier's MUST clauses)",
    )
    check.add_argument(
        "--progress",
        action="store_true",
        help="print each property's result to stderr as it finishes",
    )
    from conformance.mutate.command import add_parser as add_mutate

    add_mutate(sub, check)
    sub.add_parser("clauses", help="which properties check each clause")
    roles = sub.add_parser("roles", help="each role's option, canonical call and bundled target")
    roles.add_argument("--markdown", action="store_true", help="as the README's Markdown table")
    return parser


def _own_packages(err: TextIO) -> None:
    """Make ``spec`` and ``impl`` resolve to this distribution, not to the current folder."""
    cwd = os.path.realpath(os.getcwd())
    if cwd != HOME:
        sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != cwd]
        shadows = [n for n in ("spec", "impl") if (Path(cwd) / n).is_dir()]
        if shadows:
            names = " and ".join(f"./{n}" for n in shadows)
            print(
                f"conformance: note: ignoring {names} in the current folder: checking the "
                f"installed fno-stability ({HOME})",
                file=err,
            )
    if HOME not in sys.path:
        sys.path.insert(0, HOME)
    for name in ("spec", "impl"):
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None) or ""
        if module is not None and not os.path.realpath(file).startswith(HOME + os.sep):
            raise _UsageError(
                f"conformance: error: the module {name!r} was already imported from "
                f"{file or '?'}, which shadows fno-stability's ({HOME}/{name}); run from "
                "another folder or remove it from sys.path / PYTHONPATH"
            )


def _domain(args: argparse.Namespace) -> Any:
    """The command line's domain (a usage error names a bad value and what is allowed)."""
    from conformance.domain import Domain, DomainError

    declared: dict[str, Any] = {}
    if args.dtypes is not None:
        declared["dtypes"] = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    if args.max_rank is not None:
        declared["max_rank"] = args.max_rank
    if args.clip_factor is not None:
        declared["clip_factor"] = args.clip_factor
    if args.min_size is not None:
        declared["min_size"] = args.min_size
    if args.distributed is not None:
        declared["distributed"] = args.distributed
    try:
        return Domain.declared(declared, "the command line's domain")
    except DomainError as error:
        raise _UsageError(f"conformance: error: {error}") from None


def _stop_on_signals() -> dict[int, Any]:
    """SIGINT and SIGTERM stop the run (also when they land where exceptions are swallowed)."""
    from conformance._internal.stop import request_stop

    def handler(signum: int, frame: FrameType | None) -> None:
        request_stop(signal.Signals(signum).name)

    handler._conformance_stop = True  # type: ignore[attr-defined]
    _redeliver_swallowed_stops()
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # started with it ignored (nohup, a background job): keep it so
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            break
    return previous


def _redeliver_swallowed_stops() -> None:
    """A stop raised where Python swallows exceptions is sent again, and not printed.

    A signal handler runs wherever the main thread is; inside a gc callback, a ``__del__`` or a
    weakref callback the :class:`~conformance._internal.stop.Interrupted` it raises goes to
    ``sys.unraisablehook`` ("Exception ignored in ...", a traceback on stderr) and the run
    would go on until the next example. Here that hook stays quiet for it and the signal is
    delivered again to the main thread a moment later, from outside the swallowing frame (a
    blocking wait it lands in is woken: ``pthread_kill``). Other unraisable errors go to the
    hook that was there before. Installed once per process.
    """
    import threading

    from conformance._internal.stop import STOP, Interrupted

    previous = sys.unraisablehook
    if getattr(previous, "_conformance_redelivers", False):
        return
    main = threading.main_thread().ident

    def again(signum: signal.Signals) -> None:
        ours = getattr(signal.getsignal(signum), "_conformance_stop", False)
        if ours and STOP.pending and main is not None:
            signal.pthread_kill(main, signum)

    def hook(unraisable: Any) -> None:
        error = unraisable.exc_value
        if not isinstance(error, Interrupted):
            previous(unraisable)
            return
        signum = signal.Signals.__members__.get(error.signal_name, signal.SIGINT)
        later = threading.Timer(0.02, again, (signum,))
        later.daemon = True
        later.start()

    hook._conformance_redelivers = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a unique temporary file, then a rename)."""
    target = Path(path)
    if target.is_char_device() or str(target) == os.devnull:
        target.write_text(text, encoding="utf-8")
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _own_packages(err)
    previous = _stop_on_signals()  # from here a stop is recorded (and raised once a run starts)
    try:
        return _check_with_handlers(args, out, err)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_with_handlers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from conformance._internal.session import Options, warm

    options = Options(args.threads, args.memory_limit, args.import_limit)
    warm(options)  # the host imports torch while this process does
    from conformance.judge import run_conformance
    from conformance.targets import TargetError
    from conformance.xfail import XfailError

    given = {role: getattr(args, role) for role in ROLES if getattr(args, role) is not None}
    domain = _domain(args)

    def progress(result: Any) -> None:
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
            call_limit=args.call_limit,
            strict=args.strict,
            progress=progress if args.progress else None,
            options=options,
            domain=domain,
        )
    except (TargetError, XfailError, ValueError) as error:
        print(f"conformance: error: {error}", file=err)
        return 2
    for warning in report.warnings:
        print(f"conformance: warning: {warning}", file=err)
    text = report.render(args.format)
    if args.output:
        try:
            _write(args.output, text + "\n")
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


def _roles(args: argparse.Namespace, out: TextIO) -> int:
    if args.markdown:
        print(markdown_table(), file=out)
        return 0
    for row in ROLE_TABLE:
        print(f"{row.flag:20} {row.call}", file=out)
        print(f"{'':20} bundled: {row.default}", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    out = out or sys.stdout
    err = sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "check")
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exit_:  # --help
            return int(exit_.code or 0)
        if args.command == "clauses":
            _own_packages(err)
            return _clauses(out)
        if args.command == "roles":
            return _roles(args, out)
        if args.command == "mutate":
            from conformance.mutate.command import run_command

            _own_packages(err)
            previous = _stop_on_signals()
            try:
                return run_command(args, out, err, _write)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return _check(args, out, err)
    except _UsageError as error:
        print(parser.format_usage().rstrip(), file=err)
        print(error, file=err)
        return 2
