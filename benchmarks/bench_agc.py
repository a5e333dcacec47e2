"""AGC and the clipping dispatch against torch's clip_grad_norm_, timed in the same run.

    python benchmarks/bench_agc.py [--reps 7] [--threads 1] [--device cpu] [--clock auto]
                                   [--sets resnet,transformer,random,generator,step]
                                   [--dtypes float32,bfloat16,float16] [--json PATH] [--quick]

(with the package installed, or from a checkout: ``PYTHONPATH=. python benchmarks/...``)

Parameter sets (weights and gradients ``0.05 * randn``, so every unit is clipped):

- ``resnet``: ResNet-50's 161 parameter tensors (25.6 M), in each of ``--dtypes``;
- ``transformer``: 8 pre-norm transformer layers of width 1024 (96 tensors,
  100.8 M), in each dtype;
- ``random``: 1,000 and 10,000 float32 tensors of random rank 1-4 and sides 1-16
  (mostly distinct shapes);
- ``generator``: the default hybrid FNO generator
  (``impl.build_generator(spec.ModelConfig())``, complex spectral weights with
  unit axis 1) and a ~32 M stand-in of a deeper one (spectral weights
  (c, c, 12, 12) for c = 32..256), each clipped as a module;
- ``step``: ``impl.training_step`` on the ResNet-50 float32 and 1,000-tensor sets
  (loss ``sum(p * c)``, SGD with lr 0), with and without clipping (twice the
  repetitions; the step's cost of clipping is the median, over repetitions, of
  the difference between the two steps, against the dispatch alone).

Arms per set, their repetitions interleaved (A B C A B C ...) so that load
drifting on a shared machine hits every arm alike; gradients restored from a
saved copy before every timed call (outside the timing): ``clip_grad_norm_``
(``foreach=True``, the baseline), the 4-pass floor (torch's multi-tensor norm of
the weights, of the gradients, and one multiply of the gradients: the least
memory traffic any AGC needs, vs 3 passes for norm clipping),
``adaptive_gradient_clip_``, ``clip_gradients_`` with 'norm' (also checked to
give clip_grad_norm_'s gradients) and with 'agc', and on the random sets the
per-parameter loop most public AGCs are (a host sync per tensor).

Every ratio is printed with its target (the goals of issue 13) and whether it
was met; the exit status is 1 when one was not. ``--clock auto`` times CPU runs
by this thread's CPU time (on a shared machine it leaves out the time the
scheduler gives to other jobs; memory-bandwidth contention still shows) and
device runs by wall time around ``torch.cuda.synchronize``. As in ``timeit``, the
garbage collector is off inside a timed call (and run before it).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

import torch
from benchjson import conditions, finish, group, new_payload, write_json
from torch import nn

import impl
import spec

Arm = Callable[[], object]
CGN = "clip_grad_norm_(foreach=True)"
FLOOR = "4-pass floor"
AGC = "adaptive_gradient_clip_"
NORM = "clip_gradients_ 'norm'"
DISPATCH_AGC = "clip_gradients_ 'agc'"
LOOP = "per-parameter loop"
LAM, EPS = 0.01, 1e-3


# --- parameter sets -----------------------------------------------------------------------------


def resnet50_shapes() -> list[tuple[int, ...]]:
    """The 161 parameter shapes of torchvision's ResNet-50 (convs, batch norms, fc)."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    width_in = 64
    for width, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True):
        for b in range(blocks):
            out = 4 * width
            shapes += [(width, width_in, 1, 1), (width,), (width,)]
            shapes += [(width, width, 3, 3), (width,), (width,)]
            shapes += [(out, width, 1, 1), (out,), (out,)]
            if b == 0:
                shapes += [(out, width_in, 1, 1), (out,), (out,)]
            width_in = out
    return [*shapes, (1000, 2048), (1000,)]


def transformer_shapes(width: int = 1024, layers: int = 8) -> list[tuple[int, ...]]:
    """Per layer: qkv and output projections, two layer norms, a 4x MLP (12 tensors)."""
    d = width
    layer = [(3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (4 * d, d), (4 * d,), (d, 4 * d)]
    return [shape for _ in range(layers) for shape in [*layer, (d,), (d,), (d,)]]


def random_shapes(n: int, seed: int = 0, max_side: int = 16) -> list[tuple[int, ...]]:
    rnd = random.Random(seed)
    return [tuple(rnd.randint(1, max_side) for _ in range(rnd.randint(1, 4))) for _ in range(n)]


@dataclass
class Case:
    """Parameters with gradients, restorable to their first values."""

    name: str
    params: list[torch.Tensor]
    module: nn.Module | None = None
    saved: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.saved = [p.grad.detach().clone() for p in self.params if p.grad is not None]

    def restore(self) -> None:
        with torch.no_grad():
            for p, g in zip(self.params, self.saved, strict=True):
                if p.grad is None:
                    p.grad = g.clone()
                else:
                    p.grad.copy_(g)

    @property
    def target(self) -> Any:
        """What AGC is given: the module (its declared unit axes) or the list."""
        return self.module if self.module is not None else self.params

    @property
    def summary(self) -> str:
        count = sum(p.numel() for p in self.params)
        complex_ = sum(p.numel() for p in self.params if p.is_complex())
        extra = f", {complex_ / 1e6:.2f} M complex" if complex_ else ""
        return f"{len(self.params)} tensors, {count / 1e6:.2f} M parameters{extra}"


def shaped_case(
    name: str, shapes: list[tuple[int, ...]], dtype: torch.dtype, device: str, seed: int = 0
) -> Case:
    gen = torch.Generator().manual_seed(seed)
    params = []
    for shape in shapes:
        p = nn.Parameter((torch.randn(shape, generator=gen) * 0.05).to(device, dtype))
        p.grad = (torch.randn(shape, generator=gen) * 0.05).to(device, dtype)
        params.append(p)
    return Case(name, params)


LEVELS = ((32, 12), (64, 12), (128, 12), (256, 12), (256, 6))
"""Stand-in levels: (channels, modes); the last is the bottleneck with modes // 2."""


class _Spectral(nn.Module):
    AGC_UNIT_DIMS: ClassVar[dict[str, int | None]] = {"weight": 1}  # (in, out, m, m)

    def __init__(self, c: int, m: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(c, c, m, m, dtype=torch.complex64))


class _StandIn(nn.Module):
    """Tensors shaped like a deeper hybrid generator's: 54 tensors, ~32 M parameters."""

    def __init__(self, levels: tuple[tuple[int, int], ...] = LEVELS) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for c, m in levels:  # per level: two spectral weights, a 3x3 conv, a 1x1 conv, a norm
            parts = [_Spectral(c, m), _Spectral(c, m), nn.Conv2d(c, c, 3), nn.Conv2d(c, c, 1)]
            self.blocks.append(nn.ModuleList(parts))
            self.blocks.append(nn.InstanceNorm2d(c, affine=True))
        widths = [c for c, _ in levels[:-1]]
        self.down = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in pairwise(widths))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in pairwise(widths))
        self.head = nn.Conv2d(widths[0], 8, 1)


def stand_in_case(device: str) -> Case:
    torch.manual_seed(0)
    model = _StandIn().to(device)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.02).to(device))
            p.grad = (torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.05).to(device)
    return Case("FNO stand-in ~32 M", list(model.parameters()), model)


def generator_case(device: str) -> Case:
    torch.manual_seed(0)
    model = impl.build_generator(spec.ModelConfig()).to(device)
    gen = torch.Generator().manual_seed(1)
    for p in model.parameters():
        p.grad = (torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.05).to(device)
    return Case("FNO generator (default hybrid)", list(model.parameters()), model)


# --- arms ---------------------------------------------------------------------------------------


def per_parameter_agc(params: list[torch.Tensor], clip_factor: float, eps: float) -> None:
    """The common public form of AGC: one tensor at a time, a host sync per parameter."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        dims = None if g.ndim <= 1 else tuple(range(1, g.ndim))
        w_norm = torch.linalg.vector_norm(p.detach(), dim=dims, keepdim=True).clamp(min=eps)
        g_norm = torch.linalg.vector_norm(g, dim=dims, keepdim=True)
        bound = w_norm * clip_factor
        if (g_norm > bound).any():  # Python `if` on a tensor: a sync per parameter
            g.mul_(torch.where(g_norm > bound, bound / g_norm.clamp(min=1e-6), 1.0))


def four_pass_floor(params: list[torch.Tensor]) -> None:
    """Norms of the weights and of the gradients, one multiply of the gradients (torch kernels)."""
    with torch.no_grad():
        weights = [real_view(p.detach()) for p in params]
        grads = [real_view(p.grad) for p in params if p.grad is not None]
        torch._foreach_norm(weights)
        norms = torch._foreach_norm(grads)
        factor = torch.clamp(0.5 / torch.linalg.vector_norm(torch.stack(norms)), max=1.0)
        torch._foreach_mul_(grads, factor)


def arms_for(case: Case, with_loop: bool) -> dict[str, Arm]:
    params, target = case.params, case.target
    arms: dict[str, Arm] = {
        CGN: lambda: torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True),
        FLOOR: lambda: four_pass_floor(params),
        AGC: lambda: impl.adaptive_gradient_clip_(target, LAM, EPS),
        NORM: lambda: impl.clip_gradients_(params, "norm", 1.0),
        DISPATCH_AGC: lambda: impl.clip_gradients_(target, "agc", LAM),
    }
    if with_loop:
        arms[LOOP] = lambda: per_parameter_agc(params, LAM, EPS)
    return arms


# --- timing -------------------------------------------------------------------------------------


class Timer:
    """Seconds of one call: this thread's CPU time, or wall time around a device sync."""

    def __init__(self, device: str, clock: str) -> None:
        cuda = device.startswith("cuda")
        if clock == "auto":
            clock = "wall" if cuda else "cpu"
        self.clock = clock
        self.sync: Callable[[], None] = torch.cuda.synchronize if cuda else (lambda: None)
        self.now = time.thread_time if clock == "cpu" else time.perf_counter

    def __call__(self, arm: Arm) -> float:
        # As timeit does: no garbage collection inside the timed call (a collection of the
        # older generations, triggered by whichever arm happens to allocate the
        # threshold's object, can double one arm's time and not the others').
        gc.collect()
        gc.disable()
        try:
            self.sync()
            start = self.now()
            arm()
            self.sync()
            return self.now() - start
        finally:
            gc.enable()


def minor_faults() -> int:
    """Page faults of this process so far (fresh memory touched): a cost the timings include."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_arms(
    case: Case, arms: dict[str, Arm], reps: int, timer: Timer, restore: bool = True
) -> tuple[dict[str, float], dict[str, float], dict[str, list[float]]]:
    """Median seconds and page faults per arm, and every timing; arms interleaved; an
    untimed warm-up round first."""
    times: dict[str, list[float]] = {name: [] for name in arms}
    faults: dict[str, list[int]] = {name: [] for name in arms}
    for rep in range(reps + 1):
        for name, arm in arms.items():
            if restore:
                case.restore()
            before = minor_faults()
            seconds = timer(arm)
            if rep:
                times[name].append(seconds)
                faults[name].append(minor_faults() - before)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return medians, {name: statistics.median(v) for name, v in faults.items()}, times


def norm_agreement(case: Case) -> str:
    """Whether clip_gradients_(..., 'norm') leaves the gradients clip_grad_norm_ leaves."""
    case.restore()
    torch.nn.utils.clip_grad_norm_(case.params, 1.0, foreach=True)
    want = [p.grad.clone() for p in case.params if p.grad is not None]
    case.restore()
    impl.clip_gradients_(case.params, "norm", 1.0)
    got = [p.grad for p in case.params if p.grad is not None]
    if all(torch.equal(a, b) for a, b in zip(got, want, strict=True)):
        return "identical"
    worst = max(
        float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp(min=1e-30))
        for a, b in zip(real_views(got), real_views(want), strict=True)
    )
    return f"differs by up to {worst:.1e} of a tensor's largest entry"


def real_view(t: torch.Tensor) -> torch.Tensor:
    """A complex tensor as its real (..., 2) view (norms of it are the modulus norms)."""
    return torch.view_as_real(t) if t.is_complex() else t


def real_views(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return [real_view(t) for t in tensors]


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    arm: str
    base: str
    limit: float


def targets_for(kind: str, dtype: torch.dtype, name: str) -> list[Target]:
    """The goals of issue 13 that apply to one set (one source of truth for the limits)."""
    out = [
        Target("'norm' <= 1.05 x clip_grad_norm_", NORM, CGN, 1.05),
        Target("'agc' <= 1.1 x AGC alone", DISPATCH_AGC, AGC, 1.1),
    ]
    if kind == "generator":
        out.insert(0, Target("AGC <= 0.5 x clip_grad_norm_", AGC, CGN, 0.5))
    elif kind == "random":
        if name.startswith("1,000 "):
            out.insert(0, Target("AGC <= 2 x clip_grad_norm_", AGC, CGN, 2.0))
        out.insert(1, Target("AGC no slower than the per-parameter loop", AGC, LOOP, 1.0))
    elif dtype == torch.float32:
        out.insert(0, Target("AGC <= 1.4 x clip_grad_norm_", AGC, CGN, 1.4))
    else:
        out.insert(0, Target("AGC <= 1.5 x clip_grad_norm_", AGC, CGN, 1.5))
    return out


# --- the training step --------------------------------------------------------------------------


class _Holder(nn.Module):
    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__()
        self.params = nn.ParameterList(params)


def step_report(case: Case, reps: int, timer: Timer) -> dict[str, Any]:
    """(step with clipping - step without) / the dispatch alone, for 'agc' and 'norm'."""
    model = _Holder(case.params)
    gen = torch.Generator().manual_seed(2)
    coefs = [torch.randn(p.shape, generator=gen).to(p.device, p.dtype) for p in case.params]
    opt = torch.optim.SGD(model.parameters(), lr=0.0)

    def loss_fn(m: nn.Module, _batch: object) -> torch.Tensor:
        return torch.stack(
            [(p * c).sum() for p, c in zip(m.parameters(), coefs, strict=True)]
        ).sum()

    configs = {
        "step, no clipping": spec.TorchTrainingConfig(gradient_clip_val=None),
        "step, 'agc' 0.01": spec.TorchTrainingConfig(
            gradient_clip_algorithm="agc", gradient_clip_val=LAM
        ),
        "step, 'norm' 1.0": spec.TorchTrainingConfig(
            gradient_clip_algorithm="norm", gradient_clip_val=1.0
        ),
    }
    arms: dict[str, Arm] = {
        name: (lambda c=cfg: impl.training_step(model, opt, [None], loss_fn, c))
        for name, cfg in configs.items()
    }
    arms[DISPATCH_AGC] = lambda: impl.clip_gradients_(case.params, "agc", LAM)
    arms[NORM] = lambda: impl.clip_gradients_(case.params, "norm", 1.0)
    medians, _, times = time_arms(case, arms, reps, timer)
    case.restore()

    def added(step: str, dispatch: str) -> float:
        # paired within each repetition, so that load drifting between rounds cancels
        extra = [a - b for a, b in zip(times[step], times["step, no clipping"], strict=True)]
        return statistics.median(extra) / medians[dispatch]

    ratios = {
        "agc": added("step, 'agc' 0.01", DISPATCH_AGC),
        "norm": added("step, 'norm' 1.0", NORM),
    }
    return {"medians": medians, "added_over_dispatch": ratios}


# --- main ---------------------------------------------------------------------------------------


def report_set(
    name: str, kind: str, dtype: torch.dtype, case: Case, reps: int, timer: Timer
) -> dict[str, Any]:
    medians, faults, _ = time_arms(case, arms_for(case, with_loop=kind == "random"), reps, timer)
    agreement = norm_agreement(case)
    print(f"\n{name}: {case.summary}")
    for arm, seconds in medians.items():
        note = f"   ({agreement})" if arm == NORM else ""
        print(
            f"  {arm:<32} {seconds * 1e3:9.2f} ms  {seconds / medians[CGN]:6.3f} x cgn"
            f"  {faults[arm]:7.0f} page faults{note}"
        )
    results = []
    for t in targets_for(kind, dtype, name):
        ratio = medians[t.arm] / medians[t.base]
        met = ratio <= t.limit
        results.append({"target": t.label, "ratio": ratio, "met": met})
        print(f"  target {t.label}: {ratio:.3f} -> {'met' if met else 'NOT met'}")
    return {
        "set": name,
        "summary": case.summary,
        "medians_ms": {k: v * 1e3 for k, v in medians.items()},
        "median_page_faults": faults,
        "floor_over_cgn": medians[FLOOR] / medians[CGN],
        "norm_result": agreement,
        "targets": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="e.g. cuda (timings synchronise)")
    parser.add_argument("--clock", choices=("auto", "cpu", "wall"), default="auto")
    parser.add_argument("--sets", default="resnet,transformer,random,generator,step")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16")
    parser.add_argument("--json", help="also write the results to this file (atomically)")
    parser.add_argument("--quick", action="store_true", help="3 repetitions, no 10,000-tensor set")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reps = 3 if args.quick else args.reps
    timer = Timer(args.device, args.clock)
    sets = args.sets.split(",")
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")]
    load = os.getloadavg()
    print(
        f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), "
        f"{timer.clock} clock, medians of {reps} interleaved repetitions; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    payload = new_payload(
        "bench_agc",
        "AGC and the clipping dispatch against clip_grad_norm_",
        conditions(reps=reps, threads=args.threads, device=args.device, clock=timer.clock),
    )
    payload["sets"] = []

    def record(entry: dict[str, Any]) -> None:
        payload["sets"].append(entry)
        if "medians_ms" in entry:
            notes = [
                f"{t['target']}: {t['ratio']:.3f} ({'met' if t['met'] else 'NOT met'})"
                for t in entry["targets"]
            ]
            notes.append(f"'norm' result against clip_grad_norm_: {entry['norm_result']}")
            table = group(entry["set"], entry["medians_ms"], baseline=CGN, unit="ms", notes=notes)
        else:
            medians_ms = {k: v * 1e3 for k, v in entry["medians"].items()}
            notes = [
                f"step's cost of '{algo}' clipping / the dispatch alone: {ratio:.3f} "
                f"(target <= 1.1)"
                for algo, ratio in entry["added_over_dispatch"].items()
            ]
            table = group(
                entry["set"], medians_ms, baseline="step, no clipping", unit="ms", notes=notes
            )
        payload["groups"].append(table)
        if args.json:
            write_json(args.json, payload)

    plans: list[tuple[str, str, torch.dtype, Callable[[], Case]]] = []
    for kind, shapes in (("resnet", resnet50_shapes), ("transformer", transformer_shapes)):
        if kind in sets:
            label = "ResNet-50-like" if kind == "resnet" else "transformer-like"
            for dtype in dtypes:
                name = f"{label} {str(dtype).removeprefix('torch.')}"
                plans.append(
                    (
                        name,
                        kind,
                        dtype,
                        lambda s=shapes, n=name, d=dtype: shaped_case(n, s(), d, args.device),
                    )
                )
    if "random" in sets:
        for n in (1000,) if args.quick else (1000, 10_000):
            name = f"{n:,} random small float32 tensors"
            plans.append(
                (
                    name,
                    "random",
                    torch.float32,
                    lambda n=n, nm=name: shaped_case(
                        nm, random_shapes(n), torch.float32, args.device
                    ),
                )
            )
    if "generator" in sets:
        for name, make_case in (
            ("FNO generator (default hybrid)", generator_case),
            ("FNO stand-in ~32 M", stand_in_case),
        ):
            plans.append((name, "generator", torch.complex64, lambda m=make_case: m(args.device)))

    all_met = True
    for name, kind, dtype, make in plans:
        entry = report_set(name, kind, dtype, make(), reps, timer)
        all_met &= all(t["met"] for t in entry["targets"])
        record(entry)

    if "step" in sets:
        for name, shapes in (
            ("ResNet-50-like float32", resnet50_shapes()),
            ("1,000 random small float32 tensors", random_shapes(1000)),
        ):
            case = shaped_case(name, shapes, torch.float32, args.device)
            out = step_report(case, 2 * reps, timer)
            print(f"\ntraining_step on {name}: {case.summary}")
            for arm, seconds in out["medians"].items():
                print(f"  {arm:<32} {seconds * 1e3:9.2f} ms")
            for algo, ratio in out["added_over_dispatch"].items():
                met = ratio <= 1.1
                all_met &= met
                print(
                    f"  target step cost of '{algo}' clipping <= 1.1 x the dispatch alone: "
                    f"{ratio:.3f} -> {'met' if met else 'NOT met'}"
                )
            record({"set": f"training_step, {name}", **out})

    finish(payload)
    load = os.getloadavg()
    if args.json:
        write_json(args.json, payload)
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("every target met" if all_met else "some targets NOT met")
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
