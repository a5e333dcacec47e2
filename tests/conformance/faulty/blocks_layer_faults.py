"""Faulty spectral convs, plain blocks and registry APIs, each failing its clause in FAULTS.

Each wraps the reference implementation and changes one thing:

- :class:`OneCornerSpectralConv` keeps only the non-negative first-axis frequencies, as the
  upstream layer does (BLK-003).
- :class:`CroppedSpectralConv` drops the last column of odd widths, as ``irfft2`` without
  ``s=`` does (BLK-001).
- :class:`AnchoredGainSpectralConv` scales its output by a gain read at pixel (0, 0), so a
  shifted input gets another gain (BLK-002).
- :class:`GeluOutsideBlock` computes GELU(x + S(x) + K(x)) (BLK-005);
  :class:`ReflectPadBlock` pads K by reflection (BLK-005).
- :func:`overwriting_register` / :func:`table_resolve` replace a taken name silently (REG-004).
- :func:`forgetful_register` refuses the built-in names but keeps nothing it accepts: a class
  registered under a fresh name does not resolve (REG-004).
- :class:`UpstreamModelConfig` takes any architecture string (REG-005).
- :func:`halved_modes_build` drops a config field (REG-008), :func:`capless_build` the channel
  cap (REG-010).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

import impl
from impl.generators import HybridUNOGenerator, StableHybridGenerator

__all__ = [
    "FAULTS",
    "AnchoredGainSpectralConv",
    "CroppedSpectralConv",
    "GeluOutsideBlock",
    "OneCornerSpectralConv",
    "ReflectPadBlock",
    "UpstreamModelConfig",
    "capless_build",
    "forgetful_register",
    "halved_modes_build",
    "overwriting_register",
    "table_resolve",
]


class OneCornerSpectralConv(impl.SpectralConv2d):
    """No negative-frequency weights: frequencies -m..-1 of the first axis are dropped."""

    def __init__(self, in_channels: int, out_channels: int, modes: int) -> None:
        super().__init__(in_channels, out_channels, modes)
        self.register_parameter("weight_neg", None)


class CroppedSpectralConv(impl.SpectralConv2d):
    """Output width rounded down to even (irfft2 without ``s=``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[..., : 2 * (x.shape[-1] // 2)]


class AnchoredGainSpectralConv(impl.SpectralConv2d):
    """Output times (1 + tanh(x at pixel (0, 0) of channel 0) / 2): not shift-equivariant."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * (1 + 0.5 * torch.tanh(x[:, :1, :1, :1]))


class GeluOutsideBlock(impl.PtychoBlock):
    """GELU applied after the residual sum: y = GELU(x + S(x) + K(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x + self.spectral(x) + self.conv(x))


class ReflectPadBlock(impl.PtychoBlock):
    """K pads by reflection instead of zeros."""

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__(channels, modes)
        self.conv.padding_mode = "reflect"


_TABLE: dict[str, type[nn.Module]] = {
    "hybrid": HybridUNOGenerator,
    "stable_hybrid": StableHybridGenerator,
}


def table_resolve(name: str) -> type[nn.Module]:
    """A registry over a private table (LookupError listing the names)."""
    try:
        return _TABLE[name]
    except KeyError:
        raise LookupError(f"unknown generator {name!r}; available: {sorted(_TABLE)}") from None


def overwriting_register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Registers into :data:`_TABLE`, silently replacing a taken name."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        _TABLE[name] = cls
        return cls

    return add


def forgetful_register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Refuses a taken name, and accepts any other without adding it anywhere."""
    if name in _TABLE:
        raise ValueError(f"generator name {name!r} is already taken")
    return lambda cls: cls


def reset_table() -> None:
    """Put the built-in entries back (after a check registered over them)."""
    _TABLE.clear()
    _TABLE.update({"hybrid": HybridUNOGenerator, "stable_hybrid": StableHybridGenerator})


@dataclass
class UpstreamModelConfig:
    """A dataclass model config: ``architecture`` is any string."""

    architecture: str = "hybrid"
    N: int = 64
    gridsize: int = 2
    fno_width: int = 32
    fno_blocks: int = 4
    fno_modes: int = 12
    max_hidden_channels: int | None = None
    stable_init: str = "zero_gamma"
    layerscale_init: float = 1e-3


def halved_modes_build(model_config: Any) -> nn.Module:
    """Builds with half the configured modes."""
    return impl.build_generator(model_config, modes=max(1, model_config.fno_modes // 2))


def capless_build(model_config: Any) -> nn.Module:
    """Ignores max_hidden_channels."""
    return impl.build_generator(model_config, max_hidden_channels=None)


FAULTS: list[tuple[str, dict[str, Any], str]] = [
    ("one_corner", {"spectral_conv": OneCornerSpectralConv}, "BLK-003"),
    ("cropped", {"spectral_conv": CroppedSpectralConv}, "BLK-001"),
    ("anchored_gain", {"spectral_conv": AnchoredGainSpectralConv}, "BLK-002"),
    ("gelu_outside", {"plain_block": GeluOutsideBlock}, "BLK-005"),
    ("reflect_pad", {"plain_block": ReflectPadBlock}, "BLK-005"),
    ("stable_as_plain", {"plain_block": impl.StablePtychoBlock}, "BLK-005"),
    (
        "overwriting_register",
        {"registry": table_resolve, "register": overwriting_register},
        "REG-004",
    ),
    (
        "forgetful_register",
        {"registry": table_resolve, "register": forgetful_register},
        "REG-004",
    ),
    (
        "any_name_config",
        {"registry": impl.resolve_generator, "model_config": UpstreamModelConfig},
        "REG-005",
    ),
    ("halved_modes_build", {"build_generator": halved_modes_build}, "REG-008"),
    ("capless_build", {"build_generator": capless_build}, "REG-010"),
]
"""(name, roles replaced in the reference implementation, the clause it fails)."""
