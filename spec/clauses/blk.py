"""BLK clauses: spectral convolution, PtychoBlock / StablePtychoBlock, generators (plan 2.1-2.2)."""

from __future__ import annotations

from spec.clauses import Clause

_PLAN_21 = "implementation-plan.md, Task 2.1"
_PLAN_22 = "implementation-plan.md, Task 2.2"
_NOTES = "field-notes.md, upstream system"
_ISSUE = "issue 4"

CLAUSES: tuple[Clause, ...] = (
    Clause(
        id="BLK-001",
        level="MUST",
        title="spectral conv: real output, any size",
        text=(
            "The spectral convolution maps a real (B, in, H, W) tensor to a real (B, out, H, W) "
            "tensor of the same dtype for every H, W >= 1, odd sizes included, capping its "
            "modes to what the grid holds."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="BLK-002",
        level="MUST",
        title="spectral conv: shift equivariance",
        text=(
            "The spectral convolution commutes with circular shifts of its input along both "
            "spatial axes."
        ),
        source=_ISSUE + " (Fourier multipliers commute with circular shifts)",
    ),
    Clause(
        id="BLK-003",
        level="MUST",
        title="spectral conv: both frequency corners",
        text=(
            "With m modes the spectral convolution responds to the real plane wave of every "
            "frequency (k, l) with -m <= k < m and 0 <= l < m that the grid holds, negative k "
            "included, and its output has no component at any other frequency."
        ),
        source=_NOTES + " (upstream keeps only the non-negative corner; the standard FNO both)",
    ),
    Clause(
        id="BLK-004",
        level="SHOULD",
        title="no dead spectral weights",
        text=(
            "Built for a known input size, a spectral convolution allocates no weight for a "
            "mode that grid cannot hold, so every allocated spectral weight receives gradient."
        ),
        source=_ISSUE + " (dead parameters still cost memory and optimizer state)",
    ),
    Clause(
        id="BLK-005",
        level="MUST",
        title="PtychoBlock form",
        text=(
            "PtychoBlock computes y = x + GELU(S(x) + K(x)) with S a spectral convolution and K "
            "a 3x3 convolution with bias and zero padding, both from `channels` to `channels`."
        ),
        source=_PLAN_21 + " (the block StablePtychoBlock extends)",
    ),
    Clause(
        id="BLK-006",
        level="MUST",
        title="block forward shape",
        text=(
            "A block built as Block(channels, modes) maps a finite (B, channels, H, W) tensor to "
            "a finite tensor of the same shape and dtype for every B >= 1 and H, W >= 1."
        ),
        source=_PLAN_21 + " (test_forward_shape)",
    ),
    Clause(
        id="BLK-007",
        level="MUST",
        title="StablePtychoBlock is the identity at init",
        text=(
            "With init='zero_gamma' (the default) a freshly built StablePtychoBlock returns its "
            "input unchanged for every finite input, constant and large-magnitude inputs included."
        ),
        source=_PLAN_21 + " (zero-gamma init; test_identity_init)",
    ),
    Clause(
        id="BLK-008",
        level="MUST",
        title="update centred per sample and channel",
        text=(
            "The update y - x of a StablePtychoBlock is an instance-normalised tensor scaled per "
            "channel: with its norm's bias at 0 it has zero spatial mean for every sample and "
            "channel, in training and in evaluation mode, whatever the norm's weight."
        ),
        source=_PLAN_21 + " (InstanceNorm2d after GELU; test_zero_mean_update)",
    ),
    Clause(
        id="BLK-009",
        level="SHOULD",
        title="layerscale init is near-identity",
        text=(
            "With init='layerscale' a freshly built StablePtychoBlock has an update whose "
            "root-mean-square over the spatial axes is at most layerscale_init for every sample "
            "and channel."
        ),
        source=_NOTES + " (upstream replaced zero-gamma by InstanceNorm(1, 0) + LayerScale 1e-3)",
    ),
    Clause(
        id="BLK-010",
        level="MUST",
        title="block arguments validated",
        text=(
            "A block given channels or modes < 1, an init other than 'zero_gamma' or "
            "'layerscale', or a layerscale_init that is not a finite number > 0 raises "
            "ValueError naming the argument, the value and what is allowed."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="BLK-011",
        level="SHOULD",
        title="stable branch trainable from init",
        text=(
            "One gradient step on a regression loss moves a freshly built StablePtychoBlock "
            "away from the identity, so its residual branch cannot stay switched off."
        ),
        source=_NOTES + " (zero-gamma arm stagnated; identity at init is not sufficient)",
    ),
    Clause(
        id="BLK-012",
        level="MUST",
        title="generator output shape and layout",
        text=(
            "Generator(in_channels, out_channels, hidden_channels, n_blocks, modes, C) maps a "
            "finite (B, C*in_channels, H, W) tensor to a finite (B, H, W, C, out_channels) tensor "
            "of the same dtype, the last axis holding (real, imag) when out_channels is 2."
        ),
        source=_NOTES + " (HybridUNOGenerator output reshaped to (B, H, W, C, 2))",
    ),
    Clause(
        id="BLK-013",
        level="MUST",
        title="stable_hybrid is hybrid but for the block",
        text=(
            "Built with the same arguments, the stable generator has the hybrid generator's "
            "module tree, layer types and parameter shapes everywhere except at the spectral-block "
            "positions, where every plain block is replaced by the stable block, whose own "
            "parameters extend the plain block's by its norm (and gate) only."
        ),
        source=_PLAN_22 + " (all other architecture remains identical)",
    ),
    Clause(
        id="BLK-014",
        level="MUST",
        title="generator input errors",
        text=(
            "A generator given an input that is not 4-D, whose channel count is not "
            "C*in_channels, or whose H or W is not divisible by 2**(n_blocks-1) raises ValueError "
            "naming the bad size and the requirement before any of its layers runs."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="BLK-015",
        level="SHOULD",
        title="parameter count known before building",
        text=(
            "A generator's parameter count can be computed from its model config without building "
            "it, and equals the count of the generator built from that config."
        ),
        source=_NOTES + " (parameters grow as channels² × modes²: ~17 M at 4 blocks, ~4.4 B at 8)",
    ),
)
