"""Properties of what an AGC call accepts (AGC-013, AGC-014, AGC-018 to AGC-020, AGC-034,
AGC-037): parameters without gradient, containers, single tensors, non-contiguous views, bad
arguments, sparse gradients, the plan's defaults.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.home.endswith("agc.inputs")})
['AGC-013', 'AGC-014', 'AGC-018', 'AGC-019', 'AGC-020', 'AGC-034', 'AGC-037']

Where the clause expects an exception, the act records it with
:func:`~conformance.framework.attempt` and the judge checks its type and message.
"""

from __future__ import annotations

from typing import Any

import torch

from conformance.domain import Domain
from conformance.framework import Targets, attempt, conformance_property
from conformance.properties._assertions import assert_bitwise, assert_close
from conformance.properties._numeric import as64, slack
from conformance.properties.agc._acts import act_once, call_agc
from conformance.properties.agc._cases import real
from conformance.properties.agc._seen import grad_after
from conformance.strategies.tensors import AGCCase, BadAGCArgument, ParamCase, bad_agc_arguments
from spec.vocabulary import FULL_DTYPES

__all__: list[str] = []


@conformance_property("AGC-013", roles=("agc",), strategy=real(), act=act_once)
def none_grads_skipped(case: AGCCase, seen: dict[str, Any]) -> None:
    """Parameters without gradient raise nothing and keep .grad None."""
    for k, (p, facts) in enumerate(zip(case.params, seen["params"], strict=True)):
        if not p.has_grad and facts["grad"] is not None:
            raise AssertionError(f"param {k}: .grad was None and became a tensor; case {case!r}")


# --- AGC-014, AGC-034: containers and single tensors -----------------------------------------

CONTAINERS = ("tuple", "generator")
"""The containers compared with a list (AGC-014)."""


def _act_containers(targets: Targets, case: AGCCase) -> dict[str, Any]:
    ref = case.make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    runs: dict[str, Any] = {"list": [p.grad for p in ref]}
    for how in CONTAINERS:
        params = case.make_params()
        wrapped = tuple(params) if how == "tuple" else (p for p in params)
        targets.agc(wrapped, clip_factor=case.clip_factor, eps=case.eps)
        runs[how] = [p.grad for p in params]
    return runs


def _agree(case: AGCCase, seen: dict[str, Any]) -> None:
    ref = seen.pop("list")
    for how, grads in seen.items():
        for k, (p, a, b) in enumerate(zip(case.params, ref, grads, strict=True)):
            if not p.has_grad:
                continue
            want, got = as64(grad_after({"grad": a})), as64(grad_after({"grad": b}))
            assert_close(got, want, slack(want, want, p.torch_dtype), f"{how}: param {k}", case)


@conformance_property(
    "AGC-014", roles=("agc",), strategy=real(containers=("list",)), act=_act_containers
)
def containers_agree(case: AGCCase, seen: dict[str, Any]) -> None:
    """A list, a tuple and a one-shot generator of the same parameters give one result."""
    _agree(case, seen)


def _act_single(targets: Targets, case: AGCCase) -> dict[str, Any]:
    ref = case.make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    singles = case.make_params()
    for p in singles:
        targets.agc(p, clip_factor=case.clip_factor, eps=case.eps)
    return {"list": [p.grad for p in ref], "single tensors": [p.grad for p in singles]}


@conformance_property(
    "AGC-034", roles=("agc",), strategy=real(containers=("list",)), act=_act_single
)
def single_tensor(case: AGCCase, seen: dict[str, Any]) -> None:
    """Each parameter passed alone as a tensor gives the result of a one-element list."""
    _agree(case, seen)


# --- AGC-018: non-contiguous gradients ------------------------------------------------------


def _contiguous(case: AGCCase) -> AGCCase:
    return case.with_params(
        [p.with_values(p.weight_tensor(), p.grad_values()) for p in case.params]
    )


def _act_layouts(targets: Targets, case: AGCCase) -> dict[str, Any]:
    seen = call_agc(targets.agc, case)
    ref = _contiguous(case).make_params()
    targets.agc(list(ref), clip_factor=case.clip_factor, eps=case.eps)
    return {**seen, "contiguous": [p.grad for p in ref]}


@conformance_property(
    "AGC-018",
    roles=("agc",),
    strategy=real(layouts=("transposed", "strided")),
    act=_act_layouts,
)
def noncontiguous_like_contiguous(case: AGCCase, seen: dict[str, Any]) -> None:
    """Transposed and strided gradient views are clipped in place like contiguous copies."""
    rows = zip(case.params, seen["params"], seen["contiguous"], strict=True)
    for k, (p, facts, b) in enumerate(rows):
        if not p.has_grad:
            continue
        got, want = as64(grad_after(facts)), as64(grad_after({"grad": b}))
        what = f"param {k} (non-contiguous vs contiguous)"
        assert_close(got, want, slack(want, want, p.torch_dtype), what, case)
        gaps = facts.get("gaps")
        if p.layout == "strided" and gaps is not None:
            what = f"param {k}: entries of the gradient's buffer outside the view changed"
            assert_bitwise(gaps, torch.full_like(gaps, 7.0), what, case)


# --- AGC-019, AGC-020: bad arguments, sparse gradients ----------------------------------------


def _act_bad_arguments(targets: Targets, example: BadAGCArgument) -> dict[str, Any]:
    params = example.case.make_params()
    got = attempt(targets.agc, example.case.wrap(params), **example.kwargs())
    return {"raised": got.raised, "grads": [p.grad for p in params]}


@conformance_property(
    "AGC-019", roles=("agc",), strategy=bad_agc_arguments(), act=_act_bad_arguments
)
def bad_arguments_rejected(example: BadAGCArgument, seen: dict[str, Any]) -> None:
    """clip_factor or eps <= 0 / NaN / inf: ValueError naming it (a bool, a string, None:
    TypeError or ValueError naming it), before touching gradients."""
    info = seen["raised"]
    if info is None:
        raise AssertionError(f"{example.name}={example.value!r} was accepted; {example!r}")
    allowed = ("ValueError",) if example.is_number else ("TypeError", "ValueError")
    if not info.is_a(*allowed):
        raise AssertionError(
            f"{example.name}={example.value!r} raised {info.name}, not "
            f"{' or '.join(allowed)}: {info.message}"
        )
    if example.name not in info.message:
        raise AssertionError(
            f"ValueError for {example.name}={example.value!r} does not name the argument: "
            f"{info.message}"
        )
    params = example.case.make_params()
    for k, (p, g) in enumerate(zip(params, seen["grads"], strict=True)):
        if p.grad is not None:
            what = f"param {k}: gradient modified before the error"
            assert_bitwise(grad_after({"grad": g}), p.grad, what, example)


def _act_sparse(targets: Targets, _: None) -> dict[str, Any]:
    dense = torch.nn.Parameter(torch.ones(2, 3))
    dense.grad = torch.full((2, 3), 100.0)
    sparse = torch.nn.Parameter(torch.ones(3, 2))
    sparse.grad = torch.full((3, 2), 100.0).to_sparse()
    got = attempt(targets.agc, [dense, sparse], clip_factor=0.01, eps=1e-3)
    return {"raised": got.raised, "dense": dense.grad}


@conformance_property("AGC-020", roles=("agc",), act=_act_sparse)
def sparse_rejected(_: None, seen: dict[str, Any]) -> None:
    """A sparse gradient (after a dense one) raises an error saying so; nothing is modified."""
    info = seen["raised"]
    if info is None:
        raise AssertionError("a sparse gradient was accepted without error")
    if not info.is_a("ValueError", "TypeError", "RuntimeError", "NotImplementedError"):
        raise AssertionError(f"a sparse gradient raised {info.name}: {info.message}")
    if "sparse" not in info.message.lower():
        raise AssertionError(f"the error does not say 'sparse': {info.name}: {info.message}")
    dense = grad_after({"grad": seen["dense"]})
    what = "the dense gradient, modified before the sparse one raised"
    assert_close(as64(dense), as64(torch.full((2, 3), 100.0)), 0.0, what)


# --- AGC-037: the plan's defaults --------------------------------------------------------------

PLAN_CLIP_FACTOR = 0.01
PLAN_EPS = 1e-3
"""Task 1.2's ``adaptive_gradient_clip_(parameters, clip_factor=0.01, eps=1e-3)``."""


def _defaults_examples(domain: Domain) -> tuple[AGCCase, ...]:
    """One parameter whose two rows clip at ``clip_factor * ||W_i||`` (row 0, ||W_0|| = 1) and
    at ``clip_factor * eps`` (row 1, a zero row): any other default of either moves one row."""
    dtype = next((d for d in FULL_DTYPES if d in domain.dtypes), None)
    if dtype is None or domain.max_rank < 2 or not domain.allows_clip_factor(PLAN_CLIP_FACTOR):
        return ()
    row = ParamCase(weight=[[1.0, 0.0], [0.0, 0.0]], grad=[[1.0, 1.0], [1.0, 1.0]], dtype=dtype)
    return (AGCCase(params=(row,), clip_factor=PLAN_CLIP_FACTOR, eps=PLAN_EPS),)


def _act_defaults(targets: Targets, case: AGCCase) -> dict[str, Any]:
    omitted = case.make_params()
    targets.agc(case.wrap(omitted))
    given = case.make_params()
    targets.agc(case.wrap(given), clip_factor=PLAN_CLIP_FACTOR, eps=PLAN_EPS)
    return {"omitted": [p.grad for p in omitted], "given": [p.grad for p in given]}


@conformance_property(
    "AGC-037",
    roles=("agc",),
    strategy=real(containers=("list",)),
    examples=_defaults_examples,
    act=_act_defaults,
)
def plan_defaults(case: AGCCase, seen: dict[str, Any]) -> None:
    """Called with the parameters alone: as with clip_factor=0.01 and eps=1e-3."""
    rows = zip(case.params, seen["omitted"], seen["given"], strict=True)
    for k, (p, a, b) in enumerate(rows):
        if not p.has_grad:
            continue
        got, want = as64(grad_after({"grad": a})), as64(grad_after({"grad": b}))
        what = f"param {k}: called without clip_factor and eps vs with 0.01 and 1e-3"
        assert_close(got, want, slack(want, want, p.torch_dtype), what, case)
