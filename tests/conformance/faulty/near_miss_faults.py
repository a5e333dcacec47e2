"""Implementations that accept a near miss of an enumerated name (issue 18): each refuses a
random unknown name, so only a near miss (or reading the annotation) finds it.

Configs subclass the faithful ones (``faithful/configs.py``: the plan's TF dataclass and the
lax Pydantic Torch model) and change one field, so everything else stays as the plan writes
it; :data:`FAULTS` maps each to the targets it replaces and the clauses it must fail, at plan
level unless its name says strict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import torch
from faithful import clipping as faithful_clipping
from faithful import configs as faithful_configs
from faithful import registry as faithful_registry
from pydantic import field_validator

import impl
from spec.vocabulary import StableInit

__all__ = [
    "FAULTS",
    "STRICT_FAULTS",
    "AutoEnumTFConfig",
    "CaseInsensitiveTorchConfig",
    "FoldedInitBlock",
    "IdentityInitBlock",
    "NoneMeansOffTorchConfig",
    "OpenLiteralTorchConfig",
    "SubsetLiteralTFConfig",
    "SupersetLiteralTorchConfig",
    "clip_accepting_off",
    "clip_with_auto",
    "resolve_default",
    "resolve_ignoring_case",
]


class SupersetLiteralTorchConfig(faithful_configs.TorchTrainingConfig):
    """A fourth name in the annotation: Pydantic refuses 'bogus' but builds 'auto', which the
    plan's if/elif dispatch falls through on (CFG-003)."""

    gradient_clip_algorithm: Literal["norm", "value", "agc", "auto"] = "norm"  # type: ignore[assignment]


@dataclass
class SubsetLiteralTFConfig(faithful_configs.TFTrainingConfig):
    """The plan's dataclass annotated with two of the three names: it builds 'agc' (a
    dataclass checks nothing) but a type checker refuses it (CFG-001)."""

    gradient_clip_algorithm: Literal["norm", "value"] = "norm"  # type: ignore[assignment]


class NoneMeansOffTorchConfig(faithful_configs.TorchTrainingConfig):
    """'none' and 'off' mean no clipping: a validator maps them to None before the Literal sees
    them, and the field is Optional (CFG-003: it admits None)."""

    gradient_clip_algorithm: Literal["norm", "value", "agc"] | None = "norm"  # type: ignore[assignment]

    @field_validator("gradient_clip_algorithm", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        return None if value in ("none", "off") else value


class CaseInsensitiveTorchConfig(faithful_configs.TorchTrainingConfig):
    """Names compared case- and space-insensitively: 'AGC' and ' norm' are accepted and stored
    as 'agc' and 'norm' although the annotation lists only the three (CFG-003)."""

    @field_validator("gradient_clip_algorithm", mode="before")
    @classmethod
    def _fold(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class _Algorithm(str, Enum):
    NORM = "norm"
    VALUE = "value"
    AGC = "agc"
    AUTO = "auto"


@dataclass
class AutoEnumTFConfig(faithful_configs.TFTrainingConfig):
    """The field typed by an Enum with a fourth member, 'auto' (CFG-003)."""

    gradient_clip_algorithm: _Algorithm = _Algorithm.NORM  # type: ignore[assignment]


class OpenLiteralTorchConfig(faithful_configs.TorchTrainingConfig):
    """``Literal[...] | str``: the Literal documents the names, the ``str`` admits any other,
    and Pydantic builds 'bogus' (CFG-003; before, the Literal alone was read)."""

    gradient_clip_algorithm: Literal["norm", "value", "agc"] | str = "norm"  # type: ignore[assignment]


def clip_accepting_off(parameters: Iterable[torch.Tensor], algorithm: str, value: Any) -> None:
    """The plan's dispatch, hardened against unknown names except 'off' and 'none', which it
    reads as "no clipping" (AGC-030, strict: the dispatch must refuse them)."""
    if algorithm in ("off", "none"):
        return
    if algorithm not in ("norm", "value", "agc"):
        raise ValueError(f"unknown algorithm {algorithm!r}: use 'norm', 'value' or 'agc'")
    faithful_clipping.clip_gradients_(parameters, algorithm, value)


def clip_with_auto(
    parameters: Iterable[torch.Tensor],
    algorithm: Literal["norm", "value", "agc", "auto"],
    value: Any,
) -> None:
    """A hardened dispatch whose annotation has a fourth name, 'auto', taken as 'norm'
    (AGC-030: the annotation admits a name outside the three)."""
    clip_accepting_off(parameters, "norm" if algorithm == "auto" else algorithm, value)


class IdentityInitBlock(impl.StablePtychoBlock):
    """The bundled stable block with a third init, 'identity', taken as 'zero_gamma' and listed
    in its annotation (BLK-010)."""

    def __init__(
        self,
        channels: int,
        modes: int,
        init: Literal["zero_gamma", "layerscale", "identity"] = "zero_gamma",
        layerscale_init: float = 1e-3,
    ) -> None:
        chosen = "zero_gamma" if init == "identity" else init
        super().__init__(channels, modes, init=chosen, layerscale_init=layerscale_init)


class FoldedInitBlock(impl.StablePtychoBlock):
    """The bundled stable block reading its init case- and space-insensitively: 'ZERO_GAMMA'
    and ' layerscale' are accepted (BLK-010); the annotation is the plan's."""

    def __init__(
        self,
        channels: int,
        modes: int,
        init: StableInit = "zero_gamma",
        layerscale_init: float = 1e-3,
    ) -> None:
        folded: Any = init.strip().lower() if isinstance(init, str) else init
        super().__init__(channels, modes, init=folded, layerscale_init=layerscale_init)


def resolve_ignoring_case(name: str) -> Any:
    """The faithful registry, but names are folded to lower case and stripped first: 'Hybrid'
    and 'hybrid ' resolve (REG-003: a name it does not know builds a generator)."""
    return faithful_registry.resolve_generator(name.strip().lower())


def resolve_default(name: str) -> Any:
    """The faithful registry with a 'default' alias for 'hybrid' (REG-003: 'no default
    class')."""
    return faithful_registry.resolve_generator("hybrid" if name == "default" else name)


FAULTS: dict[str, tuple[dict[str, str], set[str]]] = {
    "superset_literal": ({"torch_config": f"{__name__}:SupersetLiteralTorchConfig"}, {"CFG-003"}),
    "subset_literal": ({"tf_config": f"{__name__}:SubsetLiteralTFConfig"}, {"CFG-001"}),
    "none_means_off": ({"torch_config": f"{__name__}:NoneMeansOffTorchConfig"}, {"CFG-003"}),
    "case_insensitive": ({"torch_config": f"{__name__}:CaseInsensitiveTorchConfig"}, {"CFG-003"}),
    "auto_enum": ({"tf_config": f"{__name__}:AutoEnumTFConfig"}, {"CFG-003"}),
    "open_literal": ({"torch_config": f"{__name__}:OpenLiteralTorchConfig"}, {"CFG-003"}),
    "registry_ignores_case": ({"registry": f"{__name__}:resolve_ignoring_case"}, {"REG-003"}),
    "registry_default_alias": ({"registry": f"{__name__}:resolve_default"}, {"REG-003"}),
}
"""Each plan-level fault: the roles it replaces (``module:attr``) and the clauses it fails."""

STRICT_FAULTS: dict[str, tuple[dict[str, str], set[str]]] = {
    "clip_accepting_off": ({"clip": f"{__name__}:clip_accepting_off"}, {"AGC-030"}),
    "clip_with_auto": ({"clip": f"{__name__}:clip_with_auto"}, {"AGC-030"}),
    "block_identity_init": ({"block": f"{__name__}:IdentityInitBlock"}, {"BLK-010"}),
    "block_folds_init_case": ({"block": f"{__name__}:FoldedInitBlock"}, {"BLK-010"}),
}
"""Faults of strict clauses only (the plan's own dispatch falls through on every unknown name):
the roles replaced in the bundled implementation, and the clauses they fail under --strict."""
