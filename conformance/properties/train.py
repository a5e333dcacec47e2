"""Properties of the training-step clauses (TRN-001 to TRN-007), against the ``train_step`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("train."))[:2]
['TRN-001', 'TRN-002']

The ``train_step`` role's canonical call is ``targets.train_step(model,
optimizer, micro_batches, loss_fn, config, scaler=None)``: one step over
exactly ``config.accumulate_grad_batches`` micro-batches, ``loss_fn(model,
batch)`` returning a scalar loss; the result has ``loss``,
``grad_norm_before`` and ``grad_norm_after`` (numbers or 0-dim tensors).
Expected updates are computed here with plain autograd, SGD arithmetic,
torch's clip functions and :func:`spec.reference.agc_reference`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.properties import Targets, conformance_property
from conformance.properties._numeric import as64
from conformance.strategies.training import TrainCase, train_cases
from spec.reference import agc_reference

_LR = 0.5
_SCALE = 2.0**12
_EXAMPLES = 25


def _sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=_LR)


def _scaler() -> Any:
    return torch.amp.GradScaler("cpu", init_scale=_SCALE, growth_interval=1_000_000)


def _run(
    targets: Targets, case: TrainCase, *, scaler: Any = None, **config: Any
) -> tuple[list[torch.Tensor], Any]:
    model = case.model()
    result = targets.train_step(
        model, _sgd(model), case.micro_batches(), case.loss_fn, case.config(**config), scaler=scaler
    )
    return [p.detach().clone() for p in model.parameters()], result


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


def _same(
    got: list[torch.Tensor], want: list[torch.Tensor], rtol: float, what: str, ex: object
) -> None:
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        x, y = as64(a), as64(b)
        if not np.allclose(x, y, rtol=rtol, atol=rtol):
            raise AssertionError(
                f"{what}: parameter {k} is {x.tolist()!r}, expected {y.tolist()!r}; case {ex!r}"
            )


def _number(value: Any) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


@conformance_property(
    "TRN-001",
    roles=("train_step",),
    strategy=train_cases(dtype="float32", clipping=True),
    max_examples=_EXAMPLES,
)
def unscale_before_clip(targets: Targets, case: TrainCase) -> None:
    """With a GradScaler (scale 2**12) the step updates parameters as without one."""
    plain, _ = _run(targets, case)
    scaled, _ = _run(targets, case, scaler=_scaler())
    _same(scaled, plain, 1e-5, "step with GradScaler vs without", case)


@conformance_property(
    "TRN-002",
    roles=("train_step",),
    strategy=train_cases(min_accumulate=2),
    max_examples=_EXAMPLES,
)
def accumulation_equals_big_batch(targets: Targets, case: TrainCase) -> None:
    """k micro-batches equal one step on their concatenation with accumulate_grad_batches=1."""
    small, small_out = _run(targets, case)
    big_batch = tuple(torch.cat(parts) for parts in zip(*case.micro_batches(), strict=True))
    model = case.model()
    big_out = targets.train_step(
        model, _sgd(model), [big_batch], case.loss_fn, case.config(accumulate_grad_batches=1)
    )
    big = [p.detach().clone() for p in model.parameters()]
    _same(small, big, 1e-9, f"{case.accumulate} micro-batches vs one batch", case)
    a, b = _number(small_out.loss), _number(big_out.loss)
    if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"reported loss {a!r} with accumulation, {b!r} without; {case!r}")


@conformance_property(
    "TRN-003", roles=("train_step",), strategy=train_cases(), max_examples=_EXAMPLES
)
def grads_cleared(targets: Targets, case: TrainCase) -> None:
    """After the step no parameter holds a non-zero gradient."""
    model = case.model()
    targets.train_step(model, _sgd(model), case.micro_batches(), case.loss_fn, case.config())
    for name, p in model.named_parameters():
        if p.grad is not None and bool(p.grad.any()):
            raise AssertionError(f"{name}.grad is {p.grad.tolist()!r} after the step; {case!r}")


@conformance_property(
    "TRN-004", roles=("train_step",), strategy=train_cases(), max_examples=_EXAMPLES
)
def clipping_follows_config(targets: Targets, case: TrainCase) -> None:
    """The SGD update equals -lr times the gradients clipped as the config says."""
    got, _ = _run(targets, case)
    want, _, _, _ = _expected(case)
    _same(got, want, 1e-8, f"{case.algorithm} {case.value!r} step", case)


@conformance_property(
    "TRN-005", roles=("train_step",), strategy=train_cases(), max_examples=_EXAMPLES
)
def statistics_reported(targets: Targets, case: TrainCase) -> None:
    """loss, grad_norm_before and grad_norm_after equal the hand-computed values."""
    _, out = _run(targets, case)
    _, loss, before, after = _expected(case)
    for name, want in (("loss", loss), ("grad_norm_before", before), ("grad_norm_after", after)):
        got = _number(getattr(out, name))
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            raise AssertionError(f"{name} is {got!r}, expected {want!r}; case {case!r}")


@conformance_property(
    "TRN-006",
    roles=("train_step",),
    strategy=st.tuples(train_cases(), st.sampled_from([1, -1])),
    max_examples=_EXAMPLES,
)
def wrong_batch_count_rejected(targets: Targets, example: tuple[TrainCase, int]) -> None:
    """Passing k +- 1 micro-batches raises ValueError naming accumulate_grad_batches."""
    case, delta = example
    batches = case.with_(accumulate=case.accumulate + 1).micro_batches()[: case.accumulate + delta]
    model = case.model()
    before = [p.detach().clone() for p in model.parameters()]
    try:
        targets.train_step(model, _sgd(model), batches, case.loss_fn, case.config())
    except ValueError as err:
        if "accumulate_grad_batches" not in str(err):
            raise AssertionError(
                f"the error does not name accumulate_grad_batches: {err}"
            ) from None
    else:
        raise AssertionError(
            f"{len(batches)} micro-batches accepted with accumulate_grad_batches="
            f"{case.accumulate}; case {example!r}"
        )
    _same([p.detach() for p in model.parameters()], before, 0.0, "after the error", example)


@conformance_property(
    "TRN-007",
    roles=("train_step",),
    strategy=train_cases(dtype="float32", clipping=True).map(lambda c: c.with_(poison=True)),
    max_examples=_EXAMPLES,
)
def overflow_step_skipped(targets: Targets, case: TrainCase) -> None:
    """With a GradScaler, inf/NaN gradients leave every parameter unchanged, whatever clipping."""
    before = [p.detach().clone() for p in case.model().parameters()]
    after, _ = _run(targets, case, scaler=_scaler())
    for k, (a, b) in enumerate(zip(after, before, strict=True)):
        if not torch.equal(a, b):
            raise AssertionError(
                f"parameter {k} changed in a step with non-finite gradients: {b.tolist()!r} -> "
                f"{a.tolist()!r}; case {case!r}"
            )
