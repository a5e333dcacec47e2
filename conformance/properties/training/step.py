"""Properties of the training-step clauses (TRN-001 to TRN-007), against the ``train_step`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("training.step"))[:2]
['TRN-001', 'TRN-002']

The ``train_step`` role's canonical call is ``targets.train_step(model,
optimizer, micro_batches, loss_fn, config, scaler=None)``: one step over
exactly ``config.accumulate_grad_batches`` micro-batches, ``loss_fn(model,
batch)`` returning a scalar loss; the result has ``loss``,
``grad_norm_before`` and ``grad_norm_after`` (numbers or 0-dim tensors).
The act runs the target's step in the worker and sends back the parameters after it
and the step's statistics; the judge computes the expected update with plain autograd,
SGD arithmetic, torch's clip functions and :func:`spec.reference.agc_reference` on its
own copy of the same model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.framework import Targets, attempt, conformance_property
from conformance.properties._assertions import assert_close, brief
from conformance.properties._numeric import as64
from conformance.properties.agc.sync import count_host_reads
from conformance.strategies.training import TrainCase, train_cases
from spec.reference import agc_reference

_LR = 0.5
_SCALE = 2.0**12
_EXAMPLES = 25


def _sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=_LR)


def _scaler() -> Any:
    return torch.amp.GradScaler("cpu", init_scale=_SCALE, growth_interval=1_000_000)


def _stats(out: Any) -> dict[str, Any]:
    """The step result's statistics as numbers (what could not be read, as the error)."""
    stats: dict[str, Any] = {}
    for name in ("loss", "grad_norm_before", "grad_norm_after"):
        got = attempt(lambda n=name: _number(getattr(out, n)))
        stats[name] = got.value if got.ok else got.raised
    return stats


def _run(targets: Targets, case: TrainCase, *, scaler: Any = None, **config: Any) -> dict[str, Any]:
    """Act helper: one step of the target on the case; parameters after it and its statistics."""
    model = case.model()
    out = targets.train_step(
        model, _sgd(model), case.micro_batches(), case.loss_fn, case.config(**config), scaler=scaler
    )
    return {"params": [p.detach().clone() for p in model.parameters()], "stats": _stats(out)}


def _expected(case: TrainCase) -> tuple[list[torch.Tensor], float, float, float]:
    """(parameters after the step, mean loss, grad norm before, grad norm after) by hand."""
    model = case.model()
    params = list(model.parameters())
    losses = []
    for batch in case.micro_batches():
        loss = case.loss_fn(model, batch)
        (loss / case.accumulate).backward()
        losses.append(float(loss.detach()))
    grads = [p.grad for p in params if p.grad is not None]
    before = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    value = case.value
    if value is not None and value > 0:
        if case.algorithm == "norm":
            torch.nn.utils.clip_grad_norm_(params, max_norm=value)
        elif case.algorithm == "value":
            torch.nn.utils.clip_grad_value_(params, clip_value=value)
        else:
            new, _ = agc_reference([as64(p) for p in params], [as64(g) for g in grads], value, 1e-3)
            for p, n in zip(params, new, strict=True):
                assert p.grad is not None and n is not None
                p.grad.copy_(torch.from_numpy(n))
    after = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    with torch.no_grad():
        final = [p - _LR * p.grad if p.grad is not None else p.clone() for p in params]
    return [t.detach() for t in final], sum(losses) / len(losses), before, after


def _same(got: list[Any], want: list[torch.Tensor], rtol: float, what: str, ex: object) -> None:
    """Each parameter within ``rtol`` of the expected one (relative, and as absolute slack)."""
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        x, y = as64(a), as64(b)
        assert_close(x, y, rtol * np.abs(y) + rtol, f"{what}: parameter {k}", ex)


def _number(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def _stat(seen: dict[str, Any], name: str) -> float:
    value = seen["stats"][name]
    if not isinstance(value, float):
        raise AssertionError(f"the step result's {name} could not be read as a number: {value!r}")
    return value


def _act_scaler(targets: Targets, case: TrainCase) -> dict[str, Any]:
    return {"plain": _run(targets, case), "scaled": _run(targets, case, scaler=_scaler())}


@conformance_property(
    "TRN-001",
    roles=("train_step",),
    strategy=train_cases(dtype="float32", clipping=True),
    max_examples=_EXAMPLES,
    act=_act_scaler,
)
def unscale_before_clip(case: TrainCase, seen: dict[str, Any]) -> None:
    """With a GradScaler (scale 2**12) the step updates parameters as without one."""
    _same(
        seen["scaled"]["params"],
        seen["plain"]["params"],
        1e-5,
        "step with GradScaler vs without",
        case,
    )


def _act_big_batch(targets: Targets, case: TrainCase) -> dict[str, Any]:
    small = _run(targets, case)
    big_batch = tuple(torch.cat(parts) for parts in zip(*case.micro_batches(), strict=True))
    model = case.model()
    out = targets.train_step(
        model, _sgd(model), [big_batch], case.loss_fn, case.config(accumulate_grad_batches=1)
    )
    big = {"params": [p.detach().clone() for p in model.parameters()], "stats": _stats(out)}
    return {"small": small, "big": big}


@conformance_property(
    "TRN-002",
    roles=("train_step",),
    strategy=train_cases(min_accumulate=2),
    max_examples=_EXAMPLES,
    act=_act_big_batch,
)
def accumulation_equals_big_batch(case: TrainCase, seen: dict[str, Any]) -> None:
    """k micro-batches update as one step on their concatenation with accumulate_grad_batches=1."""
    small, big = seen["small"], seen["big"]
    what = f"{case.accumulate} micro-batches vs one batch"
    _same(small["params"], big["params"], 1e-9, what, case)


@conformance_property(
    "TRN-005",
    roles=("train_step",),
    strategy=train_cases(min_accumulate=2),
    max_examples=_EXAMPLES,
    act=_act_big_batch,
)
def loss_under_accumulation(case: TrainCase, seen: dict[str, Any]) -> None:
    """With accumulation the reported loss is that of one step over the concatenated batch."""
    a, b = _stat(seen["small"], "loss"), _stat(seen["big"], "loss")
    if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"reported loss {a!r} with accumulation, {b!r} without; {case!r}")


def _act_cleared(targets: Targets, case: TrainCase) -> dict[str, Any]:
    model = case.model()
    targets.train_step(model, _sgd(model), case.micro_batches(), case.loss_fn, case.config())
    return {"grads": {name: p.grad for name, p in model.named_parameters()}}


@conformance_property(
    "TRN-003",
    roles=("train_step",),
    strategy=train_cases(),
    max_examples=_EXAMPLES,
    act=_act_cleared,
)
def grads_cleared(case: TrainCase, seen: dict[str, Any]) -> None:
    """After the step no parameter holds a non-zero gradient."""
    for name, grad in seen["grads"].items():
        if grad is not None and bool(grad.any()):
            raise AssertionError(f"{name}.grad is {brief(as64(grad))} after the step; {case!r}")


def _act_step(targets: Targets, case: TrainCase) -> dict[str, Any]:
    return _run(targets, case)


@conformance_property(
    "TRN-004",
    roles=("train_step",),
    strategy=train_cases(),
    max_examples=_EXAMPLES,
    act=_act_step,
)
def clipping_follows_config(case: TrainCase, seen: dict[str, Any]) -> None:
    """The SGD update equals -lr times the gradients clipped as the config says."""
    want, _, _, _ = _expected(case)
    _same(seen["params"], want, 1e-8, f"{case.algorithm} {case.value!r} step", case)


@conformance_property(
    "TRN-005",
    roles=("train_step",),
    strategy=train_cases(),
    max_examples=_EXAMPLES,
    act=_act_step,
)
def statistics_reported(case: TrainCase, seen: dict[str, Any]) -> None:
    """loss, grad_norm_before and grad_norm_after equal the hand-computed values."""
    _, loss, before, after = _expected(case)
    for name, want in (("loss", loss), ("grad_norm_before", before), ("grad_norm_after", after)):
        got = _stat(seen, name)
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            raise AssertionError(f"{name} is {got!r}, expected {want!r}; case {case!r}")


def _wrong_count(example: tuple[TrainCase, int]) -> list[Any]:
    case, delta = example
    return case.with_(accumulate=case.accumulate + 1).micro_batches()[: case.accumulate + delta]


def _act_wrong_count(targets: Targets, example: tuple[TrainCase, int]) -> dict[str, Any]:
    case, _ = example
    batches = _wrong_count(example)
    model = case.model()
    got = attempt(targets.train_step, model, _sgd(model), batches, case.loss_fn, case.config())
    return {"raised": got.raised, "params": [p.detach().clone() for p in model.parameters()]}


@conformance_property(
    "TRN-006",
    roles=("train_step",),
    strategy=st.tuples(train_cases(), st.sampled_from([1, -1])),
    max_examples=_EXAMPLES,
    act=_act_wrong_count,
)
def wrong_batch_count_rejected(example: tuple[TrainCase, int], seen: dict[str, Any]) -> None:
    """Passing k +- 1 micro-batches raises ValueError naming accumulate_grad_batches."""
    case, _ = example
    info = seen["raised"]
    if info is None:
        raise AssertionError(
            f"{len(_wrong_count(example))} micro-batches accepted with accumulate_grad_batches="
            f"{case.accumulate}; case {example!r}"
        )
    if not info.is_a("ValueError"):
        raise AssertionError(f"a wrong micro-batch count raised {info.name}: {info.message}")
    if "accumulate_grad_batches" not in info.message:
        raise AssertionError(f"the error does not name accumulate_grad_batches: {info.message}")
    before = [p.detach() for p in case.model().parameters()]
    _same(seen["params"], before, 0.0, "after the error", example)


def _act_poisoned(targets: Targets, case: TrainCase) -> dict[str, Any]:
    scaler = _scaler()
    seen = _run(targets, case, scaler=scaler)
    return {**seen, "scale": float(scaler.get_scale())}


@conformance_property(
    "TRN-007",
    roles=("train_step",),
    strategy=train_cases(dtype="float32", clipping=True).map(lambda c: c.with_(poison=True)),
    max_examples=_EXAMPLES,
    act=_act_poisoned,
)
def overflow_step_skipped(case: TrainCase, seen: dict[str, Any]) -> None:
    """With a GradScaler, inf/NaN gradients leave every parameter unchanged, whatever clipping,
    and the scaler's scale backs off (the step calls ``scaler.update()``)."""
    before = [p.detach().clone() for p in case.model().parameters()]
    for k, (a, b) in enumerate(zip(seen["params"], before, strict=True)):
        what = f"parameter {k}, changed in a step with non-finite gradients"
        assert_close(as64(a), as64(b), 0.0, what, case)
    if not seen["scale"] < _SCALE:
        raise AssertionError(
            f"the scaler's scale is {seen['scale']:g} after a step with non-finite gradients "
            f"(it started at {_SCALE:g}): the step did not call scaler.update(), so the next "
            f"step overflows again; case {case!r}"
        )


def _act_sync(targets: Targets, case: TrainCase) -> dict[str, Any]:
    model = case.model()
    optimizer = _sgd(model)
    batches = case.micro_batches()
    out, reads = count_host_reads(
        lambda: targets.train_step(model, optimizer, batches, case.loss_fn, case.config())
    )
    kinds = {n: type(getattr(out, n, None)).__name__ for n in ("loss", "grad_norm_before")}
    return {"reads": reads, "kinds": kinds}


@conformance_property(
    "TRN-008", roles=("train_step",), strategy=train_cases(), max_examples=5, act=_act_sync
)
def no_host_sync(case: TrainCase, seen: dict[str, Any]) -> None:
    """Without a GradScaler the step reads no tensor on the host; its statistics are tensors."""
    if seen["reads"]:
        counts = {n: seen["reads"].count(n) for n in dict.fromkeys(seen["reads"])}
        raise AssertionError(f"the step read tensors on the host: {counts}; case {case!r}")
    wrong = {k: v for k, v in seen["kinds"].items() if v != "Tensor"}
    assert not wrong, f"statistics returned as {wrong}, not tensors (a host read each)"
