"""Properties of the ``generator`` and ``stable_generator`` roles.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.home.endswith("blocks.generator")})
['BLK-012', 'BLK-013', 'BLK-014', 'BLK-018', 'BLK-021']

Both roles are called as ``Generator(in_channels, out_channels, hidden_channels,
n_blocks, modes, C)`` and map (B, C*in_channels, H, W) to (B, H, W, C, out_channels).
The structure clause compares the two targets module by module: the act sends a
summary of each (:func:`structure`: every named submodule's class, parameter shapes
and whether it holds a normalisation layer) and the judge compares the summaries
(:func:`block_swap_problems`), knowing nothing of their attribute names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from conformance.domain import Domain
from conformance.framework import Root, Targets, attempt, conformance_property
from conformance.properties.blocks.block import norm_layers, tensor_facts
from conformance.strategies.blocks import GeneratorCase, bad_generator_inputs, generator_cases

__all__ = ["block_swap_problems", "structure"]


def _check_output(case: GeneratorCase, seen: dict[str, Any]) -> None:
    y = seen["y"]
    expected = [case.batch, case.height, case.width, case.C, case.out_channels]
    assert y["tensor"], f"generator returned {y['type']}, not a tensor"
    assert y["shape"] == expected and y["dtype"] == "float32", (
        f"input {seen['x_shape']} -> output {tuple(y['shape'])} {y['dtype']}; "
        f"expected {tuple(expected)} float32"
    )
    assert y["finite"], "non-finite output"


def _forward(generator: Callable[..., Any], case: GeneratorCase) -> dict[str, Any]:
    model = case.build(generator)
    x = case.make_input()
    with torch.no_grad():
        y = model(x)
    return {"y": tensor_facts(y), "x_shape": tuple(x.shape)}


def _act_output(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _forward(targets.generator, case)


def _act_stable_output(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _forward(targets.stable_generator, case)


def _cases(**kw: Any) -> Any:
    """Generator cases with sides at least the domain's min_size."""
    return lambda domain: generator_cases(min_size=domain.min_size, **kw)


@conformance_property(
    "BLK-012",
    roles=("generator",),
    strategy=_cases(),
    max_examples=20,
    act=_act_output,
    root=Root(rank=140),
)
def output_shape(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """(B, C, H, W) -> finite (B, H, W, C, 2) of the same dtype (one channel in, real/imag out)."""
    _check_output(case, seen)


@conformance_property(
    "BLK-012",
    roles=("stable_generator",),
    strategy=_cases(),
    max_examples=20,
    act=_act_stable_output,
    root=Root(rank=150),
)
def stable_output_shape(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """The stable generator: (B, C, H, W) -> finite (B, H, W, C, 2)."""
    _check_output(case, seen)


@conformance_property(
    "BLK-018",
    roles=("generator",),
    strategy=_cases(channels="any"),
    max_examples=10,
    act=_act_output,
)
def other_channel_counts(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """(B, C*in, H, W) -> finite (B, H, W, C, out) for other in / out channel counts."""
    _check_output(case, seen)


@conformance_property(
    "BLK-018",
    roles=("stable_generator",),
    strategy=_cases(channels="any"),
    max_examples=10,
    act=_act_stable_output,
)
def stable_other_channel_counts(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """The stable generator, for other in / out channel counts."""
    _check_output(case, seen)


# --- structure summaries (worker) and their comparison (judge) --------------------------------


def structure(*modules: nn.Module) -> list[dict[str, Any]]:
    """Act helper: a summary of each module's tree; equal class tokens mean the same class.

    Each summary: ``{"own": {param: shape}, "modules": {name: {"cls", "own", "tree",
    "norm", "repr"}}}`` for every named submodule (``tree``: its subtree's parameters).
    """
    tokens: dict[type, str] = {}

    def token(cls: type) -> str:
        if cls not in tokens:
            tokens[cls] = f"{cls.__qualname__} ({cls.__module__}) #{len(tokens)}"
        return tokens[cls]

    def shapes(m: nn.Module, recurse: bool) -> list[list[Any]]:
        return [[n, list(p.shape)] for n, p in m.named_parameters(recurse=recurse)]

    out = []
    for module in modules:
        named = {
            name: {
                "cls": token(type(sub)),
                "own": shapes(sub, False),
                "tree": shapes(sub, True),
                "norm": bool(norm_layers(sub)),
                "repr": repr(sub)[:200],
            }
            for name, sub in module.named_modules()
            if name
        }
        out.append({"own": shapes(module, False), "modules": named})
    return out


def _pairs(items: list[list[Any]]) -> set[tuple[str, tuple[int, ...]]]:
    return {(str(n), tuple(s)) for n, s in items}


def _cls_name(token: str) -> str:
    return token.split(" ", 1)[0]


def block_swap_problems(plain: dict[str, Any], stable: dict[str, Any]) -> list[str]:
    """How ``stable`` departs from "``plain`` with every block replaced by the stable block".

    Both are :func:`structure` summaries. Modules are paired by name. Where the classes
    differ (topmost such positions) sit the blocks; there must be some, one class on each
    side, the plain block's parameters must be a subset of the stable block's, and the stable
    one must hold a normalisation layer. Everywhere else names, classes and parameter shapes
    must match, and the plain block class may not appear anywhere in the stable generator.
    """
    p, s = plain["modules"], stable["modules"]
    differing = [n for n in p if n in s and p[n]["cls"] != s[n]["cls"]]
    tops = [n for n in differing if not any(n.startswith(d + ".") for d in differing)]
    if not tops:
        return ["no module differs from the plain generator: no block was replaced"]

    def outside(name: str) -> bool:
        return not any(name == t or name.startswith(t + ".") for t in tops)

    problems = []
    p_out = {n for n in p if outside(n)}
    s_out = {n for n in s if outside(n)}
    if p_out != s_out:
        problems.append(
            f"module names differ outside the blocks: only plain {sorted(p_out - s_out)[:5]}, "
            f"only stable {sorted(s_out - p_out)[:5]}"
        )
    for name in sorted(p_out & s_out):
        same_cls = p[name]["cls"] == s[name]["cls"]
        if not same_cls or _pairs(p[name]["own"]) != _pairs(s[name]["own"]):
            problems.append(f"{name!r} differs: {p[name]['repr']} vs {s[name]['repr']}")
    if _pairs(plain["own"]) != _pairs(stable["own"]):
        problems.append("the generators' own parameters differ")
    plain_kinds = {p[t]["cls"] for t in tops}
    stable_kinds = {s[t]["cls"] for t in tops}
    if len(plain_kinds) != 1 or len(stable_kinds) != 1:
        problems.append(
            f"expected one block class on each side at {tops}: plain "
            f"{sorted(map(_cls_name, plain_kinds))}, stable {sorted(map(_cls_name, stable_kinds))}"
        )
    for t in tops:
        missing = _pairs(p[t]["tree"]) - _pairs(s[t]["tree"])
        if missing:
            problems.append(f"block {t!r}: stable block lacks plain parameters {sorted(missing)}")
        if not s[t]["norm"]:
            problems.append(f"block {t!r}: the stable block has no normalisation layer")
    left = sorted(n for n, m in s.items() if m["cls"] in plain_kinds)
    if left:
        problems.append(f"plain block class still used in the stable generator at {left}")
    return problems


def _act_swap(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    plain, stable = structure(case.build(targets.generator), case.build(targets.stable_generator))
    return {"plain": plain, "stable": stable}


@conformance_property(
    "BLK-013",
    roles=("generator", "stable_generator"),
    strategy=_cases(kinds=("normal",)),
    max_examples=15,
    act=_act_swap,
)
def stable_is_plain_but_for_the_block(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """Built with the same arguments, the two differ exactly at the blocks."""
    problems = block_swap_problems(seen["plain"], seen["stable"])
    assert not problems, "; ".join(problems)


# --- BLK-014: bad inputs rejected before any layer runs ---------------------------------------


def _bad_input(generator: Callable[..., Any], case: GeneratorCase) -> dict[str, Any]:
    model = case.build(generator)
    ran: list[str] = []
    handles = [
        m.register_forward_pre_hook(lambda *_a, _n=n: ran.append(_n))
        for n, m in model.named_modules()
        if n
    ]
    x = case.make_input()
    try:
        with torch.no_grad():
            got = attempt(model, x)
    finally:
        for handle in handles:
            handle.remove()
    return {"raised": got.raised, "ran": ran[:10], "x_shape": list(x.shape)}


def _check_bad_input(case: GeneratorCase, seen: dict[str, Any]) -> None:
    info, ran, shape = seen["raised"], seen["ran"], tuple(seen["x_shape"])
    if info is None:
        raise AssertionError(f"input {shape} was accepted: expected ValueError")
    if not info.is_a("ValueError"):
        raise AssertionError(
            f"input {shape} raised {info.name} (expected ValueError before any layer; layers "
            f"run: {ran[:5]}): {info.message}"
        )
    message = info.message
    if case.extra_channels:
        assert str(shape[1]) in message, f"error does not name the channel count: {message}"
    else:
        assert any(str(n) in message for n in shape[2:]), f"error does not name the size: {message}"
    assert not ran, f"layers {ran} ran before the error was raised"


def _act_bad(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _bad_input(targets.generator, case)


def _act_stable_bad(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _bad_input(targets.stable_generator, case)


def _bad_examples(domain: Domain) -> tuple[GeneratorCase, ...]:
    """With n_blocks 2: only H odd, only W odd, and one channel too many (each side alone, so
    that a check of one side for both is seen)."""
    if domain.min_size > 4:
        return ()
    base = GeneratorCase(hidden_channels=2, n_blocks=2, modes=1, height=4, width=4)
    return (replace(base, height=3), replace(base, width=3), replace(base, extra_channels=1))


@conformance_property(
    "BLK-014",
    roles=("generator",),
    strategy=bad_generator_inputs(),
    examples=_bad_examples,
    max_examples=20,
    act=_act_bad,
)
def bad_input_rejected(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """A wrong channel count or an H, W the depth cannot halve raise ValueError first."""
    _check_bad_input(case, seen)


@conformance_property(
    "BLK-014",
    roles=("stable_generator",),
    strategy=bad_generator_inputs(),
    examples=_bad_examples,
    max_examples=20,
    act=_act_stable_bad,
)
def stable_bad_input_rejected(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """The stable generator rejects the same inputs the same way."""
    _check_bad_input(case, seen)


# --- BLK-021: every parameter on the way to the output -------------------------------------------


def _unused(generator: Callable[..., Any], case: GeneratorCase) -> dict[str, Any]:
    """Act helper: one backward pass from a fixed projection of the output; the parameters
    left without a gradient (never used on the way to the output)."""
    model = case.build(generator)
    model.train()
    x = case.make_input()
    y = model(x)
    if not isinstance(y, torch.Tensor) or not y.requires_grad:
        return {"output": type(y).__name__, "unused": []}
    weights = torch.linspace(-1.0, 1.0, y.numel(), dtype=y.dtype).reshape(y.shape)
    (y * weights).sum().backward()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return {"output": "Tensor", "unused": [n for n, p in named if p.grad is None]}


def _act_unused(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _unused(targets.generator, case)


def _act_stable_unused(targets: Targets, case: GeneratorCase) -> dict[str, Any]:
    return _unused(targets.stable_generator, case)


def _check_used(case: GeneratorCase, seen: dict[str, Any]) -> None:
    assert seen["output"] == "Tensor", f"the generator returned {seen['output']}"
    unused = seen["unused"]
    assert not unused, (
        f"{len(unused)} trainable parameters get no gradient from the output (a layer built "
        f"but never called, or a block skipped): {unused[:8]}; case {case!r}"
    )


@conformance_property(
    "BLK-021", roles=("generator",), strategy=_cases(), max_examples=5, act=_act_unused
)
def every_parameter_used(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """After one backward pass from the output, every trainable parameter has a gradient."""
    _check_used(case, seen)


@conformance_property(
    "BLK-021",
    roles=("stable_generator",),
    strategy=_cases(),
    max_examples=5,
    act=_act_stable_unused,
)
def stable_every_parameter_used(case: GeneratorCase, seen: dict[str, Any]) -> None:
    """The stable generator: every trainable parameter has a gradient after one backward pass
    (zero-gamma blocks give zeros, not None)."""
    _check_used(case, seen)
