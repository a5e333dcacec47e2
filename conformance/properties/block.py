"""Properties of the ``block`` role: ``Block(channels, modes)``, (B, C, H, W) -> same shape.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("block."))
['BLK-006', 'BLK-007', 'BLK-008', 'BLK-010', 'BLK-011']

The block is a black box: its normalisation layer is found by walking its
modules (:func:`norm_layers`), not by attribute name. The role expects the
*stable* block with its default (zero-gamma) init; BLK-007 fails a block that
is not the identity at init, BLK-008 one whose update is not centred per
sample and channel (batch statistics, or no norm at all).
"""

from __future__ import annotations

import torch
from torch import nn

from conformance.properties import Targets, conformance_property
from conformance.strategies.blocks import (
    BadBlockArgument,
    BlockCase,
    bad_block_arguments,
    block_cases,
    make_input,
)

__all__ = ["norm_layers"]

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


def _forward(block: nn.Module, x: torch.Tensor, training: bool) -> torch.Tensor:
    block.train(training)
    with torch.no_grad():
        return block(x)


@conformance_property("BLK-006", roles=("block",), strategy=block_cases(), max_examples=40)
def forward_shape(targets: Targets, case: BlockCase) -> None:
    """A block keeps shape and dtype and stays finite, in training and evaluation mode."""
    block = case.build(targets.block)
    x = case.make_input()
    for training in (True, False):
        y = _forward(block, x, training)
        assert isinstance(y, torch.Tensor), f"block returned {type(y).__name__}, not a tensor"
        assert y.shape == x.shape and y.dtype == x.dtype, (
            f"input {tuple(x.shape)} {x.dtype} -> output {tuple(y.shape)} {y.dtype} "
            f"(training={training})"
        )
        assert bool(torch.isfinite(y).all()), f"non-finite output (training={training})"


@conformance_property("BLK-007", roles=("block",), strategy=block_cases(), max_examples=40)
def identity_at_init(targets: Targets, case: BlockCase) -> None:
    """A freshly built block returns its input unchanged (zero-gamma init)."""
    block = case.build(targets.block)
    x = case.make_input()
    for training in (True, False):
        y = _forward(block, x, training)
        gap = float((y - x).abs().max())
        bound = 1e-6 * max(1.0, float(x.abs().max()))
        assert gap <= bound, (
            f"block(x) differs from x by up to {gap:.3g} at init (allowed {bound:.3g}, "
            f"training={training}): not the identity"
        )


@conformance_property(
    "BLK-008",
    roles=("block",),
    strategy=block_cases(kinds=("normal", "per_sample_constant", "large")).filter(
        lambda c: c.height * c.width > 1
    ),
    max_examples=40,
)
def zero_mean_update(targets: Targets, case: BlockCase) -> None:
    """With every norm's weight set to non-zero values and its bias to 0, the update y - x
    has zero spatial mean per sample and channel, in training and evaluation mode."""
    block = case.build(targets.block)
    norms = norm_layers(block)
    assert norms, (
        "no normalisation layer found in the block (looked for torch norm layers and modules "
        "whose own parameters are a 1-D weight and a 1-D bias)"
    )
    with torch.no_grad():
        for norm in norms:
            weight, bias = getattr(norm, "weight", None), getattr(norm, "bias", None)
            if isinstance(weight, torch.Tensor):
                weight.copy_(0.5 + 1.5 * make_input(tuple(weight.shape), "normal", case.seed).abs())
            if isinstance(bias, torch.Tensor):
                bias.zero_()
    x = case.make_input()
    for training in (True, False):
        delta = _forward(block, x, training) - x
        means = delta.mean(dim=(2, 3))
        worst = float(means.abs().max())
        bound = 1e-4 * (1.0 + float(delta.abs().max())) + 8 * 2.0**-23 * float(x.abs().max())
        assert worst <= bound, (
            f"update mean per (sample, channel) reaches {worst:.3g} (allowed {bound:.3g}, "
            f"training={training}); means = {means.tolist()}: not normalised per instance"
        )


@conformance_property("BLK-010", roles=("block",), strategy=bad_block_arguments(), max_examples=20)
def bad_arguments_rejected(targets: Targets, case: BadBlockArgument) -> None:
    """channels < 1 or modes < 1 raise ValueError naming the argument."""
    try:
        targets.block(case.channels, case.modes)
    except ValueError as error:
        named = "channels" if case.channels < 1 else "modes"
        assert named in str(error), f"ValueError does not name {named!r}: {error}"
        return
    raise AssertionError(
        f"Block(channels={case.channels}, modes={case.modes}) was accepted: expected ValueError"
    )


@conformance_property(
    "BLK-011",
    roles=("block",),
    strategy=block_cases(kinds=("normal",), max_side=8).filter(lambda c: c.height * c.width > 1),
    max_examples=20,
)
def trainable_from_init(targets: Targets, case: BlockCase) -> None:
    """One SGD step (lr 0.1) on an MSE regression loss moves the block's output."""
    block = case.build(targets.block)
    block.train()
    x = case.make_input()
    target = make_input(tuple(x.shape), "normal", case.seed + 2)
    before = _forward(block, x, True)
    params = [p for p in block.parameters() if p.requires_grad]
    assert params, "the block has no trainable parameters"
    block.zero_grad()
    torch.nn.functional.mse_loss(block(x), target).backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.sub_(0.1 * p.grad)
    moved = float((_forward(block, x, True) - before).abs().max())
    assert moved > 1e-7, (
        f"after one gradient step the output moved by {moved:.3g}: the branch cannot leave "
        "its initial state"
    )
