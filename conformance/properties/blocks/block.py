"""Properties of the ``block`` role: ``Block(channels, modes)``, (B, C, H, W) -> same shape.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("blocks.block"))
['BLK-006', 'BLK-007', 'BLK-008', 'BLK-009', 'BLK-010', 'BLK-010', 'BLK-011', 'BLK-017', 'BLK-020']

The block is a black box: its normalisation layer is found by walking its modules
(:func:`norm_layers`), not by attribute name. The role expects the *stable* block with
its default (zero-gamma) init; BLK-007 fails a block that is not the identity at init,
BLK-008 one whose update is not centred per sample and channel (batch statistics, or no
norm at all). The acts run the block in the worker and send its outputs; the judge
compares them with the inputs, which it rebuilds from the example.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

from conformance.domain import Domain, NotApplicable
from conformance.framework import Root, Targets, attempt, conformance_property
from conformance.strategies.blocks import (
    BadBlockArgument,
    BlockCase,
    bad_block_arguments,
    block_cases,
    make_input,
    seeded,
)
from conformance.strategies.near_miss import annotated_values, names_beside, near_misses
from spec.vocabulary import STABLE_INITS

__all__ = ["norm_layers", "tensor_facts", "tensor_values"]

_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
)


def norm_layers(module: nn.Module) -> list[nn.Module]:
    """The normalisation layers inside ``module``: torch's norm classes, and any module whose
    own parameters are exactly a 1-D ``weight`` and a 1-D ``bias`` (a custom affine norm)."""
    found = []
    for sub in module.modules():
        own = dict(sub.named_parameters(recurse=False))
        custom = set(own) == {"weight", "bias"} and all(p.ndim == 1 for p in own.values())
        if isinstance(sub, _NORM_TYPES) or custom:
            found.append(sub)
    return found


def tensor_facts(y: Any, keep: bool = False) -> dict[str, Any]:
    """Act helper: what a module returned — tensor or not, shape, dtype, finiteness (and the
    values with ``keep``)."""
    if not isinstance(y, torch.Tensor):
        return {"tensor": False, "type": type(y).__name__}
    facts: dict[str, Any] = {
        "tensor": True,
        "type": "Tensor",
        "shape": list(y.shape),
        "dtype": str(y.dtype).removeprefix("torch."),
        "complex": bool(y.is_complex()),
        "finite": bool(torch.isfinite(y).all()),
    }
    if keep:
        facts["values"] = y.detach()
    return facts


def tensor_values(facts: dict[str, Any], what: str = "the module") -> torch.Tensor:
    """Judge helper: the values :func:`tensor_facts` kept (an AssertionError if no tensor)."""
    assert facts["tensor"], f"{what} returned {facts['type']}, not a tensor"
    values: torch.Tensor = facts["values"]
    return values


def _forward(block: nn.Module, x: torch.Tensor, training: bool) -> Any:
    block.train(training)
    with torch.no_grad():
        return block(x)


def _outputs(block: nn.Module, case: BlockCase) -> dict[str, Any]:
    x = case.make_input()
    return {str(mode): tensor_facts(_forward(block, x, mode), keep=True) for mode in (True, False)}


def _need(facts: dict[str, Any], case: object, training: str) -> torch.Tensor:
    assert facts["tensor"], f"block returned {facts['type']}, not a tensor (training={training})"
    values: torch.Tensor = facts["values"]
    return values


def _act_forward(targets: Targets, case: BlockCase) -> dict[str, Any]:
    return _outputs(case.build(targets.block), case)


def _cases(**kw: Any) -> Any:
    """Block cases with sides at least the domain's min_size."""
    return lambda domain: block_cases(min_size=domain.min_size, **kw)


def _one_by_one(domain: Domain) -> Any:
    if domain.min_size > 1:
        return NotApplicable(f"a 1x1 grid is below the domain's min_size {domain.min_size}")
    return block_cases(one_by_one=True)


def _shape_kept(case: BlockCase, seen: dict[str, Any]) -> None:
    x = case.make_input()
    for training, facts in seen.items():
        _need(facts, case, training)
        assert facts["shape"] == list(x.shape) and facts["dtype"] == "float32", (
            f"input {tuple(x.shape)} {x.dtype} -> output {tuple(facts['shape'])} "
            f"{facts['dtype']} (training={training})"
        )
        assert facts["finite"], f"non-finite output (training={training})"


@conformance_property(
    "BLK-006",
    roles=("block",),
    strategy=_cases(),
    max_examples=40,
    act=_act_forward,
    root=Root(rank=120),
)
def forward_shape(case: BlockCase, seen: dict[str, Any]) -> None:
    """A block keeps shape and dtype and stays finite, in training and evaluation mode."""
    _shape_kept(case, seen)


@conformance_property(
    "BLK-017", roles=("block",), strategy=_one_by_one, max_examples=10, act=_act_forward
)
def one_by_one_grid(case: BlockCase, seen: dict[str, Any]) -> None:
    """On a 1x1 grid too, in training and evaluation mode."""
    _shape_kept(case, seen)


@conformance_property(
    "BLK-007",
    roles=("block",),
    strategy=_cases(),
    max_examples=40,
    act=_act_forward,
    root=Root(rank=130),
)
def identity_at_init(case: BlockCase, seen: dict[str, Any]) -> None:
    """A freshly built block returns its input unchanged (zero-gamma init)."""
    x = case.make_input()
    for training, facts in seen.items():
        y = _need(facts, case, training)
        assert y.shape == x.shape, f"output {tuple(y.shape)} for input {tuple(x.shape)}"
        gap = float((y.double() - x.double()).abs().max())
        bound = 1e-6 * max(1.0, float(x.abs().max()))
        assert gap <= bound, (
            f"block(x) differs from x by up to {gap:.3g} at init (allowed {bound:.3g}, "
            f"training={training}): not the identity"
        )


def _act_centred(targets: Targets, case: BlockCase) -> dict[str, Any]:
    block = case.build(targets.block)
    norms = norm_layers(block)
    with torch.no_grad():
        for norm in norms:
            weight, bias = getattr(norm, "weight", None), getattr(norm, "bias", None)
            if isinstance(weight, torch.Tensor):
                weight.copy_(0.5 + 1.5 * make_input(tuple(weight.shape), "normal", case.seed).abs())
            if isinstance(bias, torch.Tensor):
                bias.zero_()
    return {"norms": len(norms), **(_outputs(block, case) if norms else {})}


@conformance_property(
    "BLK-008",
    roles=("block",),
    strategy=_cases(kinds=("normal", "per_sample_constant", "large")),
    max_examples=40,
    act=_act_centred,
)
def zero_mean_update(case: BlockCase, seen: dict[str, Any]) -> None:
    """With every norm's weight set to non-zero values and its bias to 0, the update y - x
    has zero spatial mean per sample and channel, in training and evaluation mode."""
    assert seen.pop("norms"), (
        "no normalisation layer found in the block (looked for torch norm layers and modules "
        "whose own parameters are a 1-D weight and a 1-D bias)"
    )
    x = case.make_input()
    for training, facts in seen.items():
        y = _need(facts, case, training)
        assert y.shape == x.shape, f"output {tuple(y.shape)} for input {tuple(x.shape)}"
        delta = y - x
        means = delta.mean(dim=(2, 3))
        worst = float(means.abs().max())
        bound = 1e-4 * (1.0 + float(delta.abs().max())) + 8 * 2.0**-23 * float(x.abs().max())
        assert worst <= bound, (
            f"update mean per (sample, channel) reaches {worst:.3g} (allowed {bound:.3g}, "
            f"training={training}); means = {means.tolist()}: not normalised per instance"
        )


def _act_bad_arguments(targets: Targets, case: BadBlockArgument) -> dict[str, Any]:
    return {"raised": attempt(targets.block, case.channels, case.modes).raised}


@conformance_property(
    "BLK-010",
    roles=("block",),
    strategy=bad_block_arguments(),
    max_examples=20,
    act=_act_bad_arguments,
)
def bad_arguments_rejected(case: BadBlockArgument, seen: dict[str, Any]) -> None:
    """channels < 1 or modes < 1 raise ValueError naming the argument."""
    info = seen["raised"]
    if info is None or not info.is_a("ValueError"):
        got = "was accepted" if info is None else f"raised {info.name}: {info.message}"
        raise AssertionError(
            f"Block(channels={case.channels}, modes={case.modes}) {got}: expected ValueError"
        )
    named = "channels" if case.channels < 1 else "modes"
    assert named in info.message, f"ValueError does not name {named!r}: {info.message}"


def _act_bad_init(targets: Targets, name: str) -> dict[str, Any]:
    signature = attempt(inspect.signature, targets.block)
    params = signature.value.parameters if signature.ok else {}
    if "init" not in params:
        return {"takes_init": False}
    annotation = params["init"].annotation
    if isinstance(annotation, str):  # postponed annotations, as get_type_hints resolves them
        hints = attempt(typing.get_type_hints, getattr(targets.block, "__init__", targets.block))
        annotation = hints.value.get("init") if hints.ok else None
    elif annotation is inspect.Parameter.empty:
        annotation = None
    return {
        "takes_init": True,
        "annotation": repr(annotation),
        **annotated_values(annotation),
        "raised": attempt(targets.block, 2, 1, init=name).raised,
    }


@conformance_property(
    "BLK-010",
    roles=("block",),
    strategy=names_beside(
        STABLE_INITS, st.text(max_size=10).filter(lambda n: n not in STABLE_INITS)
    ),
    examples=near_misses(STABLE_INITS),
    max_examples=20,
    act=_act_bad_init,
)
def bad_init_rejected(name: str, seen: dict[str, Any]) -> None:
    """A block taking ``init`` refuses any other than 'zero_gamma' and 'layerscale' with a
    ValueError naming init, the value and the allowed ones; its annotation, if it lists the
    inits (Literal or Enum), lists exactly those two."""
    if not seen["takes_init"]:
        return  # no init argument: the block has one init, nothing to validate
    literal = seen["literal"]
    if literal is not None:
        admitted = [*literal, *([None] if seen["none"] else [])]
        if sorted(map(repr, admitted)) != sorted(map(repr, STABLE_INITS)):
            raise AssertionError(
                f"the block's init parameter is annotated {seen['annotation']}, which admits "
                f"{admitted}, not exactly {list(STABLE_INITS)}"
            )
    info = seen["raised"]
    if info is None or not info.is_a("ValueError"):
        got = "was accepted" if info is None else f"raised {info.name}: {info.message}"
        raise AssertionError(f"Block(2, 1, init={name!r}) {got}: expected ValueError")
    missing = [w for w in ("init", *STABLE_INITS) if w not in info.message]
    if repr(name) not in info.message and (not name.strip() or name not in info.message):
        missing.append(f"the value {name!r}")
    assert not missing, f"the ValueError for init={name!r} does not name {missing}: {info.message}"


def _act_step(targets: Targets, case: BlockCase) -> dict[str, Any]:
    block = case.build(targets.block)
    block.train()
    x = case.make_input()
    target = make_input(tuple(x.shape), "normal", case.seed + 2)
    before = _forward(block, x, True)
    params = [p for p in block.parameters() if p.requires_grad]
    if not params:
        return {"params": 0}
    block.zero_grad()
    torch.nn.functional.mse_loss(block(x), target).backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.sub_(0.1 * p.grad)
    return {"params": len(params), "before": before, "after": _forward(block, x, True)}


@conformance_property(
    "BLK-011",
    roles=("block",),
    strategy=_cases(kinds=("normal",), max_side=8),
    max_examples=20,
    act=_act_step,
)
def trainable_from_init(case: BlockCase, seen: dict[str, Any]) -> None:
    """One SGD step (lr 0.1) on an MSE regression loss moves the block's output."""
    assert seen["params"], "the block has no trainable parameters"
    moved = float((seen["after"].double() - seen["before"].double()).abs().max())
    assert moved > 1e-7, (
        f"after one gradient step the output moved by {moved:.3g}: the branch cannot leave "
        "its initial state"
    )


# --- BLK-020: the stable block's formula -------------------------------------------------------

IN_EPS = 1e-5
"""``nn.InstanceNorm2d``'s default eps (the plan's layer)."""


def _stable_parts(block: nn.Module) -> tuple[list[nn.Module], list[nn.Module], list[nn.Module]]:
    """(3x3 convs, norm layers, other children with parameters: the spectral conv)."""
    convs: list[nn.Module] = [
        m
        for m in block.modules()
        if isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (3, 3) and m is not block
    ]
    norms = norm_layers(block)
    known = [*convs, *norms]
    others = [
        child
        for child in block.children()
        if not any(k is m for m in child.modules() for k in known)
        and any(True for _ in child.parameters())
    ]
    return convs, norms, others


def _act_form(targets: Targets, case: BlockCase) -> dict[str, Any]:
    block = case.build(targets.block)
    convs, norms, others = _stable_parts(block)
    seen: dict[str, Any] = {
        "convs": len(convs),
        "norms": [type(n).__name__ for n in norms],
        "others": [type(o).__name__ for o in others],
    }
    if len(convs) != 1 or len(norms) != 1 or len(others) != 1:
        return seen
    with torch.no_grad():
        weight, bias = getattr(norms[0], "weight", None), getattr(norms[0], "bias", None)
        if isinstance(weight, torch.Tensor):
            weight.fill_(1.0)
        if isinstance(bias, torch.Tensor):
            bias.zero_()
    x = case.make_input()
    seen["s"] = tensor_facts(_forward(others[0], x, True), keep=True)
    seen["k"] = tensor_facts(_forward(convs[0], x, True), keep=True)
    seen["y"] = tensor_facts(_forward(block, x, True), keep=True)
    return seen


def _instance_norm(v: torch.Tensor) -> torch.Tensor:
    """Per sample and channel over the spatial axes, biased variance, eps :data:`IN_EPS`."""
    centred = v - v.mean(dim=(2, 3), keepdim=True)
    return centred / torch.sqrt(centred.pow(2).mean(dim=(2, 3), keepdim=True) + IN_EPS)


@conformance_property(
    "BLK-020",
    roles=("block",),
    strategy=_cases(kinds=("normal",), max_side=10),
    max_examples=20,
    act=_act_form,
)
def stable_block_form(case: BlockCase, seen: dict[str, Any]) -> None:
    """With the norm's gain 1 and shift 0: y = x + InstanceNorm(GELU(S(x) + K(x))), K the
    block's 3x3 conv, S its other part with parameters (training mode)."""
    parts = (seen["convs"], len(seen["norms"]), len(seen["others"]))
    assert parts == (1, 1, 1), (
        f"expected one 3x3 nn.Conv2d, one norm layer and one other part with parameters (the "
        f"spectral conv); found {seen['convs']} convs, norms {seen['norms']}, others "
        f"{seen['others']}"
    )
    x = case.make_input().double()
    s, k = tensor_values(seen["s"], "S").double(), tensor_values(seen["k"], "K").double()
    got = tensor_values(seen["y"], "the block").double()
    want = x + _instance_norm(torch.nn.functional.gelu(s + k))
    assert got.shape == want.shape, f"output {tuple(got.shape)}, expected {tuple(want.shape)}"
    gap = float((got - want).abs().max())
    tol = 1e-3 * (1.0 + float(want.abs().max()))
    assert gap <= tol, (
        f"block(x) differs from x + InstanceNorm(GELU(S(x) + K(x))) by {gap:.3g} (allowed "
        f"{tol:.3g}) with the norm's gain 1 and shift 0, S = {seen['others'][0]}, K = the 3x3 "
        f"conv, norm {seen['norms'][0]}; case {case!r}"
    )


# --- BLK-009: the layerscale init ----------------------------------------------------------------

LAYERSCALE_INIT = 1e-3
"""The gate's start passed as ``layerscale_init`` (upstream's LayerScale: gate 1e-3)."""


def _act_layerscale(targets: Targets, case: BlockCase) -> dict[str, Any]:
    signature = attempt(inspect.signature, targets.block)
    params = signature.value.parameters if signature.ok else {}
    if "init" not in params:
        return {"takes_init": False}
    extra = {"layerscale_init": LAYERSCALE_INIT} if "layerscale_init" in params else {}
    with seeded(case.seed):
        block = targets.block(case.channels, case.modes, init="layerscale", **extra)
    return {"takes_init": True, "gate": bool(extra), **_outputs(block, case)}


@conformance_property(
    "BLK-009",
    roles=("block",),
    strategy=_cases(kinds=("normal", "large")),
    max_examples=20,
    act=_act_layerscale,
)
def layerscale_near_identity(case: BlockCase, seen: dict[str, Any]) -> None:
    """A block taking ``init``, built with init='layerscale' (and layerscale_init=1e-3 where it
    takes one): the update's RMS over the spatial axes is at most 1e-3 for every sample and
    channel and not zero everywhere, in training and evaluation mode (no ``init``: nothing to
    check)."""
    if not seen.pop("takes_init"):
        return
    seen.pop("gate")
    x = case.make_input().double()
    for training, facts in seen.items():
        y = _need(facts, case, training).double()
        assert y.shape == x.shape, f"output {tuple(y.shape)} for input {tuple(x.shape)}"
        rms = (y - x).pow(2).mean(dim=(2, 3)).sqrt()
        worst = float(rms.max())
        bound = LAYERSCALE_INIT * (1 + 1e-3) + 8 * 2.0**-23 * float(x.abs().max())
        assert worst <= bound, (
            f"init='layerscale': the update's RMS per (sample, channel) reaches {worst:.3g} "
            f"(allowed {bound:.3g}, training={training}): not near the identity"
        )
        assert worst > 0, (
            f"init='layerscale': the block is exactly the identity (training={training}): a "
            "zero-gamma start, not a small gate on a unit norm"
        )
