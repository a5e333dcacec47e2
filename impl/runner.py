"""The study runner: train one registry generator on the grid-lines task (plan task 1.4).

>>> import tempfile
>>> from impl.runner import main
>>> out = tempfile.mkdtemp()
>>> main(["--N", "16", "--fno-blocks", "1", "--fno-width", "2", "--fno-modes", "2",
...       "--epochs", "1", "--n-train", "4", "--n-val", "2", "--batch-size", "2",
...       "--quiet", "--output-dir", out])
0
>>> import json, pathlib
>>> sorted(json.loads((pathlib.Path(out) / "metrics.json").read_text()))[:3]
['amp_mae', 'amp_ssim', 'architecture']

``python -m impl.runner --architecture stable_hybrid --grad-clip 0 --output-dir runs/x``
resolves a :class:`spec.StudyConfig` (the quick defaults :data:`QUICK_DEFAULTS`,
or ``--config FILE``, then the flags on top), validates it through the spec
models before anything is built (RUN-004: a bad value exits 2 naming the flag,
the field, the value and what is allowed), trains with
:func:`impl.training.training_step` and writes under ``--output-dir``
(RUN-005): ``config.json`` (reloads with :func:`spec.load_config`),
``metrics.json``, ``history.json`` and ``model.pt`` (a state_dict).

Failures (RUN-006) are recorded, not raised: a non-finite loss or gradient
norm, or a gradient norm before clipping above ``--explode-grad-norm``
(default 1e6), stops training and sets ``failed`` and ``failure_reason``.
Ctrl-C stops cleanly after writing what was measured (``interrupted``).
Identity pinning (RUN-008): after every epoch the runner records the
*residual gain* of the StablePtychoBlocks, the mean over blocks of
``mean_c |gamma_c * gate_c|`` (gate = 1 under zero-gamma), the factor that
scales the normalised residual update; when it stays below
``--pin-threshold`` (default 0.1) for ``--pin-epochs`` (default 5) epochs in
a row the runner warns (:class:`IdentityPinnedWarning`) and sets
``identity_pinned``. Exit status: 0 trained, 1 training failure recorded,
2 bad arguments, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import typing
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
from pydantic import ValidationError
from torch import nn

import spec
from impl.blocks import StablePtychoBlock
from impl.losses import DiffractionLoss, as_complex_patches
from impl.metrics import reconstruction_metrics
from impl.registry import build_generator
from impl.synthetic import GridLinesData, make_grid_lines
from impl.training import training_step

__all__ = [
    "QUICK_DEFAULTS",
    "IdentityPinnedWarning",
    "RunOptions",
    "RunOutcome",
    "build_parser",
    "main",
    "parse_args",
    "residual_gain",
    "run_from_argv",
    "run_study",
]

QUICK_DEFAULTS = spec.StudyConfig(
    model=spec.ModelConfig(N=32, gridsize=2, fno_width=8, fno_blocks=3, fno_modes=8),
    training=spec.TorchTrainingConfig(
        epochs=20, batch_size=16, learning_rate=1e-3, gradient_clip_val=1.0
    ),
    data=spec.DataConfig(n_train=256, n_val=64, set_phi=False),
)
"""The runner's starting config without ``--config``: sized for a CPU laptop (see README)."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class IdentityPinnedWarning(RuntimeWarning):
    """A stable block's residual branch stayed near the identity for many epochs (RUN-008)."""


@dataclass(frozen=True)
class RunOptions:
    """Runner settings that are not part of the study config."""

    device: str = "cpu"
    progress: bool = True
    explode_grad_norm: float = 1e6
    """A gradient norm before clipping above this counts as a failure (exploding)."""
    pin_threshold: float = 0.1
    """Residual gain below which a stable block counts as pinned to the identity."""
    pin_epochs: int = 5
    """Consecutive pinned epochs that trigger the identity-pinned warning."""


@dataclass
class RunOutcome:
    """What one run measured (also written to ``output_dir``)."""

    config: spec.StudyConfig
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    output_dir: Path | None = None


# --- command line ---------------------------------------------------------------------------

_FLAGS: dict[str, tuple[str, str]] = {
    "architecture": ("model", "architecture"),
    "N": ("model", "N"),
    "gridsize": ("model", "gridsize"),
    "fno_width": ("model", "fno_width"),
    "fno_blocks": ("model", "fno_blocks"),
    "fno_modes": ("model", "fno_modes"),
    "max_hidden_channels": ("model", "max_hidden_channels"),
    "stable_init": ("model", "stable_init"),
    "layerscale_init": ("model", "layerscale_init"),
    "epochs": ("training", "epochs"),
    "batch_size": ("training", "batch_size"),
    "lr": ("training", "learning_rate"),
    "optimizer": ("training", "optimizer"),
    "seed": ("training", "seed"),
    "nphotons": ("training", "nphotons"),
    "grad_clip": ("training", "gradient_clip_val"),
    "gradient_clip_algorithm": ("training", "gradient_clip_algorithm"),
    "loss": ("training", "loss_function"),
    "accumulate_grad_batches": ("training", "accumulate_grad_batches"),
    "n_train": ("data", "n_train"),
    "n_val": ("data", "n_val"),
    "set_phi": ("data", "set_phi"),
}
"""argparse dest -> (config section, field): every config flag and the field it sets.

Config flags default to argparse.SUPPRESS: a flag that is not given is absent from
the parsed namespace and leaves the field as the base config has it."""


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _optional_int(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    return int(text)


_optional_int.__name__ = "int or 'none'"  # argparse names the type in its error


def build_parser(prog: str = "python -m impl.runner") -> argparse.ArgumentParser:
    """The runner's argument parser (every config flag defaults to "not given")."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train one generator on the synthetic grid-lines diffraction task.",
        argument_default=argparse.SUPPRESS,  # a config flag not given leaves the config alone
    )
    choices = typing.get_args
    add = p.add_argument
    add(
        "--config",
        type=Path,
        default=None,
        help="start from a saved StudyConfig (JSON/TOML); flags override",
    )
    add("--output-dir", type=Path, default=Path("runs/run"), help="where outputs go")
    add("--architecture", help="generator registry name (hybrid, stable_hybrid, plugins)")
    add("--N", type=int, help="patch size in pixels")
    add("--gridsize", type=int, help="patches per side; the generator sees gridsize² channels")
    add("--fno-width", type=int, help="hidden width of the first encoder level")
    add("--fno-blocks", type=int, help="number of spectral blocks in the encoder")
    add("--fno-modes", type=int, help="Fourier modes kept per axis")
    add("--max-hidden-channels", type=_optional_int, help="cap on channel doubling, or 'none'")
    add("--stable-init", choices=choices(spec.StableInit), help="StablePtychoBlock init")
    add("--layerscale-init", type=float, help="LayerScale gate start value")
    add("--epochs", type=int, help="training epochs")
    add("--batch-size", type=int, help="samples per micro-batch")
    add("--lr", type=float, help="learning rate")
    add("--optimizer", choices=choices(spec.OptimizerName), help="optimizer")
    add("--seed", type=int, help="seed of data, initialisation and shuffling")
    add("--nphotons", type=float, help="photons per diffraction pattern (Poisson noise level)")
    add("--grad-clip", type=float, help="clip value; <= 0 disables clipping (agc: factor λ)")
    add(
        "--gradient-clip-algorithm",
        choices=choices(spec.ClipAlgorithm),
        help="clipping algorithm (default norm)",
    )
    add("--loss", choices=choices(spec.LossFunction), help="training loss")
    add("--accumulate-grad-batches", type=int, help="micro-batches per optimiser step")
    add("--n-train", type=int, help="training samples")
    add("--n-val", type=int, help="validation samples")
    add(
        "--set-phi",
        action=argparse.BooleanOptionalAction,
        help="give the objects a phase pattern",
    )
    add("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    add("--quiet", action="store_true", default=False, help="no progress bar")
    add("--explode-grad-norm", type=float, default=RunOptions.explode_grad_norm)
    add("--pin-threshold", type=float, default=RunOptions.pin_threshold)
    add("--pin-epochs", type=int, default=RunOptions.pin_epochs)
    return p


def _check_device(text: str) -> str | None:
    """None when ``text`` names a usable device, else the problem."""
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError, ValueError) as exc:
        return f"not a torch device ({exc})"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available on this machine: use cpu"
    if device.type not in ("cpu", "cuda", "mps"):
        return "allowed are cpu, cuda[:i], mps"
    if device.type == "mps" and not torch.backends.mps.is_available():
        return "MPS is not available on this machine: use cpu"
    return None


def _resolve(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[spec.StudyConfig, RunOptions]:
    if args.config is not None:
        try:
            base = spec.load_config(args.config)
        except spec.ConfigFileError as exc:
            parser.error(f"--config: {exc}")
    else:
        base = QUICK_DEFAULTS
    data: dict[str, dict[str, Any]] = base.model_dump()
    given: dict[tuple[str, str], str] = {}
    for dest, (section, name) in _FLAGS.items():
        if not hasattr(args, dest):  # not on the command line (argparse.SUPPRESS)
            continue
        value = getattr(args, dest)
        if dest == "grad_clip" and value <= 0:
            value = 0.0  # RUN-003: a clip value <= 0 disables clipping
        data[section][name] = value
        given[(section, name)] = _flag(dest)
    try:
        config = spec.StudyConfig.model_validate(data)
    except ValidationError as exc:  # RUN-004: the spec's message, naming flag and field
        lines = []
        for item in exc.errors():
            loc = tuple(str(p) for p in item["loc"])
            where = ".".join(loc)
            flag = given.get((loc[0], loc[1])) if len(loc) >= 2 else None
            source = f"{flag}={item.get('input')!r} " if flag else ""
            origin = "" if flag else f" (from {args.config or 'the defaults'})"
            lines.append(f"{source}(field {where}){origin}: {item['msg']}")
        parser.error("invalid value(s):\n  " + "\n  ".join(lines))
    problem = _check_device(args.device)
    if problem:
        parser.error(f"--device={args.device!r}: {problem}")
    per_step = config.training.batch_size * config.training.accumulate_grad_batches
    if config.data.n_train < per_step:
        parser.error(
            f"--n-train={config.data.n_train} is below one optimiser step's samples: "
            f"batch_size * accumulate_grad_batches = {per_step}; raise --n-train or lower "
            "--batch-size"
        )
    numbers = {"--explode-grad-norm": args.explode_grad_norm, "--pin-threshold": args.pin_threshold}
    for flag, value in numbers.items():
        if not (math.isfinite(value) and value > 0):
            parser.error(f"{flag}={value!r}: must be a finite number > 0")
    if args.pin_epochs < 1:
        parser.error(f"--pin-epochs={args.pin_epochs!r}: must be an int >= 1")
    options = RunOptions(
        device=args.device,
        progress=not args.quiet,
        explode_grad_norm=args.explode_grad_norm,
        pin_threshold=args.pin_threshold,
        pin_epochs=args.pin_epochs,
    )
    return config, options


def parse_args(
    argv: Sequence[str] | None = None, prog: str = "python -m impl.runner"
) -> tuple[spec.StudyConfig, RunOptions, Path]:
    """Resolve the command line into (config, options, output_dir); SystemExit(2) on bad input."""
    parser = build_parser(prog)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    config, options = _resolve(args, parser)
    return config, options, args.output_dir


# --- training -------------------------------------------------------------------------------


def residual_gain(model: nn.Module) -> float | None:
    """Mean over StablePtychoBlocks of ``mean_c |gamma_c * gate_c|``; None without any (RUN-008).

    >>> import impl
    >>> residual_gain(impl.StablePtychoBlock(4, 2))  # zero-gamma: exactly the identity
    0.0
    >>> residual_gain(impl.PtychoBlock(4, 2)) is None
    True
    """
    gains = []
    for module in model.modules():
        if isinstance(module, StablePtychoBlock):
            gain = module.norm.weight.detach().abs()
            if module.gate is not None:
                gain = gain * module.gate.detach().abs()
            gains.append(gain.float().mean())
    return float(torch.stack(gains).mean()) if gains else None


def _optimizer(model: nn.Module, config: spec.TorchTrainingConfig) -> torch.optim.Optimizer:
    lr = config.learning_rate
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


class _Progress:
    """A one-line progress bar on a stream (redrawn in place on a terminal)."""

    def __init__(self, stream: TextIO, enabled: bool, epoch: int, epochs: int, steps: int) -> None:
        self.stream, self.enabled = stream, enabled
        self.tty = enabled and getattr(stream, "isatty", lambda: False)()
        self.prefix = f"epoch {epoch}/{epochs}"
        self.steps = steps

    def _bar(self, done: int) -> str:
        filled = round(20 * done / max(self.steps, 1))
        return f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{self.steps}"

    def update(self, done: int, loss: float, grad_norm: float) -> None:
        if self.tty:
            text = f"\r{self.prefix} {self._bar(done)} loss {loss:.4g} |g| {grad_norm:.3g}"
            self.stream.write(text)
            self.stream.flush()

    def close(self, done: int, summary: str) -> None:
        if self.enabled:
            self.stream.write(
                f"{chr(13) if self.tty else ''}{self.prefix} {self._bar(done)} {summary}\n"
            )
            self.stream.flush()


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _clean(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None."""
    if isinstance(obj, float):
        return _finite_or_none(obj)
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def _evaluate(
    model: nn.Module, data: GridLinesData, loss_fn: DiffractionLoss, batch: int, device: str
) -> tuple[float, dict[str, float]]:
    """Validation loss and reconstruction metrics of ``model`` on ``data``."""
    model.eval()
    losses, preds = [], []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            inputs = data.inputs[start : start + batch].to(device)
            pred = model(inputs / loss_fn.input_norm)
            losses.append(loss_fn.value(pred, inputs) * inputs.shape[0])
            preds.append(pred.float().cpu())
    model.train()
    loss = float(torch.stack(losses).sum()) / len(data)
    # metrics on the illuminated centre of each patch (the probe's std is N/8): N/2 x N/2
    q = data.objects.shape[1] // 4
    prediction = as_complex_patches(torch.cat(preds))[..., q : q + 2 * q, q : q + 2 * q]
    truth = as_complex_patches(data.objects)[..., q : q + 2 * q, q : q + 2 * q]
    return loss, reconstruction_metrics(prediction, truth)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def run_study(
    config: spec.StudyConfig,
    output_dir: str | Path,
    options: RunOptions = RunOptions(),
    *,
    stream: TextIO | None = None,
) -> RunOutcome:
    """Train as ``config`` says and write the outputs to ``output_dir`` (RUN-005..008).

    Never raises for a training failure or Ctrl-C: both are recorded in the
    returned metrics (``failed`` / ``interrupted``) and in the written files.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stream = sys.stderr if stream is None else stream
    started = time.perf_counter()
    model_cfg, train_cfg, data_cfg = config.model, config.training, config.data
    device = options.device

    data = make_grid_lines(
        data_cfg.n_train + data_cfg.n_val,
        N=model_cfg.N,
        gridsize=model_cfg.gridsize,
        nphotons=train_cfg.nphotons,
        set_phi=data_cfg.set_phi,
        seed=train_cfg.seed,
    )
    train, val = data.subset(0, data_cfg.n_train), data.subset(data_cfg.n_train, len(data))
    input_norm = float(train.inputs.square().mean().sqrt())
    loss_fn = DiffractionLoss(data.probe, train_cfg.loss_function, input_norm=input_norm)

    torch.manual_seed(train_cfg.seed)  # RUN-007: initialisation from the seed
    model = build_generator(model_cfg).to(device)
    optimizer = _optimizer(model, train_cfg)
    shuffle = torch.Generator().manual_seed(train_cfg.seed + 1)
    batch, k = train_cfg.batch_size, train_cfg.accumulate_grad_batches
    steps_per_epoch = data_cfg.n_train // (batch * k)

    history: list[dict[str, Any]] = []
    warnings_seen: list[str] = []
    failure: str | None = None
    interrupted = False
    pinned_streak, pinned = 0, False
    gain_init = residual_gain(model)
    best_val, best_train, best_epoch = math.inf, math.inf, None

    try:
        for epoch in range(1, train_cfg.epochs + 1):
            epoch_start = time.perf_counter()
            progress = _Progress(stream, options.progress, epoch, train_cfg.epochs, steps_per_epoch)
            order = torch.randperm(data_cfg.n_train, generator=shuffle)
            stats: list[list[float]] = []
            nonfinite = 0
            for step in range(steps_per_epoch):
                micro = []
                for j in range(k):
                    idx = order[(step * k + j) * batch : (step * k + j + 1) * batch]
                    micro.append(train.inputs[idx].to(device))
                result = training_step(model, optimizer, micro, loss_fn, train_cfg)
                values = torch.stack(
                    [
                        result.loss.float(),
                        result.grad_norm_before.float(),
                        result.grad_norm_after.float(),
                        result.units_clipped.float(),
                    ]
                ).tolist()  # one host sync per step
                stats.append(values)
                loss, before = values[0], values[1]
                progress.update(step + 1, loss, before)
                if not (math.isfinite(loss) and math.isfinite(before)):  # RUN-006
                    nonfinite += 1
                    what = "loss" if not math.isfinite(loss) else "gradient norm"
                    failure = f"non-finite {what} at epoch {epoch}, step {step + 1}"
                    break
                if before > options.explode_grad_norm:
                    failure = (
                        f"exploding gradients at epoch {epoch}, step {step + 1}: global norm "
                        f"before clipping {before:.3g} > {options.explode_grad_norm:.3g}"
                    )
                    break
            columns: list[list[float]] = [[row[c] for row in stats] for c in range(4)]

            def mean(xs: Sequence[float]) -> float:
                return sum(xs) / len(xs) if xs else math.nan

            val_loss = math.nan
            if failure is None:
                val_loss, _ = _evaluate(model, val, loss_fn, batch, device)
            gain = residual_gain(model)
            train_loss = mean(columns[0])
            record: dict[str, Any] = {
                "epoch": epoch,
                "steps": len(stats),
                "train_loss": train_loss,
                "val_loss": val_loss,
                "grad_norm_before": mean(columns[1]),
                "grad_norm_before_max": max(columns[1], default=math.nan),
                "grad_norm_after": mean(columns[2]),
                "units_clipped": sum(columns[3]),
                "nonfinite_events": nonfinite,
                "stable_gain": gain,
                "seconds": time.perf_counter() - epoch_start,
            }
            history.append(record)
            if failure is None and val_loss < best_val:
                best_val, best_epoch = val_loss, epoch
            if math.isfinite(train_loss):
                best_train = min(best_train, train_loss)
            progress.close(
                len(stats),
                f"loss {train_loss:.4g} val {val_loss:.4g} "
                f"|g| {record['grad_norm_before']:.3g}"
                + (f" gain {gain:.3g}" if gain is not None else ""),
            )
            # RUN-008: residual branch pinned near the identity for pin_epochs epochs in a row
            pinned_streak = (
                pinned_streak + 1 if gain is not None and gain < options.pin_threshold else 0
            )
            if pinned_streak >= options.pin_epochs and not pinned:
                pinned = True
                message = (
                    f"stable blocks' residual gain stayed below {options.pin_threshold} for "
                    f"{pinned_streak} epochs (now {gain:.3g}): the residual branches are "
                    "pinned near the identity and the blocks may not be learning"
                )
                warnings_seen.append(message)
                warnings.warn(message, IdentityPinnedWarning, stacklevel=2)
            if failure is not None:
                break
    except KeyboardInterrupt:  # clean stop: keep what was measured
        interrupted = True
        stream.write("\ninterrupted: writing what was measured\n")

    final_val, recon = (
        math.nan,
        {"amp_ssim": math.nan, "phase_ssim": math.nan, "amp_mae": math.nan},
    )
    if failure is None:
        final_val, recon = _evaluate(model, val, loss_fn, batch, device)
        if not data_cfg.set_phi:
            # The true phase is constant without --set-phi: a phase SSIM would score only the
            # noise of the predicted phase, so it is not reported (null in metrics.json).
            recon["phase_ssim"] = math.nan
    final_train = history[-1]["train_loss"] if history else math.nan
    metrics: dict[str, Any] = {
        "architecture": model_cfg.architecture,
        "gradient_clip_algorithm": train_cfg.gradient_clip_algorithm,
        "gradient_clip_val": train_cfg.gradient_clip_val,
        "clipping_enabled": train_cfg.clipping_enabled,
        "seed": train_cfg.seed,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "epochs_completed": len(history),
        "final_train_loss": final_train,
        "final_val_loss": final_val,
        "best_train_loss": best_train,
        "best_val_loss": best_val,
        "best_epoch": best_epoch,
        **recon,
        "metrics_region": "central N/2 x N/2 of every validation patch (the illuminated part)",
        "failed": failure is not None,
        "failure_reason": failure,
        "interrupted": interrupted,
        "identity_pinned": pinned,
        "stable_gain_init": gain_init,
        "stable_gain_final": residual_gain(model),
        "warnings": warnings_seen,
        "thresholds": {
            "explode_grad_norm": options.explode_grad_norm,
            "pin_threshold": options.pin_threshold,
            "pin_epochs": options.pin_epochs,
        },
        "seconds": time.perf_counter() - started,
    }
    spec.save_config(config, out / "config.json")
    _write_json(out / "history.json", {"epochs": history})
    torch.save(model.state_dict(), out / "model.pt")
    metrics["seconds"] = time.perf_counter() - started
    _write_json(out / "metrics.json", metrics)
    return RunOutcome(
        config=config, metrics=_clean(metrics), history=_clean(history), output_dir=out
    )


def run_from_argv(argv: Sequence[str] | None = None, *, stream: TextIO | None = None) -> RunOutcome:
    """Parse a runner command line and run it (what the compare wrapper calls per arm)."""
    config, options, output_dir = parse_args(argv)
    return run_study(config, output_dir, options, stream=stream)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impl.runner``: exit 0 trained, 1 failure recorded, 2 bad input, 130 Ctrl-C."""
    outcome = run_from_argv(argv)
    m = outcome.metrics
    if m["interrupted"]:
        return EXIT_INTERRUPTED
    if m["failed"]:
        print(
            f"training failed (recorded in {outcome.output_dir}): {m['failure_reason']}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
