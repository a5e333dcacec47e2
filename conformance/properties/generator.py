"""Properties of the ``generator`` and ``stable_generator`` roles.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.id.startswith("generator.")})
['BLK-012', 'BLK-013', 'BLK-014']

Both roles are called as ``Generator(in_channels, out_channels,
hidden_channels, n_blocks, modes, C)`` and map (B, C*in_channels, H, W) to
(B, H, W, C, out_channels). The structure clause compares the two targets
module by module (:func:`block_swap_problems`), knowing nothing of their
attribute names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from conformance.properties import Targets, conformance_property
from conformance.properties.block import norm_layers
from conformance.strategies.blocks import GeneratorCase, bad_generator_inputs, generator_cases

__all__ = ["block_swap_problems"]


def _check_output(generator: Callable[..., Any], case: GeneratorCase) -> None:
    model = case.build(generator)
    x = case.make_input()
    with torch.no_grad():
        y = model(x)
    expected = (case.batch, case.height, case.width, case.C, case.out_channels)
    assert isinstance(y, torch.Tensor), f"generator returned {type(y).__name__}, not a tensor"
    assert tuple(y.shape) == expected and y.dtype == x.dtype, (
        f"input {tuple(x.shape)} -> output {tuple(y.shape)} {y.dtype}; "
        f"expected {expected} {x.dtype}"
    )
    assert bool(torch.isfinite(y).all()), "non-finite output"


@conformance_property("BLK-012", roles=("generator",), strategy=generator_cases(), max_examples=20)
def output_shape(targets: Targets, case: GeneratorCase) -> None:
    """(B, C*in, H, W) -> finite (B, H, W, C, out) of the same dtype."""
    _check_output(targets.generator, case)


@conformance_property(
    "BLK-012", roles=("stable_generator",), strategy=generator_cases(), max_examples=20
)
def stable_output_shape(targets: Targets, case: GeneratorCase) -> None:
    """The stable generator: (B, C*in, H, W) -> finite (B, H, W, C, out)."""
    _check_output(targets.stable_generator, case)


def _own_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(p.shape) for n, p in module.named_parameters(recurse=False)}


def _subtree_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(p.shape) for n, p in module.named_parameters()}


def block_swap_problems(plain: nn.Module, stable: nn.Module) -> list[str]:
    """How ``stable`` departs from "``plain`` with every block replaced by the stable block".

    Modules are paired by name. Where the classes differ (topmost such positions) sit the
    blocks; there must be some, one class on each side, the plain block's parameters must be a
    subset of the stable block's, and the stable one must hold a normalisation layer.
    Everywhere else names, classes and parameter shapes must match, and the plain block class
    may not appear anywhere in the stable generator.
    """
    p = {n: m for n, m in plain.named_modules() if n}
    s = {n: m for n, m in stable.named_modules() if n}
    differing = [n for n in p if n in s and type(p[n]) is not type(s[n])]
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
        if type(p[name]) is not type(s[name]) or _own_shapes(p[name]) != _own_shapes(s[name]):
            problems.append(f"{name!r} differs: {p[name]!r} vs {s[name]!r}")
    if _own_shapes(plain) != _own_shapes(stable):
        problems.append("the generators' own parameters differ")
    plain_kinds = {type(p[t]) for t in tops}
    stable_kinds = {type(s[t]) for t in tops}
    if len(plain_kinds) != 1 or len(stable_kinds) != 1:
        problems.append(
            f"expected one block class on each side at {tops}: plain "
            f"{sorted(k.__name__ for k in plain_kinds)}, stable "
            f"{sorted(k.__name__ for k in stable_kinds)}"
        )
    for t in tops:
        missing = set(_subtree_shapes(p[t]).items()) - set(_subtree_shapes(s[t]).items())
        if missing:
            problems.append(f"block {t!r}: stable block lacks plain parameters {sorted(missing)}")
        if not norm_layers(s[t]):
            problems.append(f"block {t!r}: the stable block has no normalisation layer")
    left = sorted(n for n, m in s.items() if type(m) in plain_kinds)
    if left:
        problems.append(f"plain block class still used in the stable generator at {left}")
    return problems


@conformance_property(
    "BLK-013",
    roles=("generator", "stable_generator"),
    strategy=generator_cases(kinds=("normal",)),
    max_examples=15,
)
def stable_is_plain_but_for_the_block(targets: Targets, case: GeneratorCase) -> None:
    """Built with the same arguments, the two differ exactly at the blocks."""
    problems = block_swap_problems(
        case.build(targets.generator), case.build(targets.stable_generator)
    )
    assert not problems, "; ".join(problems)


def _check_bad_input(generator: Callable[..., Any], case: GeneratorCase) -> None:
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
            model(x)
    except ValueError as error:
        message = str(error)
        if case.extra_channels:
            assert str(x.shape[1]) in message, f"error does not name the channel count: {message}"
        else:
            sizes = {str(x.shape[2]), str(x.shape[3])}
            assert any(s in message for s in sizes), f"error does not name the size: {message}"
        assert not ran, f"layers {ran} ran before the error was raised"
        return
    except Exception as error:
        raise AssertionError(
            f"input {tuple(x.shape)} raised {type(error).__name__} (expected ValueError"
            f" before any layer; layers run: {ran[:5]}): {error}"
        ) from error
    finally:
        for handle in handles:
            handle.remove()
    raise AssertionError(f"input {tuple(x.shape)} was accepted: expected ValueError")


@conformance_property(
    "BLK-014", roles=("generator",), strategy=bad_generator_inputs(), max_examples=20
)
def bad_input_rejected(targets: Targets, case: GeneratorCase) -> None:
    """A wrong channel count or an H, W the depth cannot halve raise ValueError first."""
    _check_bad_input(targets.generator, case)


@conformance_property(
    "BLK-014", roles=("stable_generator",), strategy=bad_generator_inputs(), max_examples=20
)
def stable_bad_input_rejected(targets: Targets, case: GeneratorCase) -> None:
    """The stable generator rejects the same inputs the same way."""
    _check_bad_input(targets.stable_generator, case)
