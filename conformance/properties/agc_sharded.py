"""Properties of the sharded clauses (AGC-035, AGC-036): clipping DTensor parameters on gloo ranks.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.id for p in PROPERTIES if p.id.startswith("agc_sharded."))
['agc_sharded.agc_equals_unsharded', 'agc_sharded.clip_equals_unsharded']

Not applicable unless asked for: ``conformance check --agc T --distributed 2`` (or
``--conformance-distributed 2``, ``run_conformance(..., domain=Domain(distributed=2))``).
The act runs in the worker as every act does; it forks ``N`` rank processes from the
worker (:func:`run_ranks`: they inherit the target already loaded, so nothing is
imported by name again, and they die with the worker), joins them in a gloo process
group through a file store, lays the example's parameters out as DTensors on a 1-D or
2-D device mesh (``Shard(d)`` / ``Replicate()`` per mesh dimension, from the same
seeded values on every rank), calls the target there, and sends back each gradient
gathered whole by rank 0 (the gathering is the harness's, after the call). The judge
compares them with :func:`spec.reference.agc_reference` (and torch's clip functions)
on the unsharded parameters, as the unsharded properties do.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = ["RankError", "run_ranks"]


class RankError(RuntimeError):
    """A rank raised, died or did not finish: names the rank and carries its traceback."""

    def __init__(self, rank: int, what: str, detail: str = "") -> None:
        super().__init__(f"rank {rank} {what}" + (f":\n{detail}" if detail else ""))
        self.rank, self.what, self.detail = rank, what, detail


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _rank_main(
    fn: Callable[..., Any],
    rank: int,
    world: int,
    args: tuple[Any, ...],
    store: str,
    out: int,
    timeout: float,
) -> None:
    """In a forked child: join the process group, run ``fn``, send the pickled outcome."""
    code = 0
    payload: tuple[Any, ...]
    try:
        _die_with_parent()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group(
            "gloo",
            init_method=f"file://{store}",
            rank=rank,
            world_size=world,
            timeout=timedelta(seconds=timeout),
        )
        try:
            payload = ("ok", fn(rank, world, *args))
        finally:
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
    except BaseException as error:
        payload = ("error", f"{type(error).__name__}: {error}", traceback.format_exc())
        code = 1
    try:
        data = pickle.dumps(payload)
    except Exception as error:
        data = pickle.dumps(("error", f"the result could not be pickled: {error!r}", ""))
    with contextlib.suppress(BaseException):
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        os.close(out)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_ranks(
    fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 120.0
) -> list[Any]:
    """``fn(rank, world_size, *args)`` on ``world_size`` forked processes joined in one gloo
    process group; each rank's return value (pickled), in rank order.

    >>> def total(rank, world):
    ...     import torch, torch.distributed as dist
    ...     t = torch.tensor([float(rank + 1)])
    ...     dist.all_reduce(t)
    ...     return t.item()
    >>> run_ranks(total, 2)
    [3.0, 3.0]

    The children are forked from this process (they inherit what it imported: a
    target already loaded is not imported again), die with it, and are killed as soon
    as one fails, so that the others do not wait in a collective. :class:`RankError`
    names the first rank that raised (with its traceback), died or ran past
    ``timeout`` seconds. Linux and macOS (``os.fork``).
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size!r}")
    folder = tempfile.mkdtemp(prefix="fno-ranks-")
    store = os.path.join(folder, "store")
    pids: list[int] = []
    reads: list[int] = []
    try:
        for rank in range(world_size):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                _rank_main(fn, rank, world_size, args, store, w, timeout)
            os.close(w)
            pids.append(pid)
            reads.append(r)
        return _gather(pids, reads, time.monotonic() + timeout + 10.0)
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for fd in reads:
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


def _gather(pids: list[int], reads: list[int], deadline: float) -> list[Any]:
    """Read every rank's outcome; RankError at the first failure, death or the deadline."""
    chunks: dict[int, list[bytes]] = {rank: [] for rank in range(len(pids))}
    open_ = dict(enumerate(reads))
    with selectors.DefaultSelector() as sel:
        for rank, fd in open_.items():
            sel.register(fd, selectors.EVENT_READ, rank)
        while open_:
            left = deadline - time.monotonic()
            if left <= 0:
                rank = min(open_)
                raise RankError(
                    rank, f"did not finish within the time limit ({len(open_)} still running)"
                )
            for key, _ in sel.select(timeout=min(left, 1.0)):
                rank = key.data
                data = os.read(open_[rank], 1 << 16)
                if data:
                    chunks[rank].append(data)
                    continue
                sel.unregister(open_[rank])
                del open_[rank]
                _check(rank, chunks[rank], pids[rank])
    return [pickle.loads(b"".join(chunks[rank]))[1] for rank in range(len(pids))]


def _check(rank: int, chunks: list[bytes], pid: int) -> None:
    if not chunks:
        _, status = os.waitpid(pid, 0)
        raise RankError(
            rank, f"ended without a result (exit status {os.waitstatus_to_exitcode(status)})"
        )
    payload = pickle.loads(b"".join(chunks))
    if payload[0] != "ok":
        raise RankError(rank, f"raised {payload[1]}", payload[2])


# --- layouts: placements by name, the local part of a tensor, a tensor from its parts --------


def placement(name: str) -> Any:
    """``'S<d>'`` -> ``Shard(d)``, ``'R'`` -> ``Replicate()`` (torch 2.4: the private module)."""
    try:
        from torch.distributed.tensor import Replicate, Shard
    except ImportError:  # torch 2.4
        from torch.distributed._tensor import Replicate, Shard
    if name == "R":
        return Replicate()
    if name.startswith("S") and name[1:].isdigit():
        return Shard(int(name[1:]))
    raise ValueError(f"placement {name!r}: allowed are 'R' and 'S<dim>' (e.g. 'S0')")


def local_part(
    full: Any, mesh: tuple[int, ...], coords: tuple[int, ...], names: tuple[str, ...]
) -> Any:
    """The part of ``full`` the rank at ``coords`` of a ``mesh``-shaped mesh holds under
    ``names`` (one placement per mesh dimension, applied in mesh-dimension order, each
    ``Shard`` cutting as ``torch.chunk`` does, a missing chunk empty) — as DTensor does."""
    import torch

    part = full
    for size, coord, name in zip(mesh, coords, names, strict=True):
        if name == "R":
            continue
        dim = int(name[1:])
        chunks = torch.chunk(part, size, dim=dim) if part.shape[dim] else ()
        if coord < len(chunks):
            part = chunks[coord]
        else:
            shape = list(part.shape)
            shape[dim] = 0
            part = part.new_empty(shape)
    return part


def assemble(
    parts: dict[tuple[int, ...], Any], mesh: tuple[int, ...], names: tuple[str, ...]
) -> Any:
    """The whole tensor from every rank's part (``coords -> part``): the inverse of
    :func:`local_part`. Replicated parts must agree bit for bit (AssertionError if not)."""
    import torch

    def build(prefix: tuple[int, ...]) -> Any:
        level = len(prefix)
        if level == len(mesh):
            return parts[prefix]
        subs = [build((*prefix, c)) for c in range(mesh[level])]
        name = names[level]
        if name == "R":
            for c, sub in enumerate(subs[1:], start=1):
                same = sub.shape == subs[0].shape and bool(
                    torch.equal(
                        torch.view_as_real(sub) if sub.is_complex() else sub,
                        torch.view_as_real(subs[0]) if subs[0].is_complex() else subs[0],
                    )
                )
                if not same:
                    raise AssertionError(
                        f"mesh dimension {level} is Replicate(), but the ranks at coordinate "
                        f"{c} and 0 of it hold different gradients after the call"
                    )
            return subs[0]
        return torch.cat(subs, dim=int(name[1:]))

    return build(())
