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
        tier="plan",
        why=("The FNO paper's spectral convolution; odd grids are ordinary ones."),
        title="spectral conv: real output",
        text=(
            "The spectral convolution maps a real (B, in, H, W) tensor to a real (B, out, H, W) "
            "tensor of the same dtype for every grid that holds its modes (H, W >= 2 * modes), "
            "odd sizes included."
        ),
        source=_ISSUE,
    ),
    Clause(
        id="BLK-002",
        level="MUST",
        tier="plan",
        why=("A spectral convolution is a convolution (FNO paper)."),
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
        tier="plan",
        why=("The FNO paper keeps both frequency corners; upstream kept one."),
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
        tier="strict",
        why=("An economy the plan does not ask for."),
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
        tier="plan",
        why=("Task 2.1's block without its norm."),
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
        tier="plan",
        why=("Task 2.1; torch's InstanceNorm needs two spatial values in training (1x1: BLK-017)."),
        title="block forward shape",
        text=(
            "A block built as Block(channels, modes) maps a finite (B, channels, H, W) tensor to "
            "a finite tensor of the same shape and dtype for every B >= 1 and H, W >= 1 with "
            "H * W >= 2."
        ),
        source=_PLAN_21 + " (test_forward_shape)",
    ),
    Clause(
        id="BLK-007",
        level="MUST",
        tier="plan",
        why=("Task 2.1: zero-gamma init makes the block the identity."),
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
        tier="plan",
        why=("Task 2.1's test_zero_mean_update."),
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
        tier="strict",
        why=("The layerscale init is an extension (from the field notes)."),
        title="layerscale init is near-identity",
        text=(
            "With init='layerscale' a freshly built StablePtychoBlock has an update whose "
            "root-mean-square over the spatial axes is at most layerscale_init for every sample "
            "and channel, and is not the identity (a zero start is zero-gamma)."
        ),
        source=_NOTES + " (upstream replaced zero-gamma by InstanceNorm(1, 0) + LayerScale 1e-3)",
    ),
    Clause(
        id="BLK-010",
        level="MUST",
        tier="strict",
        why=("Argument validation."),
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
        tier="plan",
        why=("The upstream study: identity at init is not enough when the branch cannot leave it."),
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
        tier="plan",
        why=("The plan's generators take one input channel per patch and give (real, imag)."),
        title="generator output shape and layout",
        text=(
            "Generator(1, 2, hidden_channels, n_blocks, modes, C) maps a finite (B, C, H, W) "
            "tensor to a finite (B, H, W, C, 2) tensor of the same dtype, the last axis "
            "holding (real, imag)."
        ),
        source=_NOTES + " (HybridUNOGenerator output reshaped to (B, H, W, C, 2))",
    ),
    Clause(
        id="BLK-013",
        level="MUST",
        tier="plan",
        why=("Task 2.2: the same generator with the stable block."),
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
        tier="strict",
        why=("Input validation."),
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
        tier="strict",
        why=("A convenience the plan does not ask for."),
        title="parameter count known before building",
        text=(
            "A generator's parameter count can be computed from its model config without building "
            "it, and equals the count of the generator built from that config."
        ),
        source=_NOTES + " (parameters grow as channels² × modes²: ~17 M at 4 blocks, ~4.4 B at 8)",
    ),
    Clause(
        id="BLK-016",
        level="MUST",
        tier="strict",
        why="Degenerate sizes: the plan's generators never give a grid smaller than the modes.",
        title="spectral conv: grids smaller than the modes",
        text=(
            "The spectral convolution also maps grids that cannot hold its modes (any H, W >= 1), "
            "capping its modes to what the grid holds, with BLK-001 to BLK-003 holding there too."
        ),
        source="issue 11 (small-grid part of BLK-001)",
    ),
    Clause(
        id="BLK-017",
        level="MUST",
        tier="strict",
        why=(
            "Degenerate: torch's InstanceNorm2d, which Task 2.1 prescribes, rejects a 1x1 grid in "
            "training."
        ),
        title="block on a 1x1 grid",
        text=(
            "A block maps a finite (B, channels, 1, 1) tensor to a finite tensor of that shape, in "
            "training and in evaluation mode."
        ),
        source="issue 11 (1x1 part of BLK-006)",
    ),
    Clause(
        id="BLK-018",
        level="MUST",
        tier="strict",
        why="Generality beyond the plan's fixed layout.",
        title="generator: other channel counts",
        text=(
            "The generator takes any in_channels >= 1 and out_channels >= 1: (B, C*in_channels, H, "
            "W) -> finite (B, H, W, C, out_channels)."
        ),
        source="issue 11 (channel counts of BLK-012)",
    ),
    Clause(
        id="BLK-019",
        level="MUST",
        tier="strict",
        why=(
            "The FNO's complex weights are cfloat: float64 inputs are a generality the plan "
            "does not ask for."
        ),
        title="spectral conv: float64 inputs",
        text=(
            "The spectral convolution maps a float64 input to a float64 output, with BLK-001 "
            "to BLK-003 holding in float64 too."
        ),
        source="issue 11 (dtype part of BLK-001)",
    ),
    Clause(
        id="BLK-020",
        level="MUST",
        tier="plan",
        why=("Task 2.1's formula: identity at init and a centred update hold for many blocks."),
        title="StablePtychoBlock form",
        text=(
            "With its norm's gain set to 1 and shift to 0, StablePtychoBlock computes "
            "y = x + InstanceNorm(GELU(S(x) + K(x))), with S a spectral convolution, K a 3x3 "
            "convolution and the norm over each sample's and channel's spatial values."
        ),
        source=_PLAN_21 + " (y = x + InstanceNorm(GELU(SpectralConv(x) + Conv3x3(x))))",
    ),
    Clause(
        id="BLK-021",
        level="MUST",
        tier="plan",
        why=("A block built and never called still leaves the output's shape right (BLK-012)."),
        title="generator: every parameter on the way to the output",
        text=(
            "After one backward pass from the generator's output, every trainable parameter of "
            "HybridUNOGenerator and StableHybridGenerator has a gradient (a zero-gamma block's "
            "zeros count): no layer is built and left out of the forward pass."
        ),
        source="implementation-plan.md, Tasks 2.1-2.2 (the generator runs every block it builds)",
    ),
)
