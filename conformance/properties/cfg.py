"""Properties of the CFG clauses, against the ``tf_config``, ``torch_config`` and ``bridge`` roles.

>>> from conformance.properties import PROPERTIES
>>> sorted({p.clause for p in PROPERTIES if p.id.startswith("cfg.")})[:3]
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

Each property checks its whole clause, so one fault can fail two clauses when they
overlap: a bridge that drops ``gradient_clip_algorithm`` breaks both the carrying
(CFG-005) and the round trip (CFG-006); a Torch default of 'value' breaks CFG-002 and,
against a TF side defaulting to 'norm', CFG-007. ``tests/faulty/config_faults.py`` lists
the expected clauses of each fault.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from conformance.properties import Targets, conformance_property
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

ALGORITHMS = ("norm", "value", "agc")
_ROLE: dict[Side, str] = {"tf": "tf_config", "torch": "torch_config"}
_SIDES: tuple[Side, ...] = ("tf", "torch")
_BRIDGE_ROLES = ("bridge", "torch_config", "tf_config")


def _build(cls: Any, what: str, **values: Any) -> Any:
    """``cls(**values)``; an exception there is a violation (the values are valid)."""
    try:
        return cls(**values)
    except Exception as error:
        raise AssertionError(
            f"{what}: {getattr(cls, '__name__', cls)}(**{values!r}) rejected valid values: "
            f"{type(error).__name__}: {error}"
        ) from error


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


def _rejects(cls: Any, kwargs: dict[str, Any], example: object) -> str:
    """The message of the exception ``cls(**kwargs)`` raises; AssertionError if it builds."""
    try:
        built = cls(**kwargs)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    shown = {k: getattr(built, k, "<missing>") for k in kwargs}
    raise AssertionError(
        f"{getattr(cls, '__name__', cls)}(**{kwargs!r}) was accepted (built with {shown!r}): "
        f"expected an error when built; example {example!r}"
    )


def _per_side(
    clause: str,
    name: str,
    strategy: Callable[[Side], st.SearchStrategy[Any] | None],
    doc: str,
    max_examples: int | None = None,
) -> Callable[[Callable[[Any, Side, Any], None]], Callable[[Any, Side, Any], None]]:
    """Register ``body(config_class, side, example)`` once per side as ``<side>_<name>``."""

    def register(body: Callable[[Any, Side, Any], None]) -> Callable[[Any, Side, Any], None]:
        for side in _SIDES:
            role = _ROLE[side]

            def check(
                targets: Targets, example: Any, _role: str = role, _side: Side = side
            ) -> None:
                body(getattr(targets, _role), _side, example)

            check.__name__ = check.__qualname__ = f"{side}_{name}"
            check.__doc__ = f"{doc} ({side} side)"
            conformance_property(
                clause, roles=(role,), strategy=strategy(side), max_examples=max_examples
            )(check)
        return body

    return register


# --- CFG-001: the field exists and takes the three algorithms ---------------------------------


@_per_side("CFG-001", "algorithm_values", lambda _: None, "Each of 'norm', 'value', 'agc' builds")
def _algorithm_values(cls: Any, side: Side, _: None) -> None:
    for algorithm in ALGORITHMS:
        cfg = _build(cls, "CFG-001", gradient_clip_algorithm=algorithm)
        if not hasattr(cfg, "gradient_clip_algorithm"):
            raise AssertionError(f"{side} config has no attribute gradient_clip_algorithm")
        got = cfg.gradient_clip_algorithm
        if got != algorithm:
            raise AssertionError(f"gradient_clip_algorithm={algorithm!r} was stored as {got!r}")


# --- CFG-002: the default is 'norm' -----------------------------------------------------------


@_per_side(
    "CFG-002", "algorithm_default", lambda _: None, "gradient_clip_algorithm defaults to 'norm'"
)
def _algorithm_default(cls: Any, side: Side, _: None) -> None:
    cfg = _build(cls, "CFG-002")
    got = getattr(cfg, "gradient_clip_algorithm", "<missing>")
    if got != "norm":
        raise AssertionError(
            f"{side} config: gradient_clip_algorithm defaults to {got!r}, not 'norm'"
        )


# --- CFG-003: other algorithms rejected, the error naming field, value, allowed values ---------


def _names_value(message: str, value: Any) -> bool:
    """``value`` appears in ``message``: whole (repr or str), or a long repr abbreviated to its
    head and tail around an ellipsis, as Pydantic shows long inputs."""
    text = repr(value)
    if text in message or str(value) in message:
        return True
    return len(text) > 24 and text[:12] in message and text[-8:] in message


@_per_side(
    "CFG-003",
    "unknown_algorithm_rejected",
    lambda side: bad_values(side, "gradient_clip_algorithm", INVALID["gradient_clip_algorithm"]),
    "Another algorithm is rejected with an error naming the field, value and allowed values",
)
def _unknown_algorithm(cls: Any, side: Side, example: BadValue) -> None:
    message = _rejects(cls, example.kwargs(), example)
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
    "None, 0 and finite positive clip values build and are kept",
)
def _clip_value_ok(cls: Any, side: Side, example: BadValue) -> None:
    cfg = _build(cls, "CFG-004", gradient_clip_val=example.value)
    got = getattr(cfg, "gradient_clip_val", "<missing>")
    if got != example.value:
        raise AssertionError(f"gradient_clip_val={example.value!r} was stored as {got!r}")


_BAD_CLIP = st.one_of(
    st.floats(max_value=-1e-300, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -1.0]),
)


@_per_side(
    "CFG-004",
    "clip_value_rejected",
    lambda side: bad_values(side, "gradient_clip_val", _BAD_CLIP),
    "Negative, NaN and infinite clip values are rejected when built",
)
def _clip_value_bad(cls: Any, side: Side, example: BadValue) -> None:
    _rejects(cls, example.kwargs(), example)


# --- CFG-007: shared defaults agree -----------------------------------------------------------


@conformance_property("CFG-007", roles=("tf_config", "torch_config"))
def shared_defaults_agree(targets: Targets, _: None) -> None:
    """Every field the two sides share (spec.FIELD_TABLE) has the same default on both."""
    tf, torch_cfg = _build(targets.tf_config, "CFG-007"), _build(targets.torch_config, "CFG-007")
    differ = []
    for row in FIELD_TABLE:
        if row.tf is None or row.torch is None:
            continue
        a = getattr(tf, row.tf, "<missing>")
        b = getattr(torch_cfg, row.torch, "<missing>")
        if a != b:
            differ.append(f"{row.tf}={a!r} (tf) vs {row.torch}={b!r} (torch)")
    if differ:
        raise AssertionError(f"shared defaults differ: {'; '.join(differ)}")


# --- CFG-008: unknown keys rejected -----------------------------------------------------------


@_per_side("CFG-008", "unknown_key_rejected", unknown_keys, "A key that is not a field is rejected")
def _unknown_key(cls: Any, side: Side, key: str) -> None:
    if key in _declared(cls):
        return  # a field of this implementation beyond the contract: not an unknown key
    _rejects(cls, {key: 1}, key)


# --- CFG-010: wrong types rejected, not coerced -----------------------------------------------


@_per_side(
    "CFG-010",
    "wrong_type_rejected",
    wrong_types,
    "A value of the wrong type is rejected, not coerced",
)
def _wrong_type(cls: Any, side: Side, example: BadValue) -> None:
    _rejects(cls, example.kwargs(), example)


# --- the bridge: CFG-005, CFG-006, CFG-009 ----------------------------------------------------


def _convert(targets: Targets, cfg: Any, to: Side) -> Any:
    fn = targets.bridge.to_tf if to == "tf" else targets.bridge.to_torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(cfg)


def _across(targets: Targets, case: ConfigCase) -> Any | None:
    """The case's config converted to the other side; None when the bridge refused a config
    whose one-sided fields hold non-default values (CFG-009 allows an error there)."""
    cls = getattr(targets, _role(case.side))
    source = _build(cls, "bridge input", **case.values)
    try:
        return _convert(targets, source, _other(case.side))
    except Exception:
        default = _build(cls, "bridge input")
        side = _other(_other(case.side))
        one_sided = [r.name_on(side) for r in FIELD_TABLE if r.name_on(_other(side)) is None]
        if any(n in case.values and case.values[n] != getattr(default, n, None) for n in one_sided):
            return None
        raise


def _role(side: str) -> str:
    return "tf_config" if side == "tf" else "torch_config"


def _other(side: str) -> Side:
    return "torch" if side == "tf" else "tf"


_CLIP_FIELDS = ("gradient_clip_val", "gradient_clip_algorithm")
_BOTH_SIDES = st.one_of(config_cases("torch"), config_cases("tf"))


@conformance_property("CFG-005", roles=_BRIDGE_ROLES, strategy=_BOTH_SIDES)
def bridge_carries_clipping(targets: Targets, case: ConfigCase) -> None:
    """to_tf / to_torch carry gradient_clip_val and gradient_clip_algorithm unchanged."""
    out = _across(targets, case)
    if out is None:
        return
    for name in _CLIP_FIELDS:
        want, got = case.values[name], getattr(out, name, "<missing>")
        if got != want:
            raise AssertionError(
                f"{case.side} -> {_other(case.side)}: {name}={want!r} became {got!r}; case {case!r}"
            )


@conformance_property("CFG-006", roles=_BRIDGE_ROLES, strategy=_BOTH_SIDES)
def bridge_round_trip(targets: Targets, case: ConfigCase) -> None:
    """Converting to the other side and back keeps every shared field (epochs <-> nepochs too).

    Non-clipping fields must also arrive unchanged under their name on the other side (a
    rename that scales or shifts the value is not a conversion); for the two clipping
    fields that is CFG-005's business, so a bridge that translates them consistently both
    ways fails CFG-005 alone.
    """
    side, other = _other(_other(case.side)), _other(case.side)
    there = _across(targets, case)
    if there is None:
        return
    back = _convert(targets, there, _other(other))
    for row in FIELD_TABLE:
        mine, theirs = row.name_on(side), row.name_on(other)
        if mine is None or theirs is None:
            continue
        want = case.values[mine]
        across, again = getattr(there, theirs, "<missing>"), getattr(back, mine, "<missing>")
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


@conformance_property("CFG-009", roles=_BRIDGE_ROLES, strategy=_ONE_SIDED)
def bridge_reports_one_sided(targets: Targets, example: BadValue) -> None:
    """A one-sided field with a non-default value is reported (warning or error), not dropped."""
    cls = getattr(targets, _role(example.side))
    if getattr(_build(cls, "CFG-009"), example.field, object()) == example.value:
        return  # this implementation's default: nothing would be lost
    cfg = _build(cls, "CFG-009", **example.kwargs())
    fn = targets.bridge.to_tf if example.side == "torch" else targets.bridge.to_torch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(cfg)
        except Exception:
            return  # reported as an error
    if not caught:
        raise AssertionError(
            f"{example.field}={example.value!r} has no counterpart on the other side and was "
            f"dropped without a warning or an error; example {example!r}"
        )


__all__ = ["ALGORITHMS"]
