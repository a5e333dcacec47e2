"""impl.training_step under DDP and FSDP2 with gradient accumulation (TRN-009).

Two gloo ranks (forked by ``run_ranks``), each passing its half of every micro-batch of
the same global batch: the step must equal the single-process step on the whole batch
(parameters after the step, the clipping statistics), with one gradient reduction per
step — DDP's all-reduce counted by a comm hook, FSDP2's reduce-scatters by
``CommDebugMode`` — whatever ``accumulate_grad_batches`` is.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
import torch
from torch import nn

import impl
import spec
from conformance.properties.agc.sharded import run_ranks
from impl.distributed import fsdp2_problem, gradient_sync_off, syncs_gradients

pytestmark = [
    pytest.mark.skipif(
        not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
        reason="torch.distributed with gloo is not available",
    ),
    pytest.mark.skipif(sys.platform == "win32", reason="the rank processes are forked"),
]

MODEL = spec.ModelConfig(architecture="stable_hybrid", N=8, fno_width=4, fno_blocks=2, fno_modes=2)
CASES = {  # name: (accumulate_grad_batches, algorithm, value)
    "agc_k3": (3, "agc", 0.01),
    "norm_k2": (2, "norm", 0.05),
    "none_k3": (3, "norm", None),
    "agc_k1": (1, "agc", 0.01),
}
GLOBAL_BATCH = 4


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = impl.build_generator(MODEL)
    for p in model.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    return model


def _batches(k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(1)
    shape = (GLOBAL_BATCH, MODEL.C, MODEL.N, MODEL.N)
    return [
        (torch.randn(shape), torch.randn(GLOBAL_BATCH, MODEL.N, MODEL.N, MODEL.C, 2))
        for _ in range(k)
    ]


def _loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def _config(k: int, algorithm: str, value: float | None) -> spec.TorchTrainingConfig:
    return spec.TorchTrainingConfig(
        accumulate_grad_batches=k, gradient_clip_algorithm=algorithm, gradient_clip_val=value
    )


def _step(model: nn.Module, batches: list[Any], cfg: spec.TorchTrainingConfig) -> dict[str, Any]:
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    out = impl.training_step(model, opt, batches, _loss, cfg)
    return {
        "before": float(out.grad_norm_before),
        "after": float(out.grad_norm_after),
        "units": int(out.units_clipped),
        "loss": float(out.loss),
    }


def _share(batches: list[Any], rank: int, world: int) -> list[Any]:
    """This rank's half of every micro-batch (contiguous, in rank order)."""
    per = GLOBAL_BATCH // world
    return [
        (x[rank * per : (rank + 1) * per], y[rank * per : (rank + 1) * per]) for x, y in batches
    ]


def _ddp(rank: int, world: int) -> dict[str, Any]:
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    from torch.nn.parallel import DistributedDataParallel as DDP

    from impl.distributed import complex_broadcast_problem

    problem = complex_broadcast_problem()  # the model has complex (spectral) weights
    if problem is not None:
        return {"skip": problem}
    out: dict[str, Any] = {}
    for name, (k, algorithm, value) in CASES.items():
        model = DDP(_model())
        stats = _step(model, _share(_batches(k), rank, world), _config(k, algorithm, value))
        stats["params"] = [p.detach().clone() for p in model.module.parameters()]
        # Counted in a step of its own: under torch 2.9.1 a comm hook (even torch's default
        # all-reduce hook) changes DDP's reduction of complex gradients.
        model = DDP(_model())
        calls: list[int] = []

        def hook(state, bucket, calls=calls):  # type: ignore[no-untyped-def]  # DDP reads the annotations
            calls.append(1)
            return default_hooks.allreduce_hook(None, bucket)

        model.register_comm_hook(None, hook)
        _step(model, _share(_batches(k), rank, world), _config(k, algorithm, value))
        stats["reductions"] = len(calls)
        out[name] = stats
    return out


_REDUCE_SCATTERS = ("reduce_scatter_tensor", "reduce_scatter_single", "reduce_scatter")


def _fsdp(rank: int, world: int) -> dict[str, Any]:
    """FSDP2 calls torch.distributed.<reduce-scatter> by name (which one depends on the torch
    version): each is wrapped to count the calls."""
    import torch.distributed as dist

    from impl.distributed import fully_shard_model

    calls: list[str] = []
    for name in _REDUCE_SCATTERS:
        original = getattr(dist, name, None)
        if original is not None:

            def counted(*a: Any, _o: Any = original, _n: str = name, **k: Any) -> Any:
                calls.append(_n)
                return _o(*a, **k)

            setattr(dist, name, counted)
    out: dict[str, Any] = {}
    for case, (k, algorithm, value) in CASES.items():
        model = fully_shard_model(_model())
        calls.clear()
        stats = _step(model, _share(_batches(k), rank, world), _config(k, algorithm, value))
        stats["reductions"] = len(calls)
        stats["params"] = [impl._sharded.local(p).detach().clone() for p in model.parameters()]
        out[case] = stats
    return out


@pytest.fixture(scope="module")
def ddp() -> list[dict[str, Any]]:
    ranks = run_ranks(_ddp, 2, timeout=300.0)
    if "skip" in ranks[0]:
        pytest.skip(ranks[0]["skip"])
    return ranks


@pytest.fixture(scope="module")
def fsdp() -> list[dict[str, Any]]:
    problem = fsdp2_problem()
    if problem is not None:
        pytest.skip(problem)
    return run_ranks(_fsdp, 2, timeout=300.0)


def _single(name: str) -> tuple[dict[str, Any], list[torch.Tensor]]:
    k, algorithm, value = CASES[name]
    model = _model()
    stats = _step(model, _batches(k), _config(k, algorithm, value))
    return stats, [p.detach() for p in model.parameters()]


def _assert_same_step(
    got: dict[str, Any], want: dict[str, Any], params: list[torch.Tensor], shard: Any
) -> None:
    for a, b in zip(got["params"], params, strict=True):
        b = shard(b)
        assert a.shape == b.shape
        err = float((a - b).abs().max()) if a.numel() else 0.0
        assert err <= 2e-6 * max(1.0, float(b.abs().max())), err
    for key in ("before", "after"):
        assert math.isclose(got[key], want[key], rel_tol=2e-5), (key, got[key], want[key])
    assert got["units"] == want["units"]


@pytest.mark.parametrize("name", list(CASES))
def test_ddp_step_equals_the_single_process_step(ddp: list[dict[str, Any]], name: str) -> None:
    """TRN-009: DDP, each rank on half of each micro-batch: the parameters after the step and
    the clipping statistics are those of one process on the whole batch."""
    want, params = _single(name)
    for r in ddp:
        _assert_same_step(r[name], want, params, lambda t: t)
    # each rank reports the loss of its own half; their mean is the whole batch's
    assert math.isclose(sum(r[name]["loss"] for r in ddp) / len(ddp), want["loss"], rel_tol=1e-5)


def test_ddp_reduces_gradients_once_per_step(ddp: list[dict[str, Any]]) -> None:
    """TRN-009: with k micro-batches DDP all-reduces as often as with one (the first k-1
    run under no_sync): one reduction (per DDP bucket) per step."""
    for r in ddp:
        once = r["agc_k1"]["reductions"]
        assert once >= 1
        assert r["agc_k3"]["reductions"] == r["norm_k2"]["reductions"] == once


@pytest.mark.parametrize("name", list(CASES))
def test_fsdp_step_equals_the_single_process_step(fsdp: list[dict[str, Any]], name: str) -> None:
    """TRN-009 with FSDP2: the local shards after the step are the single-process parameters'."""
    want, params = _single(name)
    for rank, r in enumerate(fsdp):

        def shard(t: torch.Tensor, rank: int = rank) -> torch.Tensor:
            return torch.chunk(t, 2, dim=0)[rank] if t.shape[0] > rank else t[:0]

        _assert_same_step(r[name], want, params, shard)


def test_fsdp_reduce_scatters_once_per_step(fsdp: list[dict[str, Any]]) -> None:
    """TRN-009 with FSDP2: set_requires_gradient_sync(False) for the first k-1 micro-batches,
    so a step with k = 3 reduce-scatters as often as one with k = 1."""
    for r in fsdp:
        once = r["agc_k1"]["reductions"]
        assert once >= 1
        assert r["agc_k3"]["reductions"] == r["norm_k2"]["reductions"] == once


def test_gradient_sync_off_knows_the_wrappers() -> None:
    """A plain module has nothing to turn off: the context is a no-op for it."""
    plain = nn.Linear(2, 2)
    assert not syncs_gradients(plain)
    with gradient_sync_off(plain):
        pass

    class FakeFSDP(nn.Linear):
        def __init__(self) -> None:
            super().__init__(2, 2)
            self.log: list[bool] = []

        def set_requires_gradient_sync(self, value: bool) -> None:
            self.log.append(value)

    fake = FakeFSDP()
    assert syncs_gradients(fake)
    with pytest.raises(RuntimeError), gradient_sync_off(fake):
        raise RuntimeError("inside")
    assert fake.log == [False, True]  # set back even when the block raised
