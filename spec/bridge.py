"""The bridge between the Torch-side and TF-side training configs.

>>> from spec import TorchTrainingConfig, to_tf, to_torch
>>> tf = to_tf(TorchTrainingConfig(epochs=7, gradient_clip_algorithm="agc"))
>>> tf.nepochs, tf.gradient_clip_algorithm
(7, 'agc')
>>> to_torch(tf).epochs
7

Both directions are driven by one declarative table, :data:`FIELD_TABLE`:
renames (``epochs`` <-> ``nepochs``) live there and nowhere else. A field
that exists on one side only cannot be carried across; when it holds a
non-default value the conversion reports it (a :class:`UnmappedFieldWarning`,
or a :class:`BridgeError` with ``on_unmapped='error'``) instead of dropping it
silently. :func:`unmapped_fields` lists those values without converting.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from spec.config import TFTrainingConfig, TorchTrainingConfig

__all__ = [
    "FIELD_TABLE",
    "BridgeError",
    "FieldMap",
    "UnmappedFieldWarning",
    "to_tf",
    "to_torch",
    "unmapped_fields",
]

Side = Literal["torch", "tf"]
OnUnmapped = Literal["warn", "error", "ignore"]
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class FieldMap:
    """One row of the bridge table: the field's name on each side (None: absent there)."""

    torch: str | None
    tf: str | None

    def name_on(self, side: Side) -> str | None:
        return self.torch if side == "torch" else self.tf


FIELD_TABLE: tuple[FieldMap, ...] = (
    FieldMap(torch="gradient_clip_val", tf="gradient_clip_val"),
    FieldMap(torch="gradient_clip_algorithm", tf="gradient_clip_algorithm"),
    FieldMap(torch="batch_size", tf="batch_size"),
    FieldMap(torch="epochs", tf="nepochs"),
    FieldMap(torch="learning_rate", tf="learning_rate"),
    FieldMap(torch="optimizer", tf="optimizer"),
    FieldMap(torch="seed", tf="seed"),
    FieldMap(torch="nphotons", tf="nphotons"),
    FieldMap(torch="accumulate_grad_batches", tf=None),
    FieldMap(torch="loss_function", tf=None),
    FieldMap(torch=None, tf="nll_weight"),
    FieldMap(torch=None, tf="mae_weight"),
)
"""Every field of both training configs, exactly once (clauses CFG-006, CFG-007)."""

_MODELS: dict[Side, type[BaseModel]] = {"torch": TorchTrainingConfig, "tf": TFTrainingConfig}


class BridgeError(ValueError):
    """A conversion would lose a value that has no counterpart on the other side."""


class UnmappedFieldWarning(UserWarning):
    """A one-sided field held a non-default value that the conversion cannot carry."""


def _coerce(cfg: BaseModel | Mapping[str, Any], model: type[_M]) -> _M:
    if isinstance(cfg, model):
        return cfg
    if isinstance(cfg, Mapping):
        return model.model_validate(dict(cfg))
    raise TypeError(
        f"expected a {model.__name__} or a mapping of its fields, got {type(cfg).__name__}"
    )


def unmapped_fields(cfg: TorchTrainingConfig | TFTrainingConfig) -> dict[str, Any]:
    """Fields of ``cfg`` that have no counterpart on the other side and differ from default.

    >>> unmapped_fields(TorchTrainingConfig(accumulate_grad_batches=4))
    {'accumulate_grad_batches': 4}
    """
    side: Side = "torch" if isinstance(cfg, TorchTrainingConfig) else "tf"
    other: Side = "tf" if side == "torch" else "torch"
    model = _MODELS[side]
    lost: dict[str, Any] = {}
    for row in FIELD_TABLE:
        name = row.name_on(side)
        if name is None or row.name_on(other) is not None:
            continue
        value = getattr(cfg, name)
        if value != model.model_fields[name].get_default(call_default_factory=True):
            lost[name] = value
    return lost


def _convert(
    cfg: BaseModel,
    source: Side,
    target: Side,
    extra: Mapping[str, Any] | None,
    on_unmapped: OnUnmapped,
) -> dict[str, Any]:
    if on_unmapped not in ("warn", "error", "ignore"):
        raise ValueError(
            f"on_unmapped={on_unmapped!r} is not allowed: use 'warn', 'error' or 'ignore'"
        )
    values: dict[str, Any] = {}
    for row in FIELD_TABLE:
        src, dst = row.name_on(source), row.name_on(target)
        if src is not None and dst is not None:
            values[dst] = getattr(cfg, src)
    lost = unmapped_fields(cfg)  # type: ignore[arg-type]
    if lost and on_unmapped != "ignore":
        message = (
            f"{type(cfg).__name__} -> {_MODELS[target].__name__}: "
            f"fields with no counterpart on the {target} side would be dropped: {lost}"
        )
        if on_unmapped == "error":
            raise BridgeError(message)
        warnings.warn(message, UnmappedFieldWarning, stacklevel=3)
    if extra:
        target_only = {r.name_on(target) for r in FIELD_TABLE if r.name_on(source) is None}
        unknown = sorted(set(extra) - target_only)
        if unknown:
            raise ValueError(
                f"extra={dict(extra)!r}: {unknown} are not {target}-only fields; "
                f"allowed are {sorted(n for n in target_only if n)}"
            )
        values.update(extra)
    return values


def to_tf(
    cfg: TorchTrainingConfig | Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    on_unmapped: OnUnmapped = "warn",
) -> TFTrainingConfig:
    """Convert a Torch-side training config to the TF side.

    ``extra`` supplies TF-only fields (``nll_weight``, ``mae_weight``); the
    others take their TF defaults. Torch-only fields holding non-default
    values are reported according to ``on_unmapped``.
    """
    torch_cfg = _coerce(cfg, TorchTrainingConfig)
    return TFTrainingConfig.model_validate(_convert(torch_cfg, "torch", "tf", extra, on_unmapped))


def to_torch(
    cfg: TFTrainingConfig | Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    on_unmapped: OnUnmapped = "warn",
) -> TorchTrainingConfig:
    """Convert a TF-side training config to the Torch side (see :func:`to_tf`)."""
    tf_cfg = _coerce(cfg, TFTrainingConfig)
    return TorchTrainingConfig.model_validate(_convert(tf_cfg, "tf", "torch", extra, on_unmapped))
