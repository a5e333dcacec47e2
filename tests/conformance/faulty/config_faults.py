"""Faulty training configs and bridges, each breaking the CFG clauses listed in :data:`FAULTS`.

Used by tests/test_conformance_faults.py to show the harness catches each one on its
clause and nowhere else. Most break exactly one clause; where two clauses overlap (a
dropped field breaks carrying and round trip alike) the entry lists both, and
:data:`ALSO_POSSIBLE` lists clauses a fault fails only on some examples.

The configs subclass the spec models and change one field, so everything else stays
faithful. :class:`UpstreamTorchTrainingConfig` / :class:`UpstreamTFTrainingConfig` are
plain dataclasses shaped like the upstream ones (field notes): they accept anything.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import ConfigDict

import spec
from spec.bridge import FIELD_TABLE

Side = Literal["torch", "tf"]

__all__ = [
    "ALSO_POSSIBLE",
    "FAULTS",
    "LaxTorchConfig",
    "NegativeClipTorchConfig",
    "NoValueAlgorithmTFConfig",
    "OtherBatchDefaultTFConfig",
    "PlainStrAlgorithmTorchConfig",
    "UnknownKeysIgnoredTorchConfig",
    "UpstreamTFTrainingConfig",
    "UpstreamTorchTrainingConfig",
    "ValueDefaultTFConfig",
    "ValueDefaultTorchConfig",
    "crossed_algorithm_bridge",
    "drops_algorithm_bridge",
    "no_rename_bridge",
    "noisy_bridge",
    "silent_bridge",
]


class PlainStrAlgorithmTorchConfig(spec.TorchTrainingConfig):
    """The algorithm typed plain ``str`` as upstream: 'bogus' is accepted (CFG-003)."""

    gradient_clip_algorithm: str = "norm"  # type: ignore[assignment]


class ValueDefaultTorchConfig(spec.TorchTrainingConfig):
    """Defaults to 'value' (CFG-002; and CFG-007 next to a TF side defaulting to 'norm')."""

    gradient_clip_algorithm: spec.ClipAlgorithm = "value"


class ValueDefaultTFConfig(spec.TFTrainingConfig):
    """TF twin of :class:`ValueDefaultTorchConfig`: together they agree, both wrong (CFG-002)."""

    gradient_clip_algorithm: spec.ClipAlgorithm = "value"


class NoValueAlgorithmTFConfig(spec.TFTrainingConfig):
    """Allows only 'norm' and 'agc' (CFG-001); configs with 'value' cannot be built, so
    the bridge cannot carry or round-trip them either (CFG-005, CFG-006)."""

    gradient_clip_algorithm: Literal["norm", "agc"] = "norm"


class NegativeClipTorchConfig(spec.TorchTrainingConfig):
    """``gradient_clip_val: float | None`` with no range: negative, NaN, inf accepted (CFG-004)."""

    gradient_clip_val: float | None = None


class LaxTorchConfig(spec.TorchTrainingConfig):
    """Pydantic's lax mode: '16' -> 16, 2.0 -> 2, True -> 1 are coerced, not rejected (CFG-010)."""

    model_config = ConfigDict(strict=False)


class UnknownKeysIgnoredTorchConfig(spec.TorchTrainingConfig):
    """``extra='ignore'``: a misspelt key is silently dropped (CFG-008)."""

    model_config = ConfigDict(extra="ignore")


class OtherBatchDefaultTFConfig(spec.TFTrainingConfig):
    """TF batch size defaults to 32, Torch to 16 (CFG-007)."""

    batch_size: int = 32


@dataclass
class UpstreamTorchTrainingConfig:
    """Shaped like the upstream Torch dataclass: types are annotations only (CFG-003/004/010)."""

    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str = "norm"
    batch_size: int = 16
    epochs: int = 50
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    nphotons: float = 1e9
    accumulate_grad_batches: int = 1
    loss_function: str = "poisson"


@dataclass
class UpstreamTFTrainingConfig:
    """Shaped like the upstream TF dataclass, ``Literal`` typing included (not enforced)."""

    gradient_clip_val: float | None = None
    gradient_clip_algorithm: Literal["norm", "value", "agc"] = "norm"
    batch_size: int = 16
    nepochs: int = 50
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    seed: int = 42
    nphotons: float = 1e9
    nll_weight: float = 1.0
    mae_weight: float = 0.0


# --- bridges: objects with to_tf / to_torch ---------------------------------------------------


def _bridge(to_tf: Any, to_torch: Any) -> SimpleNamespace:
    return SimpleNamespace(to_tf=to_tf, to_torch=to_torch)


def _same_names_only(cfg: Any, source: Side, target: Side, model: type[Any]) -> Any:
    """Copy the fields whose name is the same on both sides; warn about one-sided values."""
    values: dict[str, Any] = {}
    for row in FIELD_TABLE:
        name = row.name_on(source)
        if name is not None and name == row.name_on(target):
            values[name] = getattr(cfg, name)
    lost = spec.unmapped_fields(cfg)
    if lost:
        warnings.warn(f"one-sided fields dropped: {lost}", spec.UnmappedFieldWarning, stacklevel=2)
    return model(**values)


drops_algorithm_bridge = _bridge(
    lambda cfg: spec.TFTrainingConfig(
        **{k: v for k, v in spec.to_tf(cfg).model_dump().items() if k != "gradient_clip_algorithm"}
    ),
    spec.to_torch,
)
"""The plan's status: to_tf does not carry gradient_clip_algorithm (CFG-005, CFG-006)."""

_CROSS: Mapping[str, str] = {"norm": "value", "value": "norm", "agc": "agc"}

crossed_algorithm_bridge = _bridge(
    lambda cfg: spec.to_tf(cfg).model_copy(
        update={"gradient_clip_algorithm": _CROSS[cfg.gradient_clip_algorithm]}
    ),
    lambda cfg: spec.to_torch(cfg).model_copy(
        update={"gradient_clip_algorithm": _CROSS[cfg.gradient_clip_algorithm]}
    ),
)
"""Translates algorithm names through a crossed table both ways: the round trip is the
identity, but 'norm' arrives as 'value' (CFG-005 only)."""

no_rename_bridge = _bridge(
    lambda cfg: _same_names_only(cfg, "torch", "tf", spec.TFTrainingConfig),
    lambda cfg: _same_names_only(cfg, "tf", "torch", spec.TorchTrainingConfig),
)
"""Copies only same-named fields: epochs / nepochs are left at the default (CFG-006)."""


silent_bridge = _bridge(
    lambda cfg: spec.to_tf(cfg, on_unmapped="ignore"),
    lambda cfg: spec.to_torch(cfg, on_unmapped="ignore"),
)
"""Drops one-sided non-default values without a word (CFG-009, a SHOULD)."""


def _noisy(convert: Any) -> Any:
    def noisy(cfg: Any) -> Any:
        warnings.warn("some fields may not carry across", UserWarning, stacklevel=2)
        return convert(cfg)

    return noisy


noisy_bridge = _bridge(_noisy(spec.to_tf), _noisy(spec.to_torch))
"""Warns on every conversion, a config at its defaults too: a report that always fires
(CFG-009, a SHOULD)."""


FAULTS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "plain_str_algorithm": ({"torch_config": PlainStrAlgorithmTorchConfig}, {"CFG-003", "CFG-011"}),
    "value_default_both_sides": (
        {"torch_config": ValueDefaultTorchConfig, "tf_config": ValueDefaultTFConfig},
        {"CFG-002"},
    ),
    "value_default_torch_only": ({"torch_config": ValueDefaultTorchConfig}, {"CFG-002", "CFG-007"}),
    "no_value_algorithm_tf": ({"tf_config": NoValueAlgorithmTFConfig}, {"CFG-001"}),
    "negative_clip": ({"torch_config": NegativeClipTorchConfig}, {"CFG-012"}),
    "lax_types": ({"torch_config": LaxTorchConfig}, {"CFG-010"}),
    "unknown_keys_ignored": ({"torch_config": UnknownKeysIgnoredTorchConfig}, {"CFG-008"}),
    "other_batch_default": ({"tf_config": OtherBatchDefaultTFConfig}, {"CFG-007"}),
    "crossed_algorithm_bridge": ({"bridge": f"{__name__}:crossed_algorithm_bridge"}, {"CFG-005"}),
    "drops_algorithm_bridge": (
        {"bridge": f"{__name__}:drops_algorithm_bridge"},
        {"CFG-005", "CFG-006"},
    ),
    "no_rename_bridge": ({"bridge": f"{__name__}:no_rename_bridge"}, {"CFG-006"}),
    "silent_bridge": ({"bridge": f"{__name__}:silent_bridge"}, {"CFG-009"}),
    "noisy_bridge": ({"bridge": f"{__name__}:noisy_bridge"}, {"CFG-009"}),
}
"""name -> (roles replaced in the faithful {tf_config, torch_config, bridge}, clauses it fails).

Bridges are given by name: they are namespace objects, which a worker process can only find
again by the module attribute that holds them."""

ALSO_POSSIBLE: dict[str, set[str]] = {"no_value_algorithm_tf": {"CFG-005", "CFG-006"}}
"""Clauses a fault fails too when the examples happen to use what it lacks (its configs with
'value' cannot be built, so the bridge properties fail on them when they draw one)."""
