"""The CFG properties' shared parts: building configs in the worker, reading them in the judge,
and the one decision of each per-side clause that :mod:`.tf` and :mod:`.torch` declare.

>>> from conformance.properties.config._sides import ALGORITHMS, build
>>> ALGORITHMS
('norm', 'value', 'agc')
>>> build(dict, {"a": 1}, ["a"])
{'attrs': {'a': <missing>}}

Canonical forms:

- ``tf_config`` / ``torch_config``: a config *class* built with keyword arguments,
  ``Config(**fields)``, whose instances expose each field as an attribute. A Pydantic
  model or a dataclass (or anything else called that way). "Rejected when built" means
  the call raises an exception (any type); a plain dataclass accepts anything and so
  fails the rejection clauses.

The acts build config objects in the worker and report, as data, whether the call
raised (and what) and the attribute values the objects expose; the judge decides. Each
per-side clause has one decision here, ``decide(side, example, seen)``, declared once per
side: ``tf_<name>`` in :mod:`.tf`, ``torch_<name>`` in :mod:`.torch`.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import strategies as st

from conformance._internal.wire import ExceptionInfo, Opaque
from conformance.framework import Targets, attempt
from conformance.strategies.configs import BadValue, Side
from conformance.strategies.near_miss import annotated_values
from spec.vocabulary import CLIP_ALGORITHMS

__all__ = [
    "ALGORITHMS",
    "BAD_CLIP",
    "MISSING",
    "ROLE",
    "act_algorithms",
    "act_bad",
    "act_default",
    "act_refused",
    "act_unknown_key",
    "algorithm_default",
    "algorithm_values",
    "build",
    "built",
    "clip_value_bad",
    "clip_value_ok",
    "literal_values",
    "on_side",
    "read",
    "refused",
    "rejected",
    "unknown_algorithm",
    "unknown_key",
    "wrong_type",
]

ALGORITHMS: tuple[str, ...] = CLIP_ALGORITHMS
"""The clip algorithms of the contract (``spec.CLIP_ALGORITHMS``)."""
ROLE: dict[str, str] = {"tf": "tf_config", "torch": "torch_config"}
"""The config role of each side."""
MISSING = Opaque("missing", "<missing>")
"""What an act reports for an attribute the object does not have."""


# --- worker side: building configs and reading their attributes ------------------------------


def read(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        got = attempt(getattr, obj, name)
        out[name] = got.value if got.ok else MISSING
    return out


def build(cls: Any, kwargs: dict[str, Any], names: Iterable[str] = ()) -> dict[str, Any]:
    """Act helper: ``cls(**kwargs)`` as data — ``{"raised": info}`` or ``{"attrs": {...}}``."""
    made = attempt(cls, **kwargs)
    if not made.ok:
        return {"raised": made.raised}
    return {"attrs": read(made.value, names)}


def _declared(cls: Any) -> set[str]:
    """Field / keyword names ``cls`` declares (Pydantic fields and aliases, dataclass fields,
    else its signature's keyword parameters); empty when it takes ``**kwargs`` or is opaque."""
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):
        aliases = {getattr(f, "alias", None) for f in fields.values()}
        return set(fields) | {a for a in aliases if isinstance(a, str)}
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls)}
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return set()
    return {p.name for p in params}


def on_side(side: Side, act: Callable[[Any, Any], Any]) -> Callable[[Targets, Any], Any]:
    """The act ``act(config_class, example)`` run on ``side``'s config role."""
    role = ROLE[side]

    def side_act(targets: Targets, example: Any) -> Any:
        return act(getattr(targets, role), example)

    return side_act


def act_algorithms(cls: Any, _: None) -> dict[str, Any]:
    builds = [
        build(cls, {"gradient_clip_algorithm": a}, ["gradient_clip_algorithm"]) for a in ALGORITHMS
    ]
    return {"builds": builds, **literal_values(cls, "gradient_clip_algorithm")}


def act_default(cls: Any, _: None) -> dict[str, Any]:
    return build(cls, {}, ["gradient_clip_algorithm"])


def act_bad(cls: Any, example: BadValue) -> dict[str, Any]:
    return build(cls, example.kwargs(), list(example.kwargs()))


def _annotation(cls: Any, field: str) -> Any:
    """The field's annotation: from Pydantic fields, type hints or dataclass fields; else None."""
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict) and field in fields:
        return getattr(fields[field], "annotation", None)
    hints = attempt(typing.get_type_hints, cls)
    if hints.ok and isinstance(hints.value, dict):
        return hints.value.get(field)
    if dataclasses.is_dataclass(cls):
        return {f.name: f.type for f in dataclasses.fields(cls)}.get(field)
    return None


def literal_values(cls: Any, field: str) -> dict[str, Any]:
    """Act helper: the field's annotation (repr) and what it admits (:func:`annotated_values`),
    from Pydantic fields, dataclass fields or type hints."""
    annotation = _annotation(cls, field)
    return {"annotation": repr(annotation), **annotated_values(annotation)}


def act_refused(cls: Any, example: BadValue) -> dict[str, Any]:
    return {**literal_values(cls, example.field), **act_bad(cls, example)}


def act_unknown_key(cls: Any, key: str) -> dict[str, Any]:
    if key in _declared(cls):
        return {"declared": True}
    return {"declared": False, **build(cls, {key: 1}, [key])}


BAD_CLIP = st.one_of(
    st.floats(max_value=-1e-300, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -1.0]),
)
"""Clip values the contract rejects: negative, NaN, infinite."""


# --- judge side ------------------------------------------------------------------------------


def _name(side: str) -> str:
    return f"the {side} config"


def built(seen: dict[str, Any], what: str, kwargs: dict[str, Any], side: str) -> dict[str, Any]:
    """The attributes of a config the act built with valid values; AssertionError if it raised."""
    if "raised" in seen:
        info: ExceptionInfo = seen["raised"]
        raise AssertionError(
            f"{what}: {_name(side)} rejected valid values {kwargs!r}: {info.name}: {info.message}"
        )
    attrs: dict[str, Any] = seen["attrs"]
    return attrs


def rejected(seen: dict[str, Any], kwargs: dict[str, Any], side: str, example: object) -> str:
    """The error message of a config the clause says must be rejected; AssertionError if built."""
    if "raised" in seen:
        info: ExceptionInfo = seen["raised"]
        return f"{info.name}: {info.message}"
    raise AssertionError(
        f"{_name(side)}(**{kwargs!r}) was accepted (built with {seen['attrs']!r}): expected an "
        f"error when built; example {example!r}"
    )


def _names_value(message: str, value: Any) -> bool:
    """``value`` appears in ``message``: whole (repr or str), or a long repr abbreviated to its
    head and tail around an ellipsis, as Pydantic shows long inputs."""
    text = repr(value)
    if text in message or str(value) in message:
        return True
    return len(text) > 24 and text[:12] in message and text[-8:] in message


# --- the per-side decisions: ``decide(side, example, seen)`` ----------------------------------


def _admits(seen: dict[str, Any]) -> str:
    """The annotation as the act saw it, and the values it admits (None included)."""
    values = [*seen["literal"], *([None] if seen["none"] else [])]
    return f"{seen['annotation']}, which admits {values}"


def algorithm_values(side: Side, _: None, seen: dict[str, Any]) -> None:
    """CFG-001: each algorithm builds and is stored as given, and an annotation that lists the
    field's values (``Literal`` or ``Enum``) lists all three."""
    for algorithm, one in zip(ALGORITHMS, seen["builds"], strict=True):
        attrs = built(one, "CFG-001", {"gradient_clip_algorithm": algorithm}, side)
        got = attrs["gradient_clip_algorithm"]
        if got is MISSING or got == MISSING:
            raise AssertionError(f"{_name(side)} has no attribute gradient_clip_algorithm")
        if got != algorithm:
            raise AssertionError(f"gradient_clip_algorithm={algorithm!r} was stored as {got!r}")
    if seen["literal"] is not None:
        missing = [a for a in ALGORITHMS if a not in seen["literal"]]
        if missing:
            raise AssertionError(
                f"{_name(side)}: gradient_clip_algorithm is annotated {_admits(seen)}, a subset "
                f"of the plan's {list(ALGORITHMS)}: a type checker refuses {missing}"
            )


def algorithm_default(side: Side, _: None, seen: dict[str, Any]) -> None:
    """CFG-002: the default algorithm is 'norm'."""
    got = built(seen, "CFG-002", {}, side)["gradient_clip_algorithm"]
    if got != "norm":
        raise AssertionError(
            f"{_name(side)}: gradient_clip_algorithm defaults to {got!r}, not 'norm'"
        )


def refused(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    """CFG-003: another algorithm is refused, by a Literal annotation or by raising.

    An annotation (``Literal`` or ``Enum``) admitting a value outside the three — a superset
    such as ``Literal['norm', 'value', 'agc', 'auto']``, or None — fails whatever the example:
    it is the value the plan's if/elif dispatch falls through on. One listing only allowed
    values refuses the others for a type checker, as the plan's dataclass does, provided the
    config stores an unknown value as given; one that maps it onto something else ('none' to
    None, 'AGC' to 'agc') accepts a name outside the plan's set.
    """
    literal = seen["literal"]
    if literal is not None:
        extra = [v for v in literal if v not in ALGORITHMS] + ([None] if seen["none"] else [])
        if extra:
            raise AssertionError(
                f"{_name(side)}: gradient_clip_algorithm is annotated {_admits(seen)}: "
                f"{extra} outside the plan's {list(ALGORITHMS)}, which the plan's if/elif "
                "dispatch falls through on"
            )
    if "raised" in seen:
        return
    stored = seen["attrs"].get(example.field)
    if literal is not None:
        value = example.value
        if type(stored) is type(value) and stored == value:
            return  # refused by its annotation (a type checker), as the plan's dataclasses do
        raise AssertionError(
            f"gradient_clip_algorithm={value!r} was accepted and stored as {stored!r}: the "
            f"config maps a name outside {list(ALGORITHMS)} onto another value (its annotation, "
            f"{seen['annotation']}, refuses it only for a type checker); example {example!r}"
        )
    allowed = ", ".join(map(repr, ALGORITHMS))
    raise AssertionError(
        f"gradient_clip_algorithm={example.value!r} was accepted (stored as "
        f"{stored!r}), and the field is annotated "
        f"{seen['annotation']}, not Literal[{allowed}]: nothing refuses an unknown "
        f"algorithm; example {example!r}"
    )


def unknown_algorithm(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    """CFG-011: the error names the field, the value and the allowed values."""
    message = rejected(seen, example.kwargs(), side, example)
    value = example.value
    missing = [a for a in ("gradient_clip_algorithm", *ALGORITHMS) if a not in message]
    if not _names_value(message, value):
        missing.append(f"the value {value!r}")
    if missing:
        raise AssertionError(
            f"the error for gradient_clip_algorithm={value!r} does not name {missing}: {message}"
        )


def clip_value_ok(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    """CFG-004: a valid clip value builds and is kept."""
    got = built(seen, "CFG-004", example.kwargs(), side)["gradient_clip_val"]
    if got != example.value:
        raise AssertionError(f"gradient_clip_val={example.value!r} was stored as {got!r}")


def clip_value_bad(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    """CFG-012: a bad clip value is rejected when built."""
    rejected(seen, example.kwargs(), side, example)


def unknown_key(side: Side, key: str, seen: dict[str, Any]) -> None:
    """CFG-008: a key that is not a field is rejected."""
    if seen["declared"]:
        return  # a field of this implementation beyond the contract: not an unknown key
    rejected(seen, {key: 1}, side, key)


def wrong_type(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    """CFG-010: a value of the wrong type is rejected."""
    rejected(seen, example.kwargs(), side, example)
