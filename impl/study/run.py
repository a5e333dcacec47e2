"""The study runner: train one registry generator on the synthetic ptychography task (plan 1.4).

>>> import tempfile, json, pathlib
>>> from impl.study.run import main
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> main(["--N", "16", "--fno-blocks", "1", "--fno-width", "2", "--fno-modes", "2",
...       "--object-size", "32", "--scan-stride", "8", "--epochs", "1", "--batch-size", "2",
...       "--quiet", "--output-dir", str(out)])
0
>>> json.loads((out / "metrics.json").read_text())["status"]
'completed'

``python -m impl.runner --architecture stable_hybrid --grad-clip 0 --output-dir runs/x``
resolves a :class:`spec.StudyConfig` (:mod:`impl.study.options`: preset, ``--config``
file, flags), checks before anything is generated that it can run — the config
validates, the probe file loads, the generator takes the patch size, the output
directory is writable and holds no earlier run unless ``--overwrite`` — (RUN-004,
exit 2 naming what is wrong), then :func:`run_study`: set-up
(:func:`impl.study.setup.prepare`: data, well-posedness check, model), the loop
(:func:`impl.study.loop.train_loop`), the outputs (:mod:`impl.study.outputs`),
written atomically and after every epoch.

Failures (RUN-006) are recorded, not raised: a non-finite loss or gradient norm, or
a gradient norm above ``--explode-grad-norm``, stops training with ``failed`` and
``failure_reason`` set. Ctrl-C and SIGTERM stop it alike, after writing what was
measured (``interrupted``, ``interrupt_signal``). Exit status: 0 trained, 1 training
failure recorded, 2 bad input, 3 some outputs could not be written (each file and
error named; the metrics go to stderr), 130 Ctrl-C, 143 SIGTERM.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import secrets
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import Tensor

import spec
from impl.registry import build_generator
from impl.study.data import StudyData
from impl.study.failures import IdentityPinnedWarning
from impl.study.interrupts import Interrupted, signals_as_interrupts, signals_deferred
from impl.study.loop import Evaluation, LoopResult, evaluate, train_loop
from impl.study.options import RunOptions, parse_args
from impl.study.outputs import run_metrics, status_of, write_final, write_progress
from impl.study.ranks import Ranks, agree_on_problems, finish, start
from impl.study.rundir import QuietDirectory, RunDirectory, json_safe
from impl.study.setup import RunSetup, preflight, prepare

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNWRITTEN",
    "EXIT_USAGE",
    "IdentityPinnedWarning",
    "IllPosedWarning",
    "RunOutcome",
    "main",
    "run_study",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNWRITTEN = 0, 1, 2, 3


class IllPosedWarning(RuntimeWarning):
    """The well-posedness check failed: the twin image fits, or direct retrieval did not solve."""


@dataclass
class RunOutcome:
    """What one run measured (also written to ``output_dir``)."""

    config: spec.StudyConfig
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    output_dir: Path | None = None
    write_errors: list[str] = field(default_factory=list)
    wellposedness: dict[str, Any] | None = None
    final: Evaluation | None = None
    probe: Tensor | None = None


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        self.run_id = secrets.token_hex(6)

    def timing(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "seconds": time.perf_counter() - self.wall,
            "cpu_seconds": time.process_time() - self.cpu,
        }


def _start(
    config: spec.StudyConfig,
    run: RunDirectory,
    options: RunOptions,
    stream: TextIO,
    *,
    probe: Tensor | None,
    data: StudyData | None,
    wellposedness: dict[str, Any] | None,
    ranks: Ranks | None,
) -> RunSetup:
    setup = prepare(
        config, options, probe=probe, data=data, wellposedness=wellposedness, ranks=ranks
    )
    if ranks is not None and not ranks.main:
        return setup  # rank 0 reports the check and writes the files
    run.write_json("wellposedness.json", setup.wellposedness)
    run.write_npy("probe.npy", setup.data.probe.numpy())
    check = setup.wellposedness
    if not check["wellposed"]:
        head = "the task is ill-posed" if not check["twin_rejected"] else "well-posedness not shown"
        message = f"{head}: " + "; ".join(check["reasons"])
        warnings.warn(message, IllPosedWarning, stacklevel=3)
        stream.write(f"warning: {message}\n")
    return setup


def _begin(config: spec.StudyConfig, run: RunDirectory, clock: _Clock) -> None:
    """Before any data: the config, and a metrics record that says the run is under way."""
    try:
        if run.writes:
            spec.save_config(config, run.path / "config.json")
    except OSError as exc:
        run.errors.append(f"{run.path / 'config.json'}: {exc.strerror or exc}")
    run.write_json("metrics.json", {"status": "running", **clock.timing()})


def _finish(
    config: spec.StudyConfig,
    run: RunDirectory,
    setup: RunSetup | None,
    loop: LoopResult,
    options: RunOptions,
    clock: _Clock,
) -> tuple[dict[str, Any], Evaluation | None]:
    """Score the final weights and write the last records; signals now wait until it is done."""
    with signals_deferred() as late:
        if setup is not None:
            setup.refresh()  # under torchrun: rank 0's copy of the final weights
        scored = setup is not None and setup.reporting() is not None and not loop.failure
        final = evaluate(setup, config.training.batch_size) if scored else None  # type: ignore[arg-type]
        if loop.interrupt is None and late:
            loop.interrupt = late[0]
        status = status_of(
            failure=loop.failure, interrupted=loop.interrupt is not None, finished=True
        )
        metrics = run_metrics(
            config, setup, loop, final, options, status=status, timing=clock.timing()
        )
        write_final(run, loop, metrics, final, setup)
    return metrics, final


def run_study(
    config: spec.StudyConfig,
    output_dir: str | Path,
    options: RunOptions | None = None,
    *,
    stream: TextIO | None = None,
    probe: Tensor | None = None,
    data: StudyData | None = None,
    wellposedness: dict[str, Any] | None = None,
    ranks: Ranks | None = None,
) -> RunOutcome:
    """Train as ``config`` says and write the outputs to ``output_dir`` (RUN-005..008, 010).

    Never raises for a training failure, Ctrl-C or SIGTERM: they are recorded in the
    metrics (``failed`` / ``interrupted``) and the files. Raises ValueError before
    anything is done when ``output_dir`` cannot take the run. ``data`` and
    ``wellposedness`` (what this config would draw and check) may be passed to reuse
    them across arms. ``ranks``: this process's place under torchrun
    (:mod:`impl.study.ranks`): every rank trains, rank 0 alone writes; signals are
    acted on by every rank after the same step.
    """
    stream = sys.stderr if stream is None else stream
    options = RunOptions() if options is None else options
    quiet = ranks is not None and not ranks.main
    run = QuietDirectory(output_dir) if quiet else RunDirectory(output_dir)
    if quiet:
        stream, options = io.StringIO(), dataclasses.replace(options, progress=False)
    run.prepare(options.overwrite)
    clock = _Clock()
    setup: RunSetup | None = None
    loop = LoopResult()

    def progress(state: LoopResult) -> None:
        m = run_metrics(
            config, setup, state, None, options, status="running", timing=clock.timing()
        )
        write_progress(run, state, m)

    # Under torchrun a signal is only recorded: every rank acts on it after the same step.
    with signals_as_interrupts() if ranks is None else signals_deferred() as seen:
        if ranks is not None and seen is not None:
            ranks.signals = seen
        try:
            _begin(config, run, clock)
            setup = _start(
                config,
                run,
                options,
                stream,
                probe=probe,
                data=data,
                wellposedness=wellposedness,
                ranks=ranks,
            )
            loop = train_loop(setup, options, stream, on_epoch=progress)
        except KeyboardInterrupt as exc:  # during set-up: nothing trained yet
            loop.interrupt = exc if isinstance(exc, Interrupted) else Interrupted()
        if seen and loop.interrupt is None:  # under torchrun, received after the last step
            loop.interrupt = seen[0]
    metrics, final = _finish(config, run, setup, loop, options, clock)
    return RunOutcome(
        config=config,
        metrics=json_safe(metrics),
        history=json_safe(loop.history),
        output_dir=run.path,
        write_errors=run.errors,
        wellposedness=setup.wellposedness if setup else None,
        final=final,
        probe=setup.data.probe if setup else None,
    )


def exit_status(outcome: RunOutcome) -> int:
    """0 trained, 1 failure recorded, 3 outputs unwritten, 128 + signal when interrupted."""
    m = outcome.metrics
    if outcome.write_errors:
        return EXIT_UNWRITTEN
    if m["interrupted"]:
        return Interrupted(signal.Signals[m["interrupt_signal"] or "SIGINT"]).exit_status
    return EXIT_FAILED if m["failed"] else EXIT_OK


def report_unwritten(outcome: RunOutcome, stream: TextIO) -> None:
    """Name every file that could not be written, and print the metrics so they are not lost."""
    stream.write("error: some outputs could not be written:\n")
    for error in outcome.write_errors:
        stream.write(f"  {error}\n")
    stream.write("metrics of this run:\n" + json.dumps(outcome.metrics, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impl.runner``: see the module docstring for the exit status."""
    config, options, output_dir = parse_args(argv)
    ranks = None
    if options.distributed is not None:  # under torchrun (checked by parse_args)
        ranks, device = start(options.distributed, options.device)
        options = dataclasses.replace(options, device=device)
    status = _main(config, options, output_dir, ranks)
    finish(ranks, status)  # not after an exception: torchrun then stops the other ranks
    return status


def _main(
    config: spec.StudyConfig, options: RunOptions, output_dir: Path, ranks: Ranks | None
) -> int:
    main_rank = ranks is None or ranks.main
    run = RunDirectory(output_dir) if main_rank else None
    probe, problems = preflight(config, run, options)
    if ranks is not None:  # what this torch's backend cannot do for this model
        with torch.device("meta"):  # the parameters' dtypes, no memory
            shapes = build_generator(config.model)
        problem = ranks.problem(shapes)
        problems += [problem] if problem else []
    for problem in problems:
        print(f"python -m impl.runner: error: {problem}", file=sys.stderr)
    if agree_on_problems(problems, ranks):
        return EXIT_USAGE
    options.apply()
    outcome = run_study(config, output_dir, options, probe=probe, ranks=ranks)
    if not main_rank:
        return exit_status(outcome)
    if outcome.write_errors:
        report_unwritten(outcome, sys.stderr)
    elif outcome.metrics["failed"]:
        print(
            f"training failed (recorded in {outcome.output_dir}): "
            f"{outcome.metrics['failure_reason']}",
            file=sys.stderr,
        )
    return exit_status(outcome)
