"""Properties of the sharded clauses (AGC-035, AGC-036): clipping DTensor parameters on gloo ranks.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.id for p in PROPERTIES if p.home.endswith("agc.sharded"))
['agc.agc_equals_unsharded', 'agc.clip_equals_unsharded']

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
import math
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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from conformance._internal.compat import dtensor_api
from conformance.domain import Domain, NotApplicable
from conformance.framework import Targets, conformance_property
from conformance.properties.agc.dispatch import (
    ALGORITHMS,
    agc_matches_reference,
    no_clipping_at_nonpositive,
    norm_matches_torch,
    value_matches_torch,
)
from conformance.properties.agc.exactness import matches_reference
from conformance.strategies.tensors import (
    REAL,
    AGCCase,
    ClipCase,
    ParamCase,
    agc_cases,
    clip_cases,
)

__all__ = [
    "DISPATCH_DECISIONS",
    "RankError",
    "ShardedCase",
    "as_dtensor",
    "assemble",
    "local_part",
    "placement",
    "run_ranks",
]


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
        payload = ("ok", fn(rank, world, *args))
        # Every rank has finished before any exits. No destroy_process_group: the process
        # ends at once, and on torch 2.4.1 (gloo, file store) destroying hung one rank in
        # about one run in two under pytest.
        dist.barrier()
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
    """``'S<d>'`` -> ``Shard(d)``, ``'R'`` -> ``Replicate()`` (of :func:`dtensor_api`)."""
    api = dtensor_api()
    if name == "R":
        return api.Replicate()
    if name.startswith("S") and name[1:].isdigit():
        return api.Shard(int(name[1:]))
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


# --- the examples ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardedCase:
    """Parameters (an :class:`AGCCase`) laid out on a device mesh, and the call to make.

    ``layouts[k]``: parameter k's placement per mesh dimension (``'S<d>'``, ``'R'``);
    ``algorithm`` / ``value``: a dispatch call (``clip`` role), or None for the ``agc`` role.
    """

    case: AGCCase
    mesh: tuple[int, ...]
    layouts: tuple[tuple[str, ...], ...]
    algorithm: str | None = None
    value: float | None = None

    @property
    def world(self) -> int:
        return math.prod(self.mesh)

    def __repr__(self) -> str:  # rebuildable after ``from conformance.strategies import *``
        module = "__import__('conformance.properties.agc.sharded', fromlist=['_'])"
        return (
            f"{module}.ShardedCase(case={self.case!r}, mesh={self.mesh!r}, "
            f"layouts={self.layouts!r}, algorithm={self.algorithm!r}, value={self.value!r})"
        )


def _meshes(world: int) -> list[tuple[int, ...]]:
    """A 1-D mesh of every rank, and the 2-D meshes of them (a side of 1 included)."""
    out: list[tuple[int, ...]] = [(world,), (1, world)]
    out += [(a, world // a) for a in range(2, world) if world % a == 0]
    return out


@st.composite
def _sharded_cases(draw: st.DrawFn, world: int, domain: Domain, algorithm: bool) -> ShardedCase:
    if algorithm:
        call = draw(clip_cases(ALGORITHMS, domain.only(REAL), domain=domain, values=_VALUES))
        case, name, value = call.case, call.algorithm, call.value
    else:
        dtypes = domain.only(REAL)
        case = draw(
            agc_cases(dtypes, max_params=3, max_rank=3, domain=domain, some_grad=True,
                      layouts=("contiguous",), containers=("list",))
        )  # fmt: skip
        name, value = None, None
    mesh = draw(st.sampled_from(_meshes(world)), label="mesh")
    layouts = []
    for p in case.params:
        ndim = p.ndim
        choices = ["R"] if ndim == 0 else [f"S{d}" for d in range(ndim)] + ["R"]
        layouts.append(tuple(draw(st.sampled_from(choices)) for _ in mesh))
    return ShardedCase(case, mesh, tuple(layouts), name, value)


_VALUES = st.sampled_from([1.0, 0.01, 0.1, 1e-3, 10.0, None, 0.0])
_EXPLICIT_VALUES = {"norm": 0.1, "value": 0.5, "agc": 0.01}
"""The value of each algorithm's explicit example: every unit of :func:`_spanning` clips."""


def _strategy(algorithm: bool) -> Callable[[Domain], Any]:
    def make(domain: Domain) -> Any:
        if not domain.distributed:
            return NotApplicable(
                "sharded checks run on request: --distributed N (N gloo ranks forked here)"
            )
        import torch

        if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
            return NotApplicable(f"torch {torch.__version__} has no torch.distributed with gloo")
        if not domain.only(REAL):
            return NotApplicable("float32 and float64 are both outside the target's domain")
        return _sharded_cases(domain.distributed, domain, algorithm)

    return make


def _spanning(world: int) -> AGCCase:
    """A matrix and a vector of ``2 * world`` rows, every unit well above its bound."""
    rows = 2 * world
    weight = [[0.1 * (i + 1), -0.2, 0.05 * i] for i in range(rows)]
    grad = [[3.0 * (i + 1), 1.0, -2.0] for i in range(rows)]
    vector = ParamCase(weight=[0.5] * rows, grad=[float(i + 1) for i in range(rows)])
    return AGCCase(params=(ParamCase(weight=weight, grad=grad), vector), clip_factor=0.01)


def _explicit(algorithm: bool) -> Callable[[Domain], tuple[ShardedCase, ...]]:
    """Examples that separate sharded from local-shard clipping, run before the drawn ones:
    units that span the ranks (Shard(1) of a matrix, Shard(0) of a vector) and that clip."""

    def make(domain: Domain) -> tuple[ShardedCase, ...]:
        if not domain.distributed or "float32" not in domain.dtypes:
            return ()
        world = domain.distributed
        case = _spanning(world)
        layouts = (("S1",), ("S0",))
        if not algorithm:
            return (ShardedCase(case, (world,), layouts),)
        return tuple(
            ShardedCase(case, (world,), layouts, a, _EXPLICIT_VALUES[a]) for a in ALGORITHMS
        )

    return make


# --- worker side: the ranks -------------------------------------------------------------------


def _warm() -> None:
    """Import here, once per worker, what every rank would import again for each example:
    the DTensor API (~0.5 s) and torch._dynamo, which DTensor.from_local loads on first use
    (~0.6 s)."""
    dtensor_api()
    with contextlib.suppress(ImportError):
        import torch._dynamo  # noqa: F401


def as_dtensor(full: Any, mesh: Any, names: tuple[str, ...]) -> Any:
    """``full`` (the same on every rank) as a DTensor on ``mesh`` laid out as ``names``: this
    rank's part (:func:`local_part`), made without a collective (torch 2.4's gloo cannot
    broadcast or scatter complex tensors, which ``distribute_tensor`` does)."""
    api = dtensor_api()
    coords = tuple(int(c) for c in mesh.get_coordinate())
    part = local_part(full, tuple(mesh.mesh.shape), coords, names).contiguous()
    placements = [placement(n) for n in names]
    return api.DTensor.from_local(
        part, mesh, placements, run_check=False, shape=full.shape, stride=full.stride()
    )


def _rank_call(rank: int, world: int, fn: Any, ex: ShardedCase) -> dict[str, Any]:
    """In one rank: the example's parameters as DTensors, one call of the target, the parts."""
    import torch

    api = dtensor_api()
    mesh = api.init_device_mesh("cpu", ex.mesh)
    params = []
    for p, names in zip(ex.case.make_params(), ex.layouts, strict=True):
        q = torch.nn.Parameter(as_dtensor(p.detach().contiguous(), mesh, names))
        if p.grad is not None:
            q.grad = as_dtensor(p.grad.contiguous(), mesh, names)
        params.append(q)
    if ex.algorithm is None:
        fn(params, clip_factor=ex.case.clip_factor, eps=ex.case.eps)
    else:
        fn(params, ex.algorithm, ex.value)
    parts: list[Any] = []
    kinds: list[Any] = []
    for q in params:
        g: Any = q.grad
        layout = tuple(str(x) for x in getattr(g, "placements", ())) or None
        kinds.append(layout)
        parts.append(None if g is None else (g.to_local() if layout else g).detach().clone())
    coords = mesh.get_coordinate()
    return {"coords": [int(c) for c in coords or ()], "grads": parts, "layouts": kinds}


def _act(targets: Targets, ex: ShardedCase) -> dict[str, Any]:
    fn = targets.agc if ex.algorithm is None else targets.clip
    _warm()
    return {"ranks": run_ranks(_rank_call, ex.world, fn, ex, timeout=_RANK_LIMIT)}


_RANK_LIMIT = 60.0
"""Seconds a sharded example may take on its ranks (the judge's own limits apply too)."""


# --- judge side ---------------------------------------------------------------------------------


def _wholes(ex: ShardedCase, seen: dict[str, Any]) -> list[Any]:
    """Every gradient gathered whole from the ranks' parts; AssertionError where a gradient
    stopped being a DTensor laid out as before, or replicas disagree."""
    ranks = seen["ranks"]
    want_layouts = [tuple(str(placement(n)) for n in names) for names in ex.layouts]
    out: list[Any] = []
    for k, (p, names) in enumerate(zip(ex.case.params, ex.layouts, strict=True)):
        if not p.has_grad:
            out.append(None)
            continue
        for r in ranks:
            got = r["layouts"][k]
            if got is None or tuple(got) != want_layouts[k]:
                raise AssertionError(
                    f"param {k}: its .grad was a DTensor laid out {want_layouts[k]} and after the "
                    f"call is {'a plain tensor or None' if got is None else tuple(got)}; {ex!r}"
                )
        parts = {tuple(r["coords"]): r["grads"][k] for r in ranks}
        out.append(assemble(parts, ex.mesh, names))
    return out


@conformance_property(
    "AGC-035",
    roles=("agc",),
    strategy=_strategy(False),
    act=_act,
    max_examples=20,
    examples=_explicit(False),
)
def agc_equals_unsharded(ex: ShardedCase, seen: dict[str, Any]) -> None:
    """DTensor parameters on N gloo ranks: the gradients gathered whole equal the reference."""
    wholes = _wholes(ex, seen)
    facts = [{"grad": g} for g in wholes]
    try:
        matches_reference(ex.case, {"params": facts})
    except AssertionError as error:
        raise AssertionError(f"sharded on mesh {ex.mesh} as {ex.layouts}: {error}") from None


DISPATCH_DECISIONS: dict[str, Callable[[ClipCase, dict[str, Any]], None]] = {
    "norm": norm_matches_torch,
    "value": value_matches_torch,
    "agc": agc_matches_reference,
}
"""The unsharded dispatch property deciding each algorithm (one per ``spec.CLIP_ALGORITHMS``)."""


@conformance_property(
    "AGC-036",
    roles=("clip",),
    strategy=_strategy(True),
    act=_act,
    max_examples=20,
    examples=_explicit(True),
)
def clip_equals_unsharded(ex: ShardedCase, seen: dict[str, Any]) -> None:
    """The dispatch on DTensor parameters: the gradients of the same call on the unsharded ones."""
    call = ClipCase(case=ex.case, algorithm=str(ex.algorithm), value=ex.value)
    observed = {"grads": _wholes(ex, seen)}
    if ex.value is None or ex.value <= 0:
        decide: Callable[[ClipCase, dict[str, Any]], None] = no_clipping_at_nonpositive
    else:
        decide = DISPATCH_DECISIONS[call.algorithm]
    try:
        decide(call, observed)
    except AssertionError as error:
        raise AssertionError(f"sharded on mesh {ex.mesh} as {ex.layouts}: {error}") from None
