"""A generator's parameter count from its configuration, without building it.

>>> import spec
>>> from impl.param_count import count_parameters
>>> count_parameters(spec.ModelConfig())  # defaults: N=64, width 32, 4 blocks, 12 modes
11387144

Spectral weights grow as channels² × modes² and channels double at every
encoder level, so depth makes the count explode; this computes it in closed
form, layer by layer, so a run can be sized before anything is allocated
(BLK-015). Counts are ``sum(p.numel())``: a complex spectral weight counts as
one element (two float32 numbers, 8 bytes); ``real_scalars=True`` counts it
twice, which times 4 gives float32 bytes.

Figures at the default width (32, gridsize 2, 12 modes). The upstream
layout kept one frequency corner; recounting this layout with one corner
gives the notes' figures back, which checks that the layout matches:

======  ===============  ==============  ==============  ===========================
blocks  upstream (notes) one corner      both corners    both corners, sized for N
======  ===============  ==============  ==============  ===========================
4       ~17 M            17,203,464      32,096,520      11,387,144 (N=64)
8       ~4.4 B           4,417,976,584   8,243,132,680   681,851,144 (N=128)
======  ===============  ==============  ==============  ===========================

Sized for N (what :func:`count_parameters` reports, since ``ModelConfig.N``
is known) removes the weights of modes a level's grid cannot hold: at N=64
the 8x8 deepest level holds 4 + 4 rows and 5 columns of a 12-mode weight.
(8 blocks need N to be a multiple of 128.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from impl.generators import check_input_size, level_channels
from impl.spectral import Size2d, as_size, mode_counts

if TYPE_CHECKING:
    from spec import ModelConfig

__all__ = ["count_parameters", "hybrid_parameter_count"]


def _conv(cin: int, cout: int, kernel: int) -> int:
    return cin * cout * kernel * kernel + cout


def _spectral(channels: int, modes: int, size: Size2d | None, complex_size: int) -> int:
    pos, neg, cols = (modes, modes, modes) if size is None else mode_counts(modes, size)
    return channels * channels * (pos + neg) * cols * complex_size


def _block(
    channels: int, modes: int, size: Size2d | None, stable_init: str | None, complex_size: int
) -> int:
    count = _spectral(channels, modes, size, complex_size) + _conv(channels, channels, 3)
    if stable_init is not None:
        count += 2 * channels  # instance norm weight and bias
    if stable_init == "layerscale":
        count += channels  # per-channel gate
    return count


def hybrid_parameter_count(
    in_channels: int = 1,
    out_channels: int = 2,
    hidden_channels: int = 32,
    n_blocks: int = 4,
    modes: int = 12,
    C: int = 4,
    max_hidden_channels: int | None = None,
    input_size: int | Size2d | None = None,
    stable_init: str | None = None,
    real_scalars: bool = False,
) -> int:
    """Parameter count of ``HybridUNOGenerator(...)`` (``stable_init=None``) or of
    ``StableHybridGenerator(..., init=stable_init)``, from the constructor arguments.

    >>> hybrid_parameter_count(hidden_channels=4, n_blocks=2, modes=3, C=1)
    3790
    """
    size = None if input_size is None else as_size("input_size", input_size)
    if size is not None:
        check_input_size(size, n_blocks)
    widths = level_channels(hidden_channels, n_blocks, max_hidden_channels)
    complex_size = 2 if real_scalars else 1

    def level_size(level: int) -> Size2d | None:
        return None if size is None else (size[0] >> level, size[1] >> level)

    last = n_blocks - 1
    total = _conv(C * in_channels, widths[0], 3) + _conv(widths[0], widths[0], 3)  # lift
    for level, width in enumerate(widths):
        total += _block(width, modes, level_size(level), stable_init, complex_size)
    total += _block(widths[last], max(1, modes // 2), level_size(last), stable_init, complex_size)
    for level in range(last):
        total += _conv(widths[level], widths[level + 1], 2)  # down
        total += _conv(widths[level + 1], widths[level], 2)  # up (transposed: same count)
        total += _conv(2 * widths[level], widths[level], 3) + _conv(widths[level], widths[level], 3)
    total += _conv(widths[0], C * out_channels, 1)  # project
    return total


def count_parameters(model_config: ModelConfig, *, real_scalars: bool = False) -> int:
    """Parameter count of ``build_generator(model_config)``, without allocating it.

    Closed form for 'hybrid' and 'stable_hybrid'; any other registered
    architecture is built on the ``meta`` device (shapes only, no memory).
    """
    from impl.generators import HybridUNOGenerator, StableHybridGenerator
    from impl.registry import build_generator, resolve_generator

    cls = resolve_generator(model_config)
    if cls in (HybridUNOGenerator, StableHybridGenerator):
        return hybrid_parameter_count(
            in_channels=1,
            out_channels=2,
            hidden_channels=model_config.fno_width,
            n_blocks=model_config.fno_blocks,
            modes=model_config.fno_modes,
            C=model_config.C,
            max_hidden_channels=model_config.max_hidden_channels,
            input_size=model_config.N,
            stable_init=model_config.stable_init if cls is StableHybridGenerator else None,
            real_scalars=real_scalars,
        )
    import torch

    with torch.device("meta"):
        model = build_generator(model_config)
    return sum(
        p.numel() * (2 if real_scalars and p.is_complex() else 1) for p in model.parameters()
    )
