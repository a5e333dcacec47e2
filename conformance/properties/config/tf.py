"""Properties of the CFG clauses on the TF side, against the ``tf_config`` role.

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("config.tf"))[:3]
['CFG-001', 'CFG-002', 'CFG-003']

``tf_config``: the tf config *class*, built with keyword arguments (see
:mod:`conformance.properties.config._sides`, which holds each clause's one decision;
:mod:`.torch` declares the same properties for the other side).
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
    roles=("tf_config",),
    act=on_side("tf", _sides.act_algorithms),
)
def tf_algorithm_values(_: None, seen: dict[str, Any]) -> None:
    """Each of 'norm', 'value', 'agc' builds (tf side)"""
    _sides.algorithm_values("tf", _, seen)


@conformance_property(
    "CFG-002",
    roles=("tf_config",),
    act=on_side("tf", _sides.act_default),
)
def tf_algorithm_default(_: None, seen: dict[str, Any]) -> None:
    """gradient_clip_algorithm defaults to 'norm' (tf side)"""
    _sides.algorithm_default("tf", _, seen)


@conformance_property(
    "CFG-003",
    roles=("tf_config",),
    strategy=bad_values("tf", "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    examples=near_miss_cases("tf", "gradient_clip_algorithm"),
    act=on_side("tf", _sides.act_refused),
)
def tf_unknown_algorithm_refused(example: BadValue, seen: dict[str, Any]) -> None:
    """Another algorithm is refused, by a Literal of exactly the three or by raising (tf side)"""
    _sides.refused("tf", example, seen)


@conformance_property(
    "CFG-011",
    roles=("tf_config",),
    strategy=bad_values("tf", "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    examples=near_miss_cases("tf", "gradient_clip_algorithm"),
    act=on_side("tf", _sides.act_bad),
)
def tf_unknown_algorithm_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """Another algorithm raises, naming the field, the value and the allowed ones (tf side)"""
    _sides.unknown_algorithm("tf", example, seen)


@conformance_property(
    "CFG-004",
    roles=("tf_config",),
    strategy=bad_values("tf", "gradient_clip_val", VALID["gradient_clip_val"]),
    act=on_side("tf", _sides.act_bad),
)
def tf_clip_value_accepted(example: BadValue, seen: dict[str, Any]) -> None:
    """None, 0 and finite positive clip values build and are kept (tf side)"""
    _sides.clip_value_ok("tf", example, seen)


@conformance_property(
    "CFG-012",
    roles=("tf_config",),
    strategy=bad_values("tf", "gradient_clip_val", BAD_CLIP),
    act=on_side("tf", _sides.act_bad),
)
def tf_clip_value_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """Negative, NaN and infinite clip values are rejected when built (tf side)"""
    _sides.clip_value_bad("tf", example, seen)


@conformance_property(
    "CFG-008",
    roles=("tf_config",),
    strategy=unknown_keys("tf"),
    act=on_side("tf", _sides.act_unknown_key),
)
def tf_unknown_key_rejected(key: str, seen: dict[str, Any]) -> None:
    """A key that is not a field is rejected (tf side)"""
    _sides.unknown_key("tf", key, seen)


@conformance_property(
    "CFG-010",
    roles=("tf_config",),
    strategy=wrong_types("tf"),
    act=on_side("tf", _sides.act_bad),
)
def tf_wrong_type_rejected(example: BadValue, seen: dict[str, Any]) -> None:
    """A value of the wrong type is rejected, not coerced (tf side)"""
    _sides.wrong_type("tf", example, seen)
