"""Set-up of a run: the checks made before anything is generated, then data, loss and model.

>>> from impl.study.presets import DEFAULT
>>> from impl.study.setup import generator_problem
>>> generator_problem(DEFAULT.model) is None
True
>>> print(generator_problem(DEFAULT.model.model_copy(update={"N": 30})))  # doctest: +ELLIPSIS
model.N=30 does not fit the generator: input size (H, W) = (30, 30) is not divisible ...

:func:`preflight` finds every reason a run cannot start — an unusable probe file, a
patch size the generator cannot take (found by building it on PyTorch's ``meta``
device and running one forward there: no memory, no data), an output directory
that holds a run or cannot be written — before any data exist (RUN-004: exit 2).
:func:`prepare` then draws the data, runs the well-posedness check and builds the
model and optimiser; under torchrun (:mod:`impl.study.ranks`) every rank calls it,
and the model is wrapped (DDP) or sharded (FSDP2) before the optimiser is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

import spec
from impl.agc import agc_unit_dims
from impl.registry import build_generator
from impl.study.data import StudyData, make_study_data
from impl.study.losses import DiffractionLoss
from impl.study.options import RunOptions
from impl.study.probe import ProbeError, probe_for
from impl.study.ranks import Ranks
from impl.study.rundir import RunDirectory
from impl.study.wellposed import check_wellposedness

__all__ = ["RunSetup", "clip_units", "generator_problem", "preflight", "prepare"]


def generator_problem(model: spec.ModelConfig) -> str | None:
    """Why the generator cannot take (1, C, N, N) inputs, or None (checked without memory)."""
    x_shape = (1, model.C, model.N, model.N)
    try:
        with torch.device("meta"):
            build_generator(model)(torch.empty(x_shape))
        return None
    except ValueError as exc:
        return f"model.N={model.N} does not fit the generator: {exc}"
    except Exception:
        pass
    try:  # the same check on the CPU, one sample
        with torch.no_grad():
            build_generator(model)(torch.zeros(x_shape))
    except ValueError as exc:
        return f"model.N={model.N} does not fit the generator: {exc}"
    return None


def preflight(
    config: spec.StudyConfig, run: RunDirectory | None, options: RunOptions
) -> tuple[Tensor | None, list[str]]:
    """The probe, and every problem that stops the run before it starts (empty: go)."""
    problems, probe = [], None
    try:
        probe = probe_for(config.data, config.model.N)
    except ProbeError as exc:
        problems.append(f"--probe-file: {exc}")
    problem = generator_problem(config.model)
    if problem:
        problems.append(problem)
    if run is not None:
        problem = run.problem(options.overwrite)
        if problem:
            problems.append(f"--output-dir: {problem}")
    return probe, problems


def clip_units(model: nn.Module, algorithm: str) -> int:
    """What ``units_clipped`` counts out of: 1 ('norm'), entries ('value'), units ('agc')."""
    params = [p for p in model.parameters() if p.requires_grad]
    if algorithm == "norm":
        return 1
    if algorithm == "value":
        return sum(p.numel() for p in params)
    dims = agc_unit_dims(model)
    total = 0
    for p in params:
        axis = dims.get(p, 0)
        if axis is None:
            continue
        total += 1 if p.ndim <= 1 else int(p.shape[axis])
    return total


@dataclass
class RunSetup:
    """Everything a training loop needs."""

    config: spec.StudyConfig
    data: StudyData
    loss: DiffractionLoss
    model: nn.Module
    optimizer: torch.optim.Optimizer
    device: str
    wellposedness: dict[str, Any]
    units_total: int
    ranks: Ranks | None = None
    """Under torchrun (:mod:`impl.study.ranks`); None: one process."""
    view: nn.Module | None = None
    """Under torchrun: rank 0's plain copy of the trained model, as of :meth:`refresh`."""

    def refresh(self) -> None:
        """Under torchrun, bring :attr:`view` up to date (under FSDP2 every rank must call it)."""
        if self.ranks is not None:
            model = self.config.model
            self.view = self.ranks.plain(self.model, lambda: build_generator(model).to(self.device))

    def reporting(self) -> nn.Module | None:
        """The model to evaluate, report and save: the trained one; under torchrun rank 0's
        plain copy (:meth:`refresh` first), and None on the other ranks."""
        return self.model if self.ranks is None else self.view


def _optimizer(model: nn.Module, config: spec.TorchTrainingConfig) -> torch.optim.Optimizer:
    lr = config.learning_rate
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def make_loss(config: spec.StudyConfig, data: StudyData) -> DiffractionLoss:
    """The training loss of ``config`` on ``data`` (inputs normalised by their RMS)."""
    norm = float(data.train.inputs.square().mean().sqrt())
    return DiffractionLoss(data.probe, data.grid, config.training.loss_function, input_norm=norm)


def prepare(
    config: spec.StudyConfig,
    options: RunOptions,
    *,
    probe: Tensor | None = None,
    data: StudyData | None = None,
    wellposedness: dict[str, Any] | None = None,
    ranks: Ranks | None = None,
) -> RunSetup:
    """Data (unless given), the well-posedness check (unless given), model and optimiser;
    under torchrun (``ranks``) the model wrapped, the check on rank 0 only."""
    data = make_study_data(config, probe) if data is None else data
    loss = make_loss(config, data)
    if wellposedness is None and ranks is not None and not ranks.main:
        wellposedness = {}  # rank 0 checks and reports it
    if wellposedness is None:
        wellposedness = check_wellposedness(data, loss)
    torch.manual_seed(config.training.seed)  # RUN-007: initialisation from the seed
    model = build_generator(config.model).to(options.device)
    if ranks is not None:  # the same initial weights on every rank, then DDP / FSDP2
        model = ranks.wrap(model)
    return RunSetup(
        config=config,
        data=data,
        loss=loss,
        model=model,
        optimizer=_optimizer(model, config.training),
        device=options.device,
        wellposedness=wellposedness,
        units_total=clip_units(model, config.training.gradient_clip_algorithm),
        ranks=ranks,
    )
