"""Clipping FSDP2-sharded generators on gloo ranks: collectives per call, time vs clip_grad_norm_.

    python benchmarks/bench_distributed.py [--ranks 2,4] [--reps 15] [--models small,default]
                                           [--json PATH]

(with the package installed, or from a checkout: ``PYTHONPATH=. python benchmarks/...``)

For each number of ranks (forked on this machine, gloo, one torch thread each) and each
model — ``small``: the hybrid generator at width 8 with 3 blocks (38 parameters, the
issue's measurement), ``default``: ``spec.ModelConfig()``'s hybrid generator (width 32, 4
blocks, 50 parameters, 11.4 M), ``real``: a real-valued conv net (1.5 M; the generators'
complex spectral weights make ``clip_grad_norm_`` slow) — every module that owns parameters is
``fully_shard``-ed (FSDP2, ``Shard(0)``), one backward pass fills the gradients, and
these arms are timed, interleaved (A B C D A B C D ...), with the gradients restored
from a saved copy before every call (outside the timing) and a barrier aligning the
ranks before it:

- ``clip_grad_norm_``: torch's, on the sharded parameters (the baseline);
- ``adaptive_gradient_clip_``: impl's AGC on the sharded model (its declared unit axes);
- ``clip_gradients_ 'norm'`` and ``'agc'``: the dispatch;
- ``per-tensor DTensor AGC``: AGC written with DTensor operators one tensor at a time
  (unit norms by ``vector_norm`` on the DTensor, then a multiply) — what code written
  for plain tensors does on FSDP2's parameters; each norm of a unit that spans ranks is
  its own collective.

Per arm: rank 0's median wall time (collectives make every rank wait for the slowest,
so wall time is the cost), the ratio to ``clip_grad_norm_`` in the same run, and the
collectives of one call by kind (torch's ``CommDebugMode``). The goal (issue 14) is AGC
<= 1.5 x ``clip_grad_norm_``; the exit status is 1 when it is not met. The load average
is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from benchjson import conditions, finish, group, new_payload, write_json
from torch import nn

import impl
import spec
from conformance.properties.agc.sharded import run_ranks
from impl._sharded import local  # impl's one home of the torch-version DTensor shims
from impl.distributed import fsdp2_problem, fully_shard_model


def _generator(cfg: spec.ModelConfig) -> Callable[[], tuple[nn.Module, torch.Tensor]]:
    def make() -> tuple[nn.Module, torch.Tensor]:
        return impl.build_generator(cfg), torch.randn(2, cfg.C, cfg.N, cfg.N)

    return make


def _real_net() -> tuple[nn.Module, torch.Tensor]:
    """A real-valued stand-in (convs, group norms, a Linear; 1.5 M): no complex weights,
    whose norms make torch's clip_grad_norm_ slow on the generators."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((1, 128), (128, 256), (256, 256), (256, 256)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.GELU()]
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))
    return model, torch.randn(2, 1, 16, 16)


MODELS: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    "small": _generator(spec.ModelConfig(architecture="hybrid", fno_width=8, fno_blocks=3)),
    "default": _generator(spec.ModelConfig(architecture="hybrid")),
    "real": _real_net,
}
CGN, AGC, NORM, DAGC, NAIVE = (
    "clip_grad_norm_",
    "adaptive_gradient_clip_",
    "clip_gradients_ 'norm'",
    "clip_gradients_ 'agc'",
    "per-tensor DTensor AGC",
)
GOAL = 1.5
LAM, EPS = 0.01, 1e-3


def per_tensor_dtensor_agc(model: torch.nn.Module, clip_factor: float = LAM) -> None:
    """AGC one tensor at a time with DTensor operators (the comparison arm, not for use)."""
    dims = impl.agc_unit_dims(model)
    with torch.no_grad():
        for p in model.parameters():
            g = p.grad
            if g is None:
                continue
            axis = dims.get(p, 0)
            w_, g_ = (torch.view_as_real(p), torch.view_as_real(g)) if p.is_complex() else (p, g)
            if p.ndim <= 1:
                reduce: tuple[int, ...] | None = None
            else:
                reduce = tuple(d for d in range(w_.ndim) if d != axis)
            w_norm = torch.linalg.vector_norm(w_, dim=reduce, keepdim=reduce is not None)
            g_norm = torch.linalg.vector_norm(g_, dim=reduce, keepdim=reduce is not None)
            bound = w_norm.clamp(min=EPS) * clip_factor
            scale = torch.clamp(bound / g_norm, max=1.0)
            g_.mul_(scale)


def _comm_counts(call: Callable[[], Any]) -> dict[str, int]:
    # public since torch 2.5; this benchmark needs FSDP2's public API (2.6+) anyway
    from torch.distributed.tensor.debug import CommDebugMode

    mode = CommDebugMode()
    with mode:
        call()
    out: dict[str, int] = {}
    for op, n in mode.get_comm_counts().items():
        name = str(op).split(".")[-1].rstrip("_").replace("_", "")
        out[name] = out.get(name, 0) + int(n)
    return out


def _rank(rank: int, world: int, model_name: str, reps: int) -> dict[str, Any]:
    """In every rank: shard the model, fill the gradients, time the arms (interleaved)."""
    import torch.distributed as dist

    torch.manual_seed(0)
    plain, x = MODELS[model_name]()
    model = fully_shard_model(plain)
    model(x).square().mean().backward()
    params = list(model.parameters())
    saved = [local(p.grad).clone() for p in params]

    def restore() -> None:
        for p, g in zip(params, saved, strict=True):
            local(p.grad).copy_(g)

    arms: dict[str, Callable[[], Any]] = {
        CGN: lambda: torch.nn.utils.clip_grad_norm_(params, 1.0),
        AGC: lambda: impl.adaptive_gradient_clip_(model, LAM),
        NORM: lambda: impl.clip_gradients_(model, "norm", 1.0),
        DAGC: lambda: impl.clip_gradients_(model, "agc", LAM),
        NAIVE: lambda: per_tensor_dtensor_agc(model),
    }
    comms = {}
    for name, arm in arms.items():  # warm-up, and the collectives of one call
        restore()
        arm()
        restore()
        comms[name] = _comm_counts(arm)
    times: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(reps):
        for name, arm in arms.items():
            restore()
            dist.barrier()
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            arm()
            times[name].append(time.perf_counter() - start)
            gc.enable()
    return {
        "parameters": len(params),
        "elements": sum(p.numel() for p in params),
        "median_ms": {n: 1e3 * statistics.median(t) for n, t in times.items()},
        "comms": comms,
    }


def _report(world: int, model_name: str, rank0: dict[str, Any]) -> list[str]:
    base = rank0["median_ms"][CGN]
    lines = [
        f"\n{world} ranks, {model_name} model ({rank0['parameters']} parameters, "
        f"{rank0['elements']:,} elements), FSDP2 Shard(0):",
        f"  {'arm':26} {'median':>10} {'ratio':>7}  collectives per call",
    ]
    for name, ms in rank0["median_ms"].items():
        comms = ", ".join(f"{n} {c}" for n, c in sorted(rank0["comms"][name].items())) or "none"
        lines.append(f"  {name:26} {ms:8.2f} ms {ms / base:6.2f}x  {comms}")
    ratio = rank0["median_ms"][AGC] / base
    met = "met" if ratio <= GOAL else "NOT met"
    lines.append(f"  goal: AGC <= {GOAL} x clip_grad_norm_: {ratio:.2f} x, {met}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="2,4", help="comma-separated numbers of gloo ranks")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--models", default="small,default,real")
    parser.add_argument("--json", help="also write the results to this file (atomically)")
    args = parser.parse_args(argv)
    problem = fsdp2_problem()
    if problem is not None:
        print(f"bench_distributed: {problem}", file=sys.stderr)
        return 2
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"--models: {name!r} is not one of {sorted(MODELS)}")
    import torch._dynamo  # DTensor loads it on first use: import it once here, not per rank

    print(f"torch {torch.__version__}; load average before: {os.getloadavg()}")
    results = new_payload(
        "bench_distributed",
        "Clipping FSDP2-sharded models on gloo ranks against clip_grad_norm_",
        conditions(reps=args.reps, threads=1, device="cpu", backend="gloo", ranks=args.ranks),
    )
    results["runs"] = []
    failed = False
    for world in (int(w) for w in args.ranks.split(",")):
        for model_name in args.models.split(","):
            per_rank = run_ranks(_rank, world, model_name, args.reps, timeout=1800.0)
            for line in _report(world, model_name, per_rank[0]):
                print(line, flush=True)
            failed |= per_rank[0]["median_ms"][AGC] > GOAL * per_rank[0]["median_ms"][CGN]
            rank0 = per_rank[0]
            results["runs"].append({"ranks": world, "model": model_name, **rank0})
            collectives = [
                f"{name}: " + (", ".join(f"{n} {c}" for n, c in sorted(comm.items())) or "none")
                for name, comm in rank0["comms"].items()
            ]
            results["groups"].append(
                group(
                    f"{world} ranks, {model_name} model ({rank0['parameters']} parameters, "
                    f"{rank0['elements']:,} elements), FSDP2 Shard(0), rank 0's wall time",
                    rank0["median_ms"],
                    baseline=CGN,
                    unit="ms",
                    notes=["collectives per call: " + "; ".join(collectives)],
                )
            )
    print(f"\nload average after: {os.getloadavg()}")
    finish(results)
    if args.json:
        write_json(args.json, results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
