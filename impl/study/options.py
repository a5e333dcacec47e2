"""The study's command-line flags: one table, shared by ``impl.runner`` and ``impl.compare``.

>>> from impl.study.options import parse_args
>>> config, options, out = parse_args(["--architecture", "stable_hybrid", "--epochs", "3"])
>>> config.model.architecture, config.training.epochs, config.model.N   # N from the preset
('stable_hybrid', 3, 32)

A run's config is resolved in three layers: the ``--preset`` (default ``default``,
:mod:`impl.study.presets`), then a ``--config`` file (JSON/TOML ``StudyConfig``;
the fields it leaves out keep the preset's values), then the flags. The result is
validated by the spec models: a bad value exits 2 naming the flag (or the file),
the field, the value and what is allowed (RUN-004). Each config flag sets the
field :data:`CONFIG_FLAGS` names; a flag not given leaves the field alone.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ValidationError

import spec
from impl.study.presets import PRESETS
from impl.study.scan import ScanGrid

__all__ = [
    "CONFIG_FLAGS",
    "RunOptions",
    "add_config_flags",
    "add_run_flags",
    "build_parser",
    "parse_args",
    "resolve_config",
    "resolve_options",
]


@dataclass(frozen=True)
class RunOptions:
    """Runner settings that are not part of the study config."""

    device: str = "cpu"
    progress: bool = True
    overwrite: bool = False
    """Replace the outputs of a previous run in the output directory."""
    explode_grad_norm: float = 1e6
    """A gradient norm before clipping above this counts as a failure (exploding)."""
    pin_threshold: float = 0.1
    """Residual gain below which a stable block counts as pinned to the identity."""
    pin_epochs: int = 5
    """Consecutive pinned epochs that trigger the identity-pinned warning."""
    threads: int | None = 1
    """torch intra-op threads (None: leave torch's setting)."""
    distributed: str | None = None
    """``ddp`` or ``fsdp`` under torchrun (:mod:`impl.study.ranks`); None: one process."""

    def apply(self) -> None:
        """Set torch's intra-op threads as :attr:`threads` says."""
        if self.threads is not None:
            torch.set_num_threads(self.threads)


def _optional_int(text: str) -> int | None:
    return None if text.strip().lower() == "none" else int(text)


_optional_int.__name__ = "int or 'none'"  # argparse names the type in its error

CONFIG_FLAGS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "architecture": ("model", "architecture", {}),
    "N": ("model", "N", {"type": int}),
    "gridsize": ("model", "gridsize", {"type": int}),
    "fno_width": ("model", "fno_width", {"type": int}),
    "fno_blocks": ("model", "fno_blocks", {"type": int}),
    "fno_modes": ("model", "fno_modes", {"type": int}),
    "max_hidden_channels": ("model", "max_hidden_channels", {"type": _optional_int}),
    "stable_init": ("model", "stable_init", {"choices": spec.STABLE_INITS}),
    "layerscale_init": ("model", "layerscale_init", {"type": float}),
    "epochs": ("training", "epochs", {"type": int}),
    "batch_size": ("training", "batch_size", {"type": int}),
    "lr": ("training", "learning_rate", {"type": float}),
    "optimizer": ("training", "optimizer", {"choices": spec.OPTIMIZER_NAMES}),
    "seed": ("training", "seed", {"type": int}),
    "nphotons": ("training", "nphotons", {"type": float}),
    "grad_clip": ("training", "gradient_clip_val", {"type": float}),
    "gradient_clip_algorithm": (
        "training", "gradient_clip_algorithm", {"choices": spec.CLIP_ALGORITHMS},
    ),
    "loss": ("training", "loss_function", {"choices": spec.LOSS_FUNCTIONS}),
    "accumulate_grad_batches": ("training", "accumulate_grad_batches", {"type": int}),
    "objects": ("data", "objects", {"choices": spec.OBJECT_KINDS}),
    "object_size": ("data", "object_size", {"type": int}),
    "n_train_objects": ("data", "n_train_objects", {"type": int}),
    "n_test_objects": ("data", "n_test_objects", {"type": int}),
    "scan_stride": ("data", "scan_stride", {"type": int}),
    "set_phi": ("data", "set_phi", {"action": argparse.BooleanOptionalAction}),
    "probe": ("data", "probe", {"choices": spec.PROBE_KINDS}),
    "probe_file": ("data", "probe_file", {"metavar": "FILE.npy|FILE.npz"}),
    "probe_phase_std": ("data", "probe_phase_std", {"type": float}),
    "probe_correlation": ("data", "probe_correlation", {"type": float}),
    "probe_seed": ("data", "probe_seed", {"type": int}),
}  # fmt: skip
"""argparse dest -> (config section, field, add_argument options): every config flag."""

PER_ARM = frozenset({"architecture", "grad_clip", "gradient_clip_algorithm", "seed"})
"""Config flags the compare wrapper sets per arm and run, not from its command line."""

_SECTIONS: dict[str, type[BaseModel]] = {
    "model": spec.ModelConfig,
    "training": spec.TorchTrainingConfig,
    "data": spec.DataConfig,
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser, exclude: Collection[str] = ()) -> None:
    """Add ``--preset``, ``--config`` and every config flag (but ``exclude``) to ``parser``."""
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="default", help="starting config"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a StudyConfig file (JSON/TOML) laid over the preset; flags override it",
    )
    group = parser.add_argument_group("study config (each flag sets one StudyConfig field)")
    for dest, (section, name, kwargs) in CONFIG_FLAGS.items():
        if dest in exclude:
            continue
        doc = _SECTIONS[section].model_fields[name].description or ""
        group.add_argument(
            _flag(dest),
            dest=dest,
            default=argparse.SUPPRESS,
            help=f"{section}.{name}: {doc}",
            **kwargs,
        )


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Add the flags of :class:`RunOptions`."""
    add = parser.add_argument
    add("--overwrite", action="store_true", help="replace a previous run in the output directory")
    add("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    add(
        "--threads",
        type=int,
        default=RunOptions.threads,
        help="torch intra-op threads; 0: torch's default (default 1: the default model gains "
        "nothing from more, and on a shared machine more threads are slower)",
    )
    add("--quiet", action="store_true", help="no progress bar")
    add("--explode-grad-norm", type=float, default=RunOptions.explode_grad_norm)
    add("--pin-threshold", type=float, default=RunOptions.pin_threshold)
    add("--pin-epochs", type=int, default=RunOptions.pin_epochs)


def build_parser(prog: str = "python -m impl.runner") -> argparse.ArgumentParser:
    """The runner's argument parser."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train one generator on the synthetic grid-lines ptychography task.",
        allow_abbrev=False,  # --n-train must not silently mean --n-train-objects
    )
    p.add_argument("--output-dir", type=Path, default=Path("runs/run"), help="where outputs go")
    add_config_flags(p)
    add_run_flags(p)
    p.add_argument(
        "--distributed",
        choices=("ddp", "fsdp"),
        default=None,
        help="under torchrun: DistributedDataParallel or FSDP2, each rank 1/N of every batch, "
        "rank 0 writing (torchrun --nproc-per-node N -m impl.runner --distributed ddp ...)",
    )
    return p


def _describe(exc: ValidationError, given: dict[tuple[str, ...], str], origin: str) -> list[str]:
    lines = []
    for item in exc.errors():
        loc = tuple(str(p) for p in item["loc"])
        flag = given.get(loc[:2])
        where = ".".join(loc) or "(config)"
        source = f"{flag}={item.get('input')!r} " if flag else ""
        lines.append(f"{source}(field {where}){'' if flag else f' (from {origin})'}: {item['msg']}")
    return lines


def resolve_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> spec.StudyConfig:
    """Preset, then ``--config``, then flags -> a validated StudyConfig; exit 2 when invalid."""
    base = PRESETS[args.preset]
    origin = f"--preset {args.preset}"
    if args.config is not None:
        try:
            base = spec.load_config(args.config, base=base)
        except spec.ConfigFileError as exc:
            parser.error(f"--config: {exc}")
        origin = f"{args.config} over --preset {args.preset}"
    data: dict[str, dict[str, Any]] = base.model_dump()
    given: dict[tuple[str, ...], str] = {}
    for dest, (section, name, _) in CONFIG_FLAGS.items():
        if not hasattr(args, dest):  # not on the command line (argparse.SUPPRESS)
            continue
        value = getattr(args, dest)
        if dest == "grad_clip" and value <= 0:
            value = 0.0  # RUN-003: a clip value <= 0 disables clipping
        data[section][name] = value
        given[(section, name)] = _flag(dest)
    try:
        return spec.StudyConfig.model_validate(data)
    except ValidationError as exc:  # RUN-004: the spec's message, naming flag and field
        parser.error("invalid value(s):\n  " + "\n  ".join(_describe(exc, given, origin)))


def _device_problem(text: str) -> str | None:
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError) as exc:
        return f"not a torch device ({exc})"
    if device.type not in ("cpu", "cuda", "mps"):
        return "allowed are cpu, cuda[:i], mps"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available on this machine: use cpu"
    if device.type == "mps" and not torch.backends.mps.is_available():
        return "MPS is not available on this machine: use cpu"
    return None


def resolve_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> RunOptions:
    """The run flags -> :class:`RunOptions`; exit 2 naming a bad one."""
    problem = _device_problem(args.device)
    if problem:
        parser.error(f"--device={args.device!r}: {problem}")
    for flag, value in (
        ("--explode-grad-norm", args.explode_grad_norm),
        ("--pin-threshold", args.pin_threshold),
    ):
        if not (math.isfinite(value) and value > 0):
            parser.error(f"{flag}={value!r}: must be a finite number > 0")
    if args.pin_epochs < 1:
        parser.error(f"--pin-epochs={args.pin_epochs!r}: must be an int >= 1")
    if args.threads < 0:
        parser.error(f"--threads={args.threads!r}: must be an int >= 0 (0: torch's default)")
    return RunOptions(
        distributed=getattr(args, "distributed", None),  # the runner's flag only
        device=args.device,
        progress=not args.quiet,
        overwrite=args.overwrite,
        explode_grad_norm=args.explode_grad_norm,
        pin_threshold=args.pin_threshold,
        pin_epochs=args.pin_epochs,
        threads=args.threads or None,
    )


def check_steps(config: spec.StudyConfig, parser: argparse.ArgumentParser) -> None:
    """Exit 2 unless the training set holds at least one optimiser step's patterns."""
    patterns = config.data.n_train_objects * ScanGrid.of(config).groups_per_side ** 2
    per_step = config.training.batch_size * config.training.accumulate_grad_batches
    if patterns < per_step:
        parser.error(
            f"the training set holds {patterns} patterns (n_train_objects x scan positions), "
            f"below one optimiser step's batch_size * accumulate_grad_batches = {per_step}: "
            "raise --n-train-objects or --object-size, or lower --scan-stride or --batch-size"
        )


def parse_args(
    argv: Sequence[str] | None = None, prog: str = "python -m impl.runner"
) -> tuple[spec.StudyConfig, RunOptions, Path]:
    """A runner command line -> (config, options, output_dir); SystemExit(2) on bad input."""
    parser = build_parser(prog)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    config = resolve_config(args, parser)
    check_steps(config, parser)
    options = resolve_options(args, parser)
    if options.distributed is not None:  # exit 2 outside torchrun, before anything is done
        from impl.study.ranks import distributed_problem

        problem = distributed_problem(options.distributed, config.training.batch_size)
        if problem:
            parser.error(problem)
    return config, options, args.output_dir
