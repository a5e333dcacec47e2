"""Properties of the CFG clauses on the Torch side, against the ``torch_config`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("config.torch"))[:3]
['CFG-001', 'CFG-002', 'CFG-003']

``torch_config``: the torch config *class*, built with keyword arguments (see
:mod:`conformance.properties.config._sides`, which holds each clause's one decision;
:mod:`.tf` declares the same properties for the other side).
"""

from __future__ import annotations

from typing import Any

from conformance.framework import conformance_property
from conformance.properties.config import _sides
from conformance.properties.config._sides import BAD_CLIP, on_side
from conformance.strategies.configs import (
    INVALID,
    VALID,
    BadValue,
    bad_values,
    near_miss_cases,
    unknown_keys,
    wrong_types,
)

__all__: list[str] = []


@conformance_property(
    "CFG-001",
    roles=("torch_config",),
    act=on_side("torch", _sides.act_algorithms),
)
def torch_algorithm_values(_: None, seen: dict[str, Any]) -> None:
    """Each of 'norm', 'value', 'agc' builds (torch side)"""
    _sides.algorithm_values("torch", _, seen)


@conformance_property(
    "CFG-002",
    roles=("torch_config",),
    act=on_side("torch", _sides.act_default),
)
def torch_algorithm_default(_: None, seen: dict[str, Any]) -> None:
    """gradient_clip_algorithm defaults to 'norm' (torch side)"""
    _sides.algorithm_default("torch", _, seen)


@conformance_property(
    "CFG-003",
    roles=("torch_config",),
    strategy=bad_values("torch", "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    examples=near_miss_cases("torch", "gradient_clip_algorithm"),
    act=on_side("torch", _sides.act_refused),
)
def torch_unknown_algorithm_refused(example: BadValue, seen: dict[str, Any]) -> None:
    """Another algorithm is refused, by a Literal of exactly the three or by raising (torch side)"""
    _sides.refused("torch", example, seen)


@conformance_property(
    "CFG-011",
    roles=("torch_config",),
    strategy=bad_values("torch", "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    examples=near_miss_cases("torch", "gradient_clip_algorithm"),
    act=on_side("torch", _sides.act_bad),
)
def torch_unknown_algorithm_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """Another algorithm raises, naming the field, the value and the allowed ones (torch side)"""
    _sides.unknown_algorithm("torch", example, seen)


@conformance_property(
    "CFG-004",
    roles=("torch_config",),
    strategy=bad_values("torch", "gradient_clip_val", VALID["gradient_clip_val"]),
    act=on_side("torch", _sides.act_bad),
)
def torch_clip_value_accepted(example: BadValue, seen: dict[str, Any]) -> None:
    """None, 0 and finite positive clip values build and are kept (torch side)"""
    _sides.clip_value_ok("torch", example, seen)


@conformance_property(
    "CFG-012",
    roles=("torch_config",),
    strategy=bad_values("torch", "gradient_clip_val", BAD_CLIP),
    act=on_side("torch", _sides.act_bad),
)
def torch_clip_value_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """Negative, NaN and infinite clip values are rejected when built (torch side)"""
    _sides.clip_value_bad("torch", example, seen)


@conformance_property(
    "CFG-008",
    roles=("torch_config",),
    strategy=unknown_keys("torch"),
    act=on_side("torch", _sides.act_unknown_key),
)
def torch_unknown_key_rejected(key: str, seen: dict[str, Any]) -> None:
    """A key that is not a field is rejected (torch side)"""
    _sides.unknown_key("torch", key, seen)


@conformance_property(
    "CFG-010",
    roles=("torch_config",),
    strategy=wrong_types("torch"),
    act=on_side("torch", _sides.act_bad),
)
def torch_wrong_type_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """A value of the wrong type is rejected, not coerced (torch side)"""
    _sides.wrong_type("torch", example, seen)
