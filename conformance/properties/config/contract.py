"""Properties of the CFG clauses, against the ``tf_config``, ``torch_config`` and ``bridge`` roles.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.home.endswith("config.contract")})[:3]
['CFG-001', 'CFG-002', 'CFG-003']

Canonical forms:

- ``tf_config`` / ``torch_config``: a config *class* built with keyword arguments,
  ``Config(**fields)``, whose instances expose each field as an attribute. A Pydantic
  model or a dataclass (or anything else called that way). "Rejected when built" means
  the call raises an exception (any type); a plain dataclass accepts anything and so
  fails the rejection clauses.
- ``bridge``: an object (usually a module) with ``to_tf(torch_cfg)`` and
  ``to_torch(tf_cfg)``, each taking an instance of the other side's config class and
  returning an instance of its own. The bridge properties also need both config roles
  (they build the bridge's input); the shared fields and renames come from the contract,
  :data:`spec.FIELD_TABLE`. A bridge may refuse (raise on) a config whose one-sided fields
  hold non-default values, as CFG-009 allows; such examples do not count against
  CFG-005 / CFG-006.

The acts build config objects in the worker and report, as data, whether the call
raised (and what) and the attribute values the objects expose; the judge decides.
Each property checks its whole clause, so one fault can fail two clauses when they
overlap: a bridge that drops ``gradient_clip_algorithm`` breaks both the carrying
(CFG-005) and the round trip (CFG-006). ``tests/conformance/faulty/config_faults.py`` lists the
expected clauses of each fault.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import strategies as st

from conformance._internal.wire import ExceptionInfo, Opaque
from conformance.framework import Targets, attempt, conformance_property
from conformance.strategies.configs import (
    INVALID,
    VALID,
    BadValue,
    ConfigCase,
    Side,
    bad_values,
    config_cases,
    unknown_keys,
    wrong_types,
)
from spec.bridge import FIELD_TABLE

__all__ = ["ALGORITHMS"]

ALGORITHMS = ("norm", "value", "agc")
_ROLE: dict[str, str] = {"tf": "tf_config", "torch": "torch_config"}
_SIDES: tuple[Side, ...] = ("tf", "torch")
_BRIDGE_ROLES = ("bridge", "torch_config", "tf_config")
_CLIP_FIELDS = ("gradient_clip_val", "gradient_clip_algorithm")
MISSING = Opaque("missing", "<missing>")
"""What an act reports for an attribute the object does not have."""


# --- worker side: building configs and reading their attributes ------------------------------


def _read(obj: Any, names: Iterable[str]) -> dict[str, Any]:
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
    return {"attrs": _read(made.value, names)}


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


def _per_side(
    clause: str,
    name: str,
    strategy: Callable[[Side], st.SearchStrategy[Any] | None],
    act: Callable[[Any, Any], Any],
    doc: str,
) -> Callable[[Callable[[Side, Any, Any], None]], Callable[[Side, Any, Any], None]]:
    """Register ``decide(side, example, seen)`` once per side as ``<side>_<name>``, with
    ``act(config_class, example)`` run on that side's config role."""

    def register(body: Callable[[Side, Any, Any], None]) -> Callable[[Side, Any, Any], None]:
        for side in _SIDES:
            role = _ROLE[side]

            def side_act(targets: Targets, example: Any, _role: str = role) -> Any:
                return act(getattr(targets, _role), example)

            def decide(example: Any, seen: Any, _side: Side = side) -> None:
                body(_side, example, seen)

            conformance_property(
                clause,
                roles=(role,),
                strategy=strategy(side),
                act=side_act,
                name=f"{side}_{name}",
                doc=f"{doc} ({side} side)",
            )(decide)
        return body

    return register


# --- CFG-001: the field exists and takes the three algorithms ---------------------------------


def _act_algorithms(cls: Any, _: None) -> list[dict[str, Any]]:
    return [
        build(cls, {"gradient_clip_algorithm": a}, ["gradient_clip_algorithm"]) for a in ALGORITHMS
    ]


@_per_side(
    "CFG-001",
    "algorithm_values",
    lambda _: None,
    _act_algorithms,
    "Each of 'norm', 'value', 'agc' builds",
)
def _algorithm_values(side: Side, _: None, seen: list[dict[str, Any]]) -> None:
    for algorithm, one in zip(ALGORITHMS, seen, strict=True):
        attrs = built(one, "CFG-001", {"gradient_clip_algorithm": algorithm}, side)
        got = attrs["gradient_clip_algorithm"]
        if got is MISSING or got == MISSING:
            raise AssertionError(f"{_name(side)} has no attribute gradient_clip_algorithm")
        if got != algorithm:
            raise AssertionError(f"gradient_clip_algorithm={algorithm!r} was stored as {got!r}")


# --- CFG-002: the default is 'norm' -----------------------------------------------------------


def _act_default(cls: Any, _: None) -> dict[str, Any]:
    return build(cls, {}, ["gradient_clip_algorithm"])


@_per_side(
    "CFG-002",
    "algorithm_default",
    lambda _: None,
    _act_default,
    "gradient_clip_algorithm defaults to 'norm'",
)
def _algorithm_default(side: Side, _: None, seen: dict[str, Any]) -> None:
    got = built(seen, "CFG-002", {}, side)["gradient_clip_algorithm"]
    if got != "norm":
        raise AssertionError(
            f"{_name(side)}: gradient_clip_algorithm defaults to {got!r}, not 'norm'"
        )


# --- CFG-003: other algorithms rejected, the error naming field, value, allowed values ---------


def _names_value(message: str, value: Any) -> bool:
    """``value`` appears in ``message``: whole (repr or str), or a long repr abbreviated to its
    head and tail around an ellipsis, as Pydantic shows long inputs."""
    text = repr(value)
    if text in message or str(value) in message:
        return True
    return len(text) > 24 and text[:12] in message and text[-8:] in message


def _act_bad(cls: Any, example: BadValue) -> dict[str, Any]:
    return build(cls, example.kwargs(), list(example.kwargs()))


def literal_values(cls: Any, field: str) -> dict[str, Any]:
    """Act helper: the field's annotation, and its Literal values if it is a Literal (also
    inside Optional / Annotated); from Pydantic fields, dataclass fields or type hints."""
    annotation: Any = None
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict) and field in fields:
        annotation = getattr(fields[field], "annotation", None)
    else:
        hints = attempt(typing.get_type_hints, cls)
        if hints.ok and isinstance(hints.value, dict):
            annotation = hints.value.get(field)
        elif dataclasses.is_dataclass(cls):
            raw = {f.name: f.type for f in dataclasses.fields(cls)}.get(field)
            annotation = raw
    pending, values = [annotation], None
    while pending:
        current = pending.pop()
        origin = typing.get_origin(current)
        if origin is typing.Literal:
            values = list(typing.get_args(current))
            break
        if origin is typing.Annotated:
            pending.append(typing.get_args(current)[0])
        elif origin is typing.Union or type(current).__name__ == "UnionType":
            pending += [a for a in typing.get_args(current) if a is not type(None)]
    return {"annotation": repr(annotation), "literal": values}


def _act_refused(cls: Any, example: BadValue) -> dict[str, Any]:
    return {**literal_values(cls, example.field), **_act_bad(cls, example)}


@_per_side(
    "CFG-003",
    "unknown_algorithm_refused",
    lambda side: bad_values(side, "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    _act_refused,
    "Another algorithm is refused: the field is a Literal of exactly the three, or building raises",
)
def _refused(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    if seen["literal"] is not None and sorted(map(str, seen["literal"])) == sorted(ALGORITHMS):
        return  # refused by its annotation (a type checker), as the plan's dataclasses do
    if "raised" in seen:
        return
    raise AssertionError(
        f"gradient_clip_algorithm={example.value!r} was accepted (stored as "
        f"{seen['attrs'].get(example.field)!r}), and the field is annotated "
        f"{seen['annotation']}, not Literal['norm', 'value', 'agc']: nothing refuses an unknown "
        f"algorithm; example {example!r}"
    )


@_per_side(
    "CFG-011",
    "unknown_algorithm_rejected",
    lambda side: bad_values(side, "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    _act_bad,
    "Building with another algorithm raises, naming the field, value and allowed values",
)
def _unknown_algorithm(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    message = rejected(seen, example.kwargs(), side, example)
    value = example.value
    missing = [a for a in ("gradient_clip_algorithm", *ALGORITHMS) if a not in message]
    if not _names_value(message, value):
        missing.append(f"the value {value!r}")
    if missing:
        raise AssertionError(
            f"the error for gradient_clip_algorithm={value!r} does not name {missing}: {message}"
        )


# --- CFG-004: gradient_clip_val is None or a finite float >= 0 ---------------------------------


@_per_side(
    "CFG-004",
    "clip_value_accepted",
    lambda side: bad_values(side, "gradient_clip_val", VALID["gradient_clip_val"]),
    _act_bad,
    "None, 0 and finite positive clip values build and are kept",
)
def _clip_value_ok(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    got = built(seen, "CFG-004", example.kwargs(), side)["gradient_clip_val"]
    if got != example.value:
        raise AssertionError(f"gradient_clip_val={example.value!r} was stored as {got!r}")


_BAD_CLIP = st.one_of(
    st.floats(max_value=-1e-300, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -1.0]),
)


@_per_side(
    "CFG-012",
    "clip_value_rejected",
    lambda side: bad_values(side, "gradient_clip_val", _BAD_CLIP),
    _act_bad,
    "Negative, NaN and infinite clip values are rejected when built",
)
def _clip_value_bad(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    rejected(seen, example.kwargs(), side, example)


# --- CFG-007: shared defaults agree -----------------------------------------------------------


def _shared_rows() -> list[tuple[str, str]]:
    return [(r.tf, r.torch) for r in FIELD_TABLE if r.tf is not None and r.torch is not None]


def _act_defaults(targets: Targets, _: None) -> dict[str, Any]:
    rows = _shared_rows()
    return {
        "tf": build(targets.tf_config, {}, [tf for tf, _ in rows]),
        "torch": build(targets.torch_config, {}, [th for _, th in rows]),
    }


@conformance_property("CFG-007", roles=("tf_config", "torch_config"), act=_act_defaults)
def shared_defaults_agree(_: None, seen: dict[str, Any]) -> None:
    """Every field the two sides share (spec.FIELD_TABLE) has the same default on both."""
    tf, th = built(seen["tf"], "CFG-007", {}, "tf"), built(seen["torch"], "CFG-007", {}, "torch")
    differ = [
        f"{a}={tf[a]!r} (tf) vs {b}={th[b]!r} (torch)" for a, b in _shared_rows() if tf[a] != th[b]
    ]
    if differ:
        raise AssertionError(f"shared defaults differ: {'; '.join(differ)}")


# --- CFG-008: unknown keys rejected -----------------------------------------------------------


def _act_unknown_key(cls: Any, key: str) -> dict[str, Any]:
    if key in _declared(cls):
        return {"declared": True}
    return {"declared": False, **build(cls, {key: 1}, [key])}


@_per_side(
    "CFG-008",
    "unknown_key_rejected",
    unknown_keys,
    _act_unknown_key,
    "A key that is not a field is rejected",
)
def _unknown_key(side: Side, key: str, seen: dict[str, Any]) -> None:
    if seen["declared"]:
        return  # a field of this implementation beyond the contract: not an unknown key
    rejected(seen, {key: 1}, side, key)


# --- CFG-010: wrong types rejected, not coerced -----------------------------------------------


@_per_side(
    "CFG-010",
    "wrong_type_rejected",
    wrong_types,
    _act_bad,
    "A value of the wrong type is rejected, not coerced",
)
def _wrong_type(side: Side, example: BadValue, seen: dict[str, Any]) -> None:
    rejected(seen, example.kwargs(), side, example)


# --- the bridge: CFG-005, CFG-006, CFG-009 ----------------------------------------------------


def _other(side: str) -> str:
    return "torch" if side == "tf" else "tf"


def _fields(side: str) -> list[str]:
    return [n for r in FIELD_TABLE if (n := r.name_on(side)) is not None]  # type: ignore[arg-type]


def _convert(targets: Targets, cfg: Any, to: str) -> Any:
    fn = targets.bridge.to_tf if to == "tf" else targets.bridge.to_torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(cfg)


def _act_across(targets: Targets, case: ConfigCase, back: bool) -> dict[str, Any]:
    """Build the case's config, convert it to the other side (and back): every step as data."""
    side, other = case.side, _other(case.side)
    cls = getattr(targets, _ROLE[side])
    made = attempt(cls, **case.values)
    if not made.ok:
        return {"source": {"raised": made.raised}}
    out: dict[str, Any] = {"source": {"attrs": {}}, "defaults": build(cls, {}, _fields(side))}
    there = attempt(_convert, targets, made.value, other)
    if not there.ok:
        out["there"] = {"raised": there.raised}
        return out
    out["there"] = {"attrs": _read(there.value, _fields(other))}
    if back:
        again = attempt(_convert, targets, there.value, side)
        out["back"] = (
            {"raised": again.raised}
            if not again.ok
            else {"attrs": _read(again.value, _fields(side))}
        )
    return out


def _across(case: ConfigCase, seen: dict[str, Any]) -> dict[str, Any] | None:
    """The converted config's attributes; None when the bridge refused a config whose one-sided
    fields hold non-default values (CFG-009 allows an error there)."""
    built(seen["source"], "bridge input", case.values, case.side)
    there = seen["there"]
    if "attrs" in there:
        return dict(there["attrs"])
    defaults = built(seen["defaults"], "bridge input", {}, case.side)
    side = case.side
    one_sided = [r.name_on(side) for r in FIELD_TABLE if r.name_on(_other(side)) is None]  # type: ignore[arg-type]
    if any(n in case.values and case.values[n] != defaults.get(n) for n in one_sided if n):
        return None
    info: ExceptionInfo = there["raised"]
    raise AssertionError(
        f"{side} -> {_other(side)} raised {info.name}: {info.message} for a config without "
        f"one-sided values; case {case!r}"
    )


_BOTH_SIDES = st.one_of(config_cases("torch"), config_cases("tf"))


def _act_carry(targets: Targets, case: ConfigCase) -> dict[str, Any]:
    return _act_across(targets, case, back=False)


@conformance_property("CFG-005", roles=_BRIDGE_ROLES, strategy=_BOTH_SIDES, act=_act_carry)
def bridge_carries_clipping(case: ConfigCase, seen: dict[str, Any]) -> None:
    """to_tf / to_torch carry gradient_clip_val and gradient_clip_algorithm unchanged."""
    out = _across(case, seen)
    if out is None:
        return
    for name in _CLIP_FIELDS:
        want, got = case.values[name], out.get(name, MISSING)
        if got != want:
            raise AssertionError(
                f"{case.side} -> {_other(case.side)}: {name}={want!r} became {got!r}; case {case!r}"
            )


def _act_round_trip(targets: Targets, case: ConfigCase) -> dict[str, Any]:
    return _act_across(targets, case, back=True)


@conformance_property("CFG-006", roles=_BRIDGE_ROLES, strategy=_BOTH_SIDES, act=_act_round_trip)
def bridge_round_trip(case: ConfigCase, seen: dict[str, Any]) -> None:
    """Converting to the other side and back keeps every shared field (epochs <-> nepochs too).

    Non-clipping fields must also arrive unchanged under their name on the other side (a
    rename that scales or shifts the value is not a conversion); for the two clipping
    fields that is CFG-005's business, so a bridge that translates them consistently both
    ways fails CFG-005 alone.
    """
    side, other = case.side, _other(case.side)
    there = _across(case, seen)
    if there is None:
        return
    if "raised" in seen["back"]:
        info: ExceptionInfo = seen["back"]["raised"]
        raise AssertionError(f"{other} -> {side} (the way back) raised {info.name}: {info.message}")
    back = seen["back"]["attrs"]
    for row in FIELD_TABLE:
        mine, theirs = row.name_on(side), row.name_on(other)  # type: ignore[arg-type]
        if mine is None or theirs is None:
            continue
        want = case.values[mine]
        across, again = there.get(theirs, MISSING), back.get(mine, MISSING)
        if across != want and mine not in _CLIP_FIELDS:
            raise AssertionError(
                f"{side} -> {other}: {mine}={want!r} arrived as {theirs}={across!r}; case {case!r}"
            )
        if again != want:
            raise AssertionError(
                f"{side} -> {other} -> {side}: {mine}={want!r} came back as {again!r}; "
                f"case {case!r}"
            )


_ONE_SIDED = st.sampled_from(
    [
        BadValue("torch", "accumulate_grad_batches", 4),
        BadValue("torch", "loss_function", "mae"),
        BadValue("tf", "mae_weight", 0.5),
        BadValue("tf", "nll_weight", 2.0),
    ]
)


def _act_one_sided(targets: Targets, example: BadValue) -> dict[str, Any]:
    cls = getattr(targets, _ROLE[example.side])
    default = build(cls, {}, [example.field])
    made = attempt(cls, **example.kwargs())
    if not made.ok:
        return {"default": default, "source": {"raised": made.raised}}
    fn = targets.bridge.to_tf if example.side == "torch" else targets.bridge.to_torch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = attempt(fn, made.value)
    return {
        "default": default,
        "source": {"attrs": {}},
        "raised": converted.raised,
        "warnings": [str(w.message) for w in caught],
    }


@conformance_property("CFG-009", roles=_BRIDGE_ROLES, strategy=_ONE_SIDED, act=_act_one_sided)
def bridge_reports_one_sided(example: BadValue, seen: dict[str, Any]) -> None:
    """A one-sided field with a non-default value is reported (warning or error), not dropped."""
    default = built(seen["default"], "CFG-009", {}, example.side)
    if default.get(example.field) == example.value:
        return  # this implementation's default: nothing would be lost
    built(seen["source"], "CFG-009", example.kwargs(), example.side)
    if seen["raised"] is not None:
        return  # reported as an error
    if not seen["warnings"]:
        raise AssertionError(
            f"{example.field}={example.value!r} has no counterpart on the other side and was "
            f"dropped without a warning or an error; example {example!r}"
        )
