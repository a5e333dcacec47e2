"""Forward+backward time of stable_hybrid vs hybrid at the default model size (same run).

    python benchmarks/bench_blocks.py [--batch 8] [--reps 9] [--warmup 2] [--threads 1]
                                      [--device cpu] [--json PATH]

(with the package installed, or from a checkout: ``PYTHONPATH=. python benchmarks/...``)

Builds each generator from ``spec.ModelConfig`` defaults (N=64, gridsize 2,
width 32, 4 blocks, 12 modes; spectral weights sized for N) with
``impl.build_generator``, then times ``loss = y.square().mean(); loss.backward()``
on one fixed batch. Repetitions of the arms are interleaved (A B C A B C ...)
so that load drifting on a shared machine hits every arm alike; the medians
are printed with the stable arms' overhead over hybrid (target: <= 15 %), and
the parameter counts (closed form, checked against the built model).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from benchjson import conditions, finish, group, new_payload, write_json

import impl
import spec
from impl.param_count import hybrid_parameter_count

ARMS: dict[str, dict[str, str]] = {
    "hybrid": {"architecture": "hybrid"},
    "stable_hybrid (zero_gamma)": {"architecture": "stable_hybrid", "stable_init": "zero_gamma"},
    "stable_hybrid (layerscale)": {"architecture": "stable_hybrid", "stable_init": "layerscale"},
}
TARGET_OVERHEAD = 0.15


def step(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Seconds for one forward + backward (gradients cleared first)."""
    model.zero_grad(set_to_none=True)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    model(x).square().mean().backward()
    sync()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="e.g. cuda (timings synchronise)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here (atomically)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    payload = new_payload(
        "bench_blocks",
        "Forward+backward of the stable generators against hybrid",
        conditions(reps=args.reps, threads=args.threads, device=args.device, batch=args.batch),
    )
    base = spec.ModelConfig()
    configs = {arm: base.model_copy(update=update) for arm, update in ARMS.items()}
    torch.manual_seed(0)
    models = {arm: impl.build_generator(cfg).to(args.device) for arm, cfg in configs.items()}
    x = torch.randn(args.batch, base.C, base.N, base.N, generator=torch.Generator().manual_seed(1))
    x = x.to(args.device)

    print(
        f"torch {torch.__version__} on {args.device}, {args.threads} thread(s), "
        f"batch {args.batch}, "
        f"N={base.N}, C={base.C}, width {base.fno_width}, {base.fno_blocks} blocks, "
        f"{base.fno_modes} modes; {args.reps} interleaved repetitions after {args.warmup} warm-up"
    )
    print("\nparameters (numel; a complex weight counts once) and float32 size:")
    for arm, cfg in configs.items():
        count = impl.count_parameters(cfg)
        real = impl.count_parameters(cfg, real_scalars=True)
        built = sum(p.numel() for p in models[arm].parameters())
        assert built == count, (arm, built, count)
        print(f"  {arm:28s} {count:>12,d}   {real * 4 / 2**20:8.1f} MiB")
    for blocks, n in ((4, None), (8, None), (8, 128)):
        count = hybrid_parameter_count(n_blocks=blocks, input_size=n)
        sized = "weights for every mode" if n is None else f"sized for N={n}"
        print(f"  hybrid, {blocks} blocks, {sized}: {count:,d}")

    times: dict[str, list[float]] = {arm: [] for arm in models}
    for _ in range(args.warmup):
        for model in models.values():
            step(model, x)
    for _ in range(args.reps):
        for arm, model in models.items():
            times[arm].append(step(model, x))

    print("\nforward+backward, seconds per batch:")
    reference = statistics.median(times["hybrid"])
    notes = []
    for arm, samples in times.items():
        median = statistics.median(samples)
        spread = f"min {min(samples):.3f}, max {max(samples):.3f}"
        line = f"  {arm:28s} median {median:.3f} s ({spread})"
        if arm != "hybrid":
            overhead = median / reference - 1
            verdict = "ok" if overhead <= TARGET_OVERHEAD else "OVER TARGET"
            line += f"   ratio {median / reference:.3f} -> overhead {overhead:+.1%} ({verdict})"
            notes.append(f"{arm}: overhead {overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%})")
        print(line)
    print(f"target: stable_hybrid overhead <= {TARGET_OVERHEAD:.0%} over hybrid")
    medians = {arm: statistics.median(samples) for arm, samples in times.items()}
    name = (
        f"forward+backward, batch {args.batch}, N={base.N}, width {base.fno_width}, "
        f"{base.fno_blocks} blocks"
    )
    payload["groups"].append(group(name, medians, baseline="hybrid", unit="s", notes=notes))
    finish(payload)
    if args.json:
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
