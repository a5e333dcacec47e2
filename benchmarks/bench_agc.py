"""AGC speed against torch's clip_grad_norm_ and against a plain per-parameter loop (same run).

    python benchmarks/bench_agc.py [--reps 7] [--threads 1] [--device cpu] [--quick]

(with the package installed, or from a checkout: ``PYTHONPATH=. python benchmarks/...``)

Three cases, each timing its arms interleaved (A B A B ...) so that load drifting
on a shared machine hits every arm alike, and printing medians and ratios:

1. ``generator``: the parameters of the default hybrid generator
   (``impl.build_generator(spec.ModelConfig())``: 50 tensors, complex64 spectral
   weights with unit axis 1 declared by ``SpectralConv2d.AGC_UNIT_DIMS``).
   ``impl.adaptive_gradient_clip_(model)`` vs
   ``torch.nn.utils.clip_grad_norm_(foreach=True)``. Target: AGC <= 1.5 x.
2. ``stand-in 32M``: a larger stand-in of the same kinds of tensors (~32 M
   parameters, 50 tensors, complex64 spectral weights (c, c, 12, 12) for
   c = 32..256 with unit axis 1, convs, transposed convs with unit axis 1,
   biases). Same arms and target, plus the per-parameter loop for information.
3. ``1000 x (8, 4)``: 1,000 small float32 tensors. AGC vs a plain per-parameter
   loop written the way most public AGCs are (per-tensor norms, a Python ``if``
   on a tensor per parameter). Target: AGC >= 2 x faster.

Gradients are restored from a saved copy before every timed call (outside the
timing), so each call sees the same values; ``--device cuda`` synchronises
around each call.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

import impl
import spec

Arm = Callable[[], object]
LEVELS = ((32, 12), (64, 12), (128, 12), (256, 12), (256, 6))
"""Stand-in levels: (channels, modes); the last is the bottleneck with modes // 2."""


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


class Case:
    """Parameters with gradients, restorable to their first values."""

    def __init__(self, name: str, params: list[torch.Tensor], module: nn.Module | None) -> None:
        self.name = name
        self.params = params
        self.module = module
        self.saved = [p.grad.clone() for p in params if p.grad is not None]

    def restore(self) -> None:
        with torch.no_grad():
            for p, g in zip(
                (p for p in self.params if p.grad is not None), self.saved, strict=True
            ):
                assert p.grad is not None
                p.grad.copy_(g)

    @property
    def summary(self) -> str:
        count = sum(p.numel() for p in self.params)
        complex_ = sum(p.numel() for p in self.params if p.is_complex())
        return (
            f"{len(self.params)} tensors, {count / 1e6:.2f} M parameters "
            f"({complex_ / 1e6:.2f} M complex)"
        )


def _with_grads(params: list[torch.Tensor], gen: torch.Generator) -> None:
    for p in params:
        noise = torch.randn(p.shape, generator=gen, dtype=p.dtype, device="cpu")
        p.grad = (noise * 0.05).to(p.device)


def generator_case(device: str) -> Case:
    torch.manual_seed(0)
    model = impl.build_generator(spec.ModelConfig()).to(device)
    params = list(model.parameters())
    _with_grads(params, torch.Generator().manual_seed(1))
    return Case("generator (default hybrid)", params, model)


class _Spectral(nn.Module):
    AGC_UNIT_DIMS: ClassVar[dict[str, int]] = {"weight": 1}  # (in, out, m, m): outputs on dim 1

    def __init__(self, c: int, m: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(c, c, m, m, dtype=torch.complex64))


class _StandIn(nn.Module):
    """Tensors shaped like a deeper hybrid generator's: 54 tensors, ~32 M parameters."""

    def __init__(self, levels: tuple[tuple[int, int], ...] = LEVELS) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for c, m in levels:  # per level: two spectral weights, a 3x3 conv, a 1x1 conv, a norm
            self.blocks.append(
                nn.ModuleList(
                    [_Spectral(c, m), _Spectral(c, m), nn.Conv2d(c, c, 3), nn.Conv2d(c, c, 1)]
                )
            )
            self.blocks.append(nn.InstanceNorm2d(c, affine=True))
        widths = [c for c, _ in levels[:-1]]
        self.down = nn.ModuleList(
            nn.Conv2d(a, b, 2, stride=2) for a, b in itertools.pairwise(widths)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in itertools.pairwise(widths)
        )
        self.head = nn.Conv2d(widths[0], 8, 1)


def stand_in_case(device: str) -> Case:
    torch.manual_seed(0)
    model = _StandIn().to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype) * 0.02)
    params = list(model.parameters())
    _with_grads(params, torch.Generator().manual_seed(1))
    return Case("stand-in ~32M", params, model)


def small_case(device: str, n: int = 1000) -> Case:
    gen = torch.Generator().manual_seed(0)
    params: list[torch.Tensor] = [
        nn.Parameter(torch.randn(8, 4, generator=gen).to(device)) for _ in range(n)
    ]
    _with_grads(params, gen)
    return Case(f"{n} x (8, 4)", params, None)


def time_arms(case: Case, arms: dict[str, Arm], reps: int, device: str) -> dict[str, float]:
    """Median seconds per arm; arms interleaved; one untimed warm-up call each."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times: dict[str, list[float]] = {name: [] for name in arms}
    for rep in range(reps + 1):
        for name, arm in arms.items():
            case.restore()
            sync()
            start = time.perf_counter()
            arm()
            sync()
            if rep:  # rep 0 is the warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(case: Case, medians: dict[str, float], base: str, target: str, ok: bool) -> None:
    print(f"\n{case.name}: {case.summary}")
    for name, seconds in medians.items():
        ratio = seconds / medians[base]
        print(f"  {name:<44} {seconds * 1e3:9.2f} ms   {ratio:5.2f} x {base}")
    print(f"  target: {target} -> {'met' if ok else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="e.g. cuda (timings synchronise)")
    parser.add_argument("--quick", action="store_true", help="skip the 32M stand-in")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), "
        f"medians of {args.reps} interleaved repetitions"
    )
    lam, eps = 0.01, 1e-3
    all_met = True

    big_cases = [generator_case(args.device)]
    if not args.quick:
        big_cases.append(stand_in_case(args.device))
    for case in big_cases:
        assert case.module is not None
        module, params = case.module, case.params
        arms: dict[str, Arm] = {
            "clip_grad_norm_(foreach=True)": lambda p=params: torch.nn.utils.clip_grad_norm_(
                p, 1.0, foreach=True
            ),
            "impl.adaptive_gradient_clip_(module)": lambda m=module: impl.adaptive_gradient_clip_(
                m, lam, eps
            ),
        }
        arms["impl.clip_gradients_(p, 'norm') (for information)"] = lambda p=params: (
            impl.clip_gradients_(p, "norm", 1.0)
        )
        if case.name.startswith("stand-in"):
            arms["per-parameter loop (for information)"] = lambda p=params: per_parameter_agc(
                p, lam, eps
            )
        medians = time_arms(case, arms, max(3, args.reps // 2 + 1), args.device)
        base = "clip_grad_norm_(foreach=True)"
        ratio = medians["impl.adaptive_gradient_clip_(module)"] / medians[base]
        met = ratio <= 1.5
        all_met &= met
        report(case, medians, base, f"AGC <= 1.5 x clip_grad_norm_ (is {ratio:.2f} x)", met)

    small = small_case(args.device)
    arms = {
        "per-parameter loop": lambda: per_parameter_agc(small.params, lam, eps),
        "impl.adaptive_gradient_clip_": lambda: impl.adaptive_gradient_clip_(
            small.params, lam, eps
        ),
        "clip_grad_norm_(foreach=True) (for information)": lambda: torch.nn.utils.clip_grad_norm_(
            small.params, 1.0, foreach=True
        ),
    }
    medians = time_arms(small, arms, args.reps * 3, args.device)
    speedup = medians["per-parameter loop"] / medians["impl.adaptive_gradient_clip_"]
    met = speedup >= 2.0
    all_met &= met
    report(small, medians, "per-parameter loop", f"AGC >= 2 x faster (is {speedup:.2f} x)", met)
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
