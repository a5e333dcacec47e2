"""Distributed training with torch's own engine: FSDP2 where this torch has it, DDP, torchrun.

>>> from impl.distributed import fsdp2_problem
>>> fsdp2_problem() is None or "fully_shard" in fsdp2_problem()
True

The clipping functions themselves need nothing from here: :func:`impl.adaptive_gradient_clip_`
and :func:`impl.clip_gradients_` take DTensor parameters as they come (FSDP2, or any
``distribute_tensor`` layout; clauses AGC-035, AGC-036) and plain ones as before (a DDP
model's parameters are plain and identical on every rank). This module holds what a
training script needs around them:

- :func:`fsdp2_problem` / :func:`fully_shard_model`: FSDP2 is torch's public
  ``torch.distributed.fsdp.fully_shard`` (torch 2.6 and later). torch 2.4 and 2.5 have
  it only as the private ``torch.distributed._composable.fsdp.fully_shard``; there this
  module says so (:class:`DistributedUnavailable`) instead of reaching into it.
- :func:`gradient_sync_off`: the context :func:`impl.training_step` puts the first k-1
  micro-batches of a step in (``DDP.no_sync()``; FSDP2's
  ``set_requires_gradient_sync(False)``), so that a step makes one gradient reduction.
- :func:`launch_environment` / :func:`init_from_torchrun`: the process group of a script
  started by ``torchrun`` (gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from impl import _compat

__all__ = [
    "DistributedUnavailable",
    "LaunchEnvironment",
    "complex_broadcast_problem",
    "fsdp2",
    "fsdp2_problem",
    "fully_shard_model",
    "gradient_sync_off",
    "init_from_torchrun",
    "launch_environment",
    "syncs_gradients",
]


class DistributedUnavailable(RuntimeError):
    """This torch (or this machine) lacks what a distributed feature needs; says what and why."""


def fsdp2() -> Callable[..., Any] | None:
    """torch's public ``fully_shard`` (FSDP2), or None where this torch has no public one."""
    return _compat.fully_shard()


def fsdp2_problem() -> str | None:
    """Why FSDP2 cannot be used with this torch (None: it can)."""
    if not torch.distributed.is_available():
        return f"torch {torch.__version__} was built without torch.distributed"
    if fsdp2() is not None:
        return None
    return (
        f"torch {torch.__version__} has no public FSDP2 API (torch.distributed.fsdp.fully_shard, "
        "public since torch 2.6); this version has it only as the private "
        "torch.distributed._composable.fsdp.fully_shard, which this project does not use: "
        "upgrade torch, or use DDP"
    )


def _owns_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def fully_shard_model(
    model: nn.Module, *, mesh: Any = None, shard_dim: int | Callable[[nn.Parameter], int] = 0
) -> nn.Module:
    """``fully_shard`` every submodule that owns parameters, then the root (FSDP2).

    Each parameter becomes a DTensor sharded on ``shard_dim`` (an int, or a function of
    the parameter; FSDP2's default is 0) over ``mesh`` (default: every rank). The
    optimizer must be built afterwards, on the sharded parameters. Raises
    :class:`DistributedUnavailable` where this torch has no public FSDP2 (or no
    ``shard_placement_fn``, needed for ``shard_dim`` other than 0).
    """
    problem = fsdp2_problem()
    if problem is not None:
        raise DistributedUnavailable(problem)
    fully_shard = fsdp2()
    assert fully_shard is not None
    kwargs: dict[str, Any] = {} if mesh is None else {"mesh": mesh}
    if shard_dim != 0:
        if not _compat.takes_shard_placement_fn(fully_shard):
            raise DistributedUnavailable(
                f"torch {torch.__version__}'s fully_shard has no shard_placement_fn: "
                "parameters can only be sharded on dim 0"
            )
        shard, _ = _compat.placement_types()
        rule = shard_dim if callable(shard_dim) else (lambda p, d=shard_dim: d)
        kwargs["shard_placement_fn"] = lambda p: shard(rule(p) if p.ndim > 1 else 0)
    for module in list(model.modules()):
        if module is not model and _owns_parameters(module):
            fully_shard(module, **kwargs)
    fully_shard(model, **kwargs)
    return model


@contextlib.contextmanager
def gradient_sync_off(model: nn.Module) -> Iterator[None]:
    """Backward passes in this block reduce no gradients across ranks (accumulation).

    ``DistributedDataParallel`` (and FSDP1): ``model.no_sync()``; an FSDP2 module:
    ``set_requires_gradient_sync(False)``, set back to True on the way out. Any other
    model: nothing to turn off.
    """
    no_sync = getattr(model, "no_sync", None)
    if callable(no_sync):
        with no_sync():
            yield
        return
    setter = getattr(model, "set_requires_gradient_sync", None)
    if not callable(setter):
        yield
        return
    setter(False)
    try:
        yield
    finally:
        setter(True)


def syncs_gradients(model: nn.Module) -> bool:
    """Whether ``model`` reduces gradients across ranks in its backward (DDP, FSDP)."""
    return callable(getattr(model, "no_sync", None)) or callable(
        getattr(model, "set_requires_gradient_sync", None)
    )


def complex_broadcast_problem() -> str | None:
    """Why this process group cannot broadcast complex tensors (None: it can).

    ``DistributedDataParallel`` broadcasts the model's parameters from rank 0 when it is
    built; torch 2.4's gloo backend refuses complex tensors there ("Invalid scalar
    type"; its all-reduce takes them), so a model with complex parameters (the spectral
    weights) cannot be wrapped. Probed with one complex element (every rank must call it).
    """
    dist = torch.distributed
    probe = torch.zeros(1, dtype=torch.complex64)
    if dist.get_backend() == "nccl":
        probe = probe.cuda()
    try:
        dist.broadcast(probe, src=0)
    except RuntimeError as error:
        return (
            f"torch {torch.__version__}'s {dist.get_backend()} backend cannot broadcast complex "
            f"tensors ({error}), which DistributedDataParallel does for the model's complex "
            "parameters when it is built: use a newer torch"
        )
    return None


@dataclass(frozen=True)
class LaunchEnvironment:
    """What torchrun tells each process: its rank, the number of ranks, its local rank."""

    rank: int
    world_size: int
    local_rank: int


_TORCHRUN = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launch_environment() -> LaunchEnvironment | None:
    """The launch environment torchrun set, or None when this process was not started by it."""
    if not all(name in os.environ for name in _TORCHRUN):
        return None
    return LaunchEnvironment(
        int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    )


def init_from_torchrun(device: str = "cpu", timeout_s: float = 600.0) -> LaunchEnvironment:
    """Join the process group torchrun prepared: gloo for the CPU, nccl for CUDA.

    On CUDA each process takes the GPU of its local rank. Raises
    :class:`DistributedUnavailable` outside torchrun or without the backend.
    """
    env = launch_environment()
    if env is None:
        raise DistributedUnavailable(
            "not started by torchrun: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and "
            "MASTER_PORT are not all set (run: torchrun --nproc-per-node N -m ...)"
        )
    dist = torch.distributed
    cuda = torch.device(device).type == "cuda"
    backend = "nccl" if cuda else "gloo"
    available = dist.is_nccl_available() if cuda else dist.is_gloo_available()
    if not dist.is_available() or not available:
        raise DistributedUnavailable(f"torch {torch.__version__} has no {backend} backend here")
    if cuda:
        torch.cuda.set_device(env.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return env
