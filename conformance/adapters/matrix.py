"""Run the public conformance matrix: each row's target through ``python -m conformance check``,
by default and with ``--strict``, one JSON report per run, and a summary table.

>>> [row.slug for row in ROWS]  # doctest: +NORMALIZE_WHITESPACE
['timm', 'pytorch-optimizer', 'composer', 'nfnets-pytorch-as-published', 'nfnets-pytorch',
 'optax', 'neuraloperator']
>>> cmd = check_command(ROWS[0], strict=True, profile="default", seed=0, report="r.json")
>>> cmd[3:6], cmd[-3:]
(['check', '--agc', 'conformance.adapters.timm:agc'], ['-o', 'r.json', '--strict'])

``python -m conformance.adapters.matrix [--out DIR] [--profile P] [--only NAME ...] [-- ARGS]``
(``tox -e matrix`` runs it with the libraries installed). ARGS after ``--`` go to every check
(e.g. ``-- --clause 'AGC-00*'``). Each finished run's report is ``DIR/<slug>.<default|strict>
.json``, and ``DIR/summary.md`` / ``DIR/summary.json`` are rewritten (atomically) after every
run, so an interrupted matrix keeps what it measured. A row whose library is not installed is
reported with its pip command and not run. Exit status: 0 when every run gave a verdict
(conforming or not), 1 when a run could not give one other than the expected load error of
the as-published nfnets row, 130/143 when interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.adapters._library import Library
from conformance.roles import role
from spec.io import atomic_write

__all__ = ["ROWS", "Row", "RunResult", "check_command", "main", "markdown", "run_row"]


@dataclass(frozen=True)
class Row:
    """One row of the matrix: a library's target in one role."""

    name: str
    role: str
    target: str
    adapter: str | None = None
    """The :mod:`conformance.adapters` module the target calls (its ``LIBRARY`` is checked
    before the run), or None for a target named in the library itself."""
    library: Library | None = None
    """For a row without an adapter: the library its target lives in."""
    expect_load_error: bool = False
    """The target is known not to load (exit 2 is the expected verdict)."""
    domain: tuple[tuple[str, str], ...] = ()
    """Options narrowing the checked domain to what the library supports, passed only where
    this harness's ``check`` has them (``--help`` says so); otherwise listed as not applied."""

    def lib(self) -> Library:
        if self.adapter is not None:
            lib: Library = importlib.import_module(f"conformance.adapters.{self.adapter}").LIBRARY
            return lib
        assert self.library is not None, f"row {self.name} names neither adapter nor library"
        return self.library

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


_NFNETS = Library("nfnets-pytorch", "0.1.3", "nfnets")
_REAL_DTYPES = "float16,bfloat16,float32,float64"

ROWS: tuple[Row, ...] = (
    Row("timm", "agc", "conformance.adapters.timm:agc", "timm"),
    Row("pytorch-optimizer", "agc", "conformance.adapters.pytorch_optimizer:agc",
        "pytorch_optimizer"),
    Row("composer", "agc", "conformance.adapters.composer:agc", "composer"),
    Row("nfnets-pytorch (as published)", "agc", "nfnets.agc:AGC", library=_NFNETS,
        expect_load_error=True),
    Row("nfnets-pytorch", "agc", "conformance.adapters.nfnets:agc", "nfnets",
        domain=(("--dtypes", _REAL_DTYPES), ("--max-rank", "4"))),
    Row("optax", "agc", "conformance.adapters.optax_jax:agc", "optax_jax"),
    Row("neuraloperator", "spectral_conv",
        "conformance.adapters.neuraloperator:spectral_conv", "neuraloperator"),
)  # fmt: skip
"""The matrix, in the README's order (one source of truth: the README table and tox use it)."""


@dataclass
class RunResult:
    """One ``conformance check`` run of a row."""

    row: str
    mode: str
    """``default`` or ``strict``."""
    exit_status: int | None
    summary_line: str = ""
    failing_clauses: list[str] = field(default_factory=list)
    """The clauses that decide the verdict (plan-tier ones by default, all with --strict)."""
    root_causes: list[str] = field(default_factory=list)
    strict_failures: list[str] = field(default_factory=list)
    """Strict-tier clauses that fail (reported beside a default verdict)."""
    conforms: bool | None = None
    behaves_like: str | None = None
    """The known AGC variant the target fits (the report's ``behaves_like``), for agc rows."""
    seconds: float = 0.0
    report: str | None = None
    message: str = ""
    """Why there is no verdict (not installed, load error), or notes such as a domain option
    this harness lacks."""


def check_command(
    row: Row, *, strict: bool, profile: str, seed: int, report: str, extra: Sequence[str] = ()
) -> list[str]:
    """The ``conformance check`` command line of one run."""
    cmd = [sys.executable, "-m", "conformance", "check", role(row.role).flag, row.target]
    cmd += ["--profile", profile, "--seed", str(seed), "--format", "json", "-o", report]
    return cmd + (["--strict"] if strict else []) + list(extra)


def _check_options() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "check", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


def _domain(row: Row, help_text: str) -> tuple[list[str], str]:
    args: list[str] = []
    missing: list[str] = []
    for option, value in row.domain:
        if re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text):
            args += [option, value]
        else:
            missing.append(f"{option} {value}")
    note = f"domain not narrowed (this harness has no {', '.join(missing)})" if missing else ""
    return args, note


def _summary_line(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("summary:")]
    return lines[-1][len("summary:") :].strip() if lines else ""


def run_row(
    row: Row,
    *,
    strict: bool,
    out: Path,
    profile: str = "default",
    seed: int = 0,
    extra: Sequence[str] = (),
    help_text: str = "",
) -> RunResult:
    """Run one row once (default or ``--strict``) and read its report."""
    mode = "strict" if strict else "default"
    lib = row.lib()
    if lib.installed_version() is None:
        return RunResult(row.name, mode, None, message=f"not installed: {lib.pip}")
    domain, note = _domain(row, help_text)
    report = out / f"{row.slug}.{mode}.json"
    cmd = check_command(
        row, strict=strict, profile=profile, seed=seed, report=str(report), extra=[*domain, *extra]
    )
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    result = RunResult(row.name, mode, done.returncode, seconds=round(seconds, 1), message=note)
    result.summary_line = _summary_line(done.stdout)
    if report.is_file():
        data = json.loads(report.read_text())
        result.report = str(report)
        summary = data.get("summary", {})
        result.failing_clauses = list(summary.get("failing_clauses", []))
        result.root_causes = list(summary.get("root_causes", []))
        result.strict_failures = list(summary.get("strict_failures", []))
        result.conforms = summary.get("conforms")
        result.behaves_like = data.get("behaves_like")
    if done.returncode == 2:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        result.message = lines[-1] if lines else "exit 2"
    if done.returncode in (130, 143):
        raise KeyboardInterrupt
    return result


def _verdict(r: RunResult) -> str:
    """The check's own summary line (or why there is none)."""
    if r.exit_status is None:
        return r.message
    if r.exit_status == 2:
        return f"load error (exit 2): {r.message}"
    text = r.summary_line or f"exit {r.exit_status}"
    if r.message:
        text += f"; {r.message}"
    return text


def _short(r: RunResult | None) -> str:
    if r is None:
        return "not run"
    if r.exit_status is None or r.exit_status == 2:
        return "not installed" if r.exit_status is None else "load error (exit 2)"
    if r.conforms is None:
        return f"exit {r.exit_status}"
    word = "conforms" if r.conforms else "does NOT conform"
    return word + (" (strict)" if r.mode == "strict" else " to the plan")


def _reason(message: str) -> str:
    """The cause in a load error (``... raised ImportError: ...``), without paths and the
    expected-form hint; other messages as they are.

    >>> _reason("importing 'm' raised ImportError: no X (/usr/lib/x.py). Expected form")
    'ImportError: no X'
    """
    found = re.search(r"raised (.*?)(?: \(/[^)]*\))?(?:\. Expected form.*)?$", message)
    return found.group(1) if found else message


def _clauses(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


def markdown(results: Sequence[RunResult]) -> str:
    """The summary table: one line per row, default and ``--strict`` side by side (the full
    summary lines and messages are in ``summary.json``)."""
    by_row: dict[str, dict[str, RunResult]] = {}
    for r in results:
        by_row.setdefault(r.row, {})[r.mode] = r
    lines = [
        "| library | version | role | default | --strict | root causes (default) "
        "| failing by default | strict-tier failures | behaves like (default) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        runs = by_row.get(row.name)
        if not runs:
            continue
        default, strict = runs.get("default"), runs.get("strict")
        version = row.lib().installed_version() or "not installed"
        known = default is not None and default.conforms is not None
        extra = (
            [_clauses(default.root_causes), _clauses(default.failing_clauses),
             _clauses(default.strict_failures)]
            if known and default is not None
            else [_reason(default.message) if default else "-", "-", "-"]
        )  # fmt: skip
        fitted = (default.behaves_like if default else None) or "-"
        cells = [row.name, version, f"`{row.role}`", _short(default), _short(strict), *extra]
        cells.append(fitted.split(" (fitted on", 1)[0])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _save(out: Path, results: Sequence[RunResult], meta: dict[str, Any]) -> None:
    atomic_write(out / "summary.md", markdown(results))
    data = {**meta, "results": [asdict(r) for r in results]}
    atomic_write(out / "summary.json", json.dumps(data, indent=2) + "\n")


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, extra = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m conformance.adapters.matrix", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("matrix-reports"), help="report folder")
    parser.add_argument("--profile", default="default", help="conformance profile (default)")
    parser.add_argument("--seed", type=int, default=0)
    names = [row.name for row in ROWS]
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help=f"rows: {names}"
    )
    return parser.parse_args(args), extra


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the matrix (see the module docstring); returns the exit status."""
    options, extra = _parse(argv)
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _sigterm)
    meta = {"profile": options.profile, "seed": options.seed, "extra": extra}
    help_text = _check_options()
    results: list[RunResult] = []
    rows = [r for r in ROWS if not options.only or r.name in options.only]
    status = 0
    try:
        for row in rows:
            for strict in (False, True):
                r = run_row(
                    row,
                    strict=strict,
                    out=out,
                    profile=options.profile,
                    seed=options.seed,
                    extra=extra,
                    help_text=help_text,
                )
                results.append(r)
                _save(out, results, meta)
                print(f"{row.name} [{r.mode}] {_verdict(r)} ({r.seconds} s)", flush=True)
                if r.exit_status not in (0, 1, None) and not (
                    row.expect_load_error and r.exit_status == 2
                ):
                    status = 1
                if r.exit_status == 2:
                    break  # a target that does not load gives the same error with --strict
    except KeyboardInterrupt:
        _save(out, results, {**meta, "interrupted": True})
        print(f"interrupted; reports so far in {out}", file=sys.stderr)
        return 130
    except SystemExit as stop:
        _save(out, results, {**meta, "interrupted": True})
        print(f"terminated; reports so far in {out}", file=sys.stderr)
        return int(stop.code) if isinstance(stop.code, int) else 143
    print()
    print(markdown(results), end="")
    print(f"\nreports: {out.resolve()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
