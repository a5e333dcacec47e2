"""The study under torchrun: ``--distributed ddp|fsdp``, the data split by rank, rank 0 writing.

>>> from impl.study.ranks import distributed_problem
>>> print(distributed_problem("ddp", batch_size=16, environ={}))  # doctest: +ELLIPSIS
--distributed ddp needs torchrun: ... are not set; run it as torchrun --nproc-per-node N ...

``torchrun --nproc-per-node N -m impl.runner --distributed ddp ...`` starts N processes;
each joins the process group (gloo on the CPU, nccl on CUDA, one GPU per process), draws
the same data (seeded) and initialises the same model, then wraps it in
``DistributedDataParallel`` (``ddp``) or shards it with FSDP2 (``fsdp``:
:func:`impl.distributed.fully_shard_model`). Every optimiser step takes the global
micro-batches the one-process run takes (:class:`impl.study.loop.BatchPlan`), each rank
its contiguous 1/N of each (``batch_size`` must divide by N), so the gradients are
those of the global batch and the run measures what one process measures, within
float rounding. One extra ``all_reduce`` per step averages the loss over the ranks and
carries any stop request: Ctrl-C and SIGTERM are recorded on each rank and acted on
by all of them after the same step (a rank stopping alone would leave the others
waiting in a collective).

Rank 0 alone runs the well-posedness check, evaluates (on a plain copy of the model:
under DDP the wrapped module, under FSDP2 the parameters gathered after each epoch,
which is the only time parameters are gathered), prints and writes the outputs; the
other ranks write nothing. The exit status is the same on every rank, but 3 (rank 0
could not write).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from impl.distributed import (
    DistributedUnavailable,
    LaunchEnvironment,
    complex_broadcast_problem,
    fsdp2_problem,
    fully_shard_model,
    init_from_torchrun,
    launch_environment,
)
from impl.study.interrupts import Interrupted

__all__ = ["MODES", "Ranks", "distributed_problem", "start"]

MODES = ("ddp", "fsdp")
"""What ``--distributed`` accepts."""

_VARIABLES = "RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT"


def distributed_problem(
    mode: str, batch_size: int, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why ``--distributed mode`` cannot run here (None: it can); checked before anything."""
    env = os.environ if environ is None else environ
    if not all(name in env for name in _VARIABLES.replace(" and", ",").split(", ")):
        return (
            f"--distributed {mode} needs torchrun: {_VARIABLES} are not set; run it as "
            f"torchrun --nproc-per-node N -m impl.runner --distributed {mode} ..."
        )
    if not torch.distributed.is_available():
        return f"--distributed {mode}: torch {torch.__version__} has no torch.distributed"
    if mode == "fsdp" and (problem := fsdp2_problem()) is not None:
        return f"--distributed fsdp: {problem}"
    world = int(env["WORLD_SIZE"])
    if batch_size % world:
        return (
            f"--batch-size {batch_size} does not divide among {world} ranks: each rank takes an "
            "equal share of every batch (so that the run is the one-process run); choose a "
            f"multiple of {world}"
        )
    return None


@dataclass
class Ranks:
    """This process's place in a distributed run, and what the run does across ranks."""

    mode: str
    env: LaunchEnvironment
    signals: list[Interrupted] = field(default_factory=list)
    """Stop requests received here, acted on at the next step by every rank."""
    _plain: nn.Module | None = None

    @property
    def main(self) -> bool:
        """Rank 0: the one that checks, evaluates, prints and writes."""
        return self.env.rank == 0

    @property
    def world(self) -> int:
        return self.env.world_size

    def problem(self, model: nn.Module) -> str | None:
        """Why this torch cannot train ``model`` in this mode (every rank must call it)."""
        if self.mode != "ddp" or not any(p.is_complex() for p in model.parameters()):
            return None
        problem = complex_broadcast_problem()
        return f"--distributed ddp: {problem}" if problem else None

    def wrap(self, model: nn.Module) -> nn.Module:
        """``DistributedDataParallel(model)`` or the FSDP2-sharded model (before the optimizer)."""
        if self.mode == "fsdp":
            # FSDP2 warns that the generator's output is a view (an in-place op on it would
            # skip a hook); the loss makes none: the warning would repeat every step
            warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module .* view tensor")
            return fully_shard_model(model)
        from torch.nn.parallel import DistributedDataParallel

        device = next(model.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def share(self, batch: Tensor) -> Tensor:
        """This rank's contiguous 1/N of a global micro-batch."""
        return batch.tensor_split(self.world)[self.env.rank]

    def agree(self, loss: Tensor) -> tuple[Tensor, Interrupted | None]:
        """The loss averaged over the ranks, and the stop request any rank received (SIGINT
        before SIGTERM): one ``all_reduce``."""
        flags = [float(any(s.signal_name == name for s in self.signals)) for name in _STOPS]
        vector = torch.tensor([0.0, *flags], dtype=torch.float64, device=loss.device)
        vector[0] = loss.detach().to(torch.float64)
        torch.distributed.all_reduce(vector)
        mean = (vector[0] / self.world).to(loss.dtype)
        for name, count in zip(_STOPS, vector[1:].tolist(), strict=True):
            if count > 0:
                return mean, Interrupted(signal.Signals[name])
        return mean, None

    def plain(self, model: nn.Module, make: Callable[[], nn.Module]) -> nn.Module | None:
        """Rank 0's plain (unwrapped, unsharded) model with the trained weights; None elsewhere.

        DDP: the wrapped module itself (the same weights on every rank). FSDP2: the
        parameters gathered (a collective: every rank must call this together) and
        loaded into a plain model of the same architecture (``make()``, built once).
        """
        if self.mode == "ddp":
            return model.module if self.main else None  # type: ignore[return-value]
        state = {name: _whole(value) for name, value in model.state_dict().items()}
        if not self.main:
            return None
        if self._plain is None:
            self._plain = make()
        self._plain.load_state_dict(state)
        return self._plain


def _whole(value: Tensor) -> Tensor:
    """A DTensor gathered whole (complex through its real view: gloo has no complex sums)."""
    if not hasattr(value, "full_tensor"):
        return value
    if value.is_complex():
        return torch.view_as_complex(torch.view_as_real(value).full_tensor())  # type: ignore[attr-defined]
    return value.full_tensor()


_STOPS = ("SIGINT", "SIGTERM")


def start(mode: str, device: str) -> tuple[Ranks, str]:
    """Join torchrun's process group; the Ranks and this rank's device (``cuda:<local rank>``)."""
    env = launch_environment()
    if env is None:  # distributed_problem said otherwise
        raise DistributedUnavailable(f"--distributed {mode} needs torchrun")
    init_from_torchrun(device)
    if torch.device(device).type == "cuda":
        device = f"cuda:{env.local_rank}"
    return Ranks(mode, env), device


def agree_on_problems(problems: list[str], ranks: Ranks | None) -> bool:
    """Whether any rank found a problem (every rank gets the same answer)."""
    if ranks is None:
        return bool(problems)
    flag = torch.tensor([float(len(problems))])
    if torch.distributed.get_backend() == "nccl":
        flag = flag.cuda()
    torch.distributed.all_reduce(flag)
    return bool(flag.item() > 0)


def finish(ranks: Ranks | None, status: int) -> None:
    """End this rank with ``status`` once every rank is done (torchrun expects them alike).

    After a barrier the process ends at once (``os._exit``, standard streams flushed; every
    output is already written, atomically): no ``destroy_process_group`` and no interpreter
    teardown, where torch 2.14.1 once aborted a rank of an FSDP2 run after its work was done
    ("terminate called without an active exception", SIGABRT, in 1 of about 8 runs on CI).
    """
    if ranks is None or not torch.distributed.is_initialized():
        return
    torch.distributed.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def describe(ranks: Ranks | None) -> dict[str, Any] | None:
    """What ``metrics.json`` records of the distributed mode."""
    if ranks is None:
        return None
    return {
        "mode": ranks.mode,
        "world_size": ranks.world,
        "backend": torch.distributed.get_backend(),
    }
