"""Properties of the bridge and of what the two config sides share (CFG-005 to CFG-007, CFG-009).

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("config.bridge"))
['CFG-005', 'CFG-006', 'CFG-007', 'CFG-009']

``bridge``: an object (usually a module) with ``to_tf(torch_cfg)`` and ``to_torch(tf_cfg)``,
each taking an instance of the other side's config class and returning an instance of its
own. The bridge properties also need both config roles (they build the bridge's input);
the shared fields and renames come from the contract, :data:`spec.FIELD_TABLE`. A bridge
may refuse (raise on) a config whose one-sided fields hold non-default values, as CFG-009
allows; such examples do not count against CFG-005 / CFG-006.

Each property checks its whole clause, so one fault can fail two clauses when they
overlap: a bridge that drops ``gradient_clip_algorithm`` breaks both the carrying
(CFG-005) and the round trip (CFG-006). ``tests/conformance/faulty/config_faults.py`` lists
the expected clauses of each fault.
"""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import strategies as st

from conformance._internal.wire import ExceptionInfo
from conformance.framework import Targets, attempt, conformance_property
from conformance.properties.config._sides import MISSING, ROLE, build, built, read
from conformance.strategies.configs import BadValue, ConfigCase, config_cases
from spec.bridge import FIELD_TABLE

__all__: list[str] = []

_BRIDGE_ROLES = ("bridge", "torch_config", "tf_config")
_CLIP_FIELDS = ("gradient_clip_val", "gradient_clip_algorithm")


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
    cls = getattr(targets, ROLE[side])
    made = attempt(cls, **case.values)
    if not made.ok:
        return {"source": {"raised": made.raised}}
    out: dict[str, Any] = {"source": {"attrs": {}}, "defaults": build(cls, {}, _fields(side))}
    there = attempt(_convert, targets, made.value, other)
    if not there.ok:
        out["there"] = {"raised": there.raised}
        return out
    out["there"] = {"attrs": read(there.value, _fields(other))}
    if back:
        again = attempt(_convert, targets, there.value, side)
        out["back"] = (
            {"raised": again.raised}
            if not again.ok
            else {"attrs": read(again.value, _fields(side))}
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
    cls = getattr(targets, ROLE[example.side])
    default = build(cls, {}, [example.field])
    made = attempt(cls, **example.kwargs())
    if not made.ok:
        return {"default": default, "source": {"raised": made.raised}}
    fn = targets.bridge.to_tf if example.side == "torch" else targets.bridge.to_torch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = attempt(fn, made.value)
    plain = attempt(cls)
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always")
        if plain.ok:
            attempt(fn, plain.value)
    return {
        "default": default,
        "source": {"attrs": {}},
        "raised": converted.raised,
        "warnings": [str(w.message) for w in caught],
        "defaults_warnings": [str(w.message) for w in quiet],
    }


@conformance_property("CFG-009", roles=_BRIDGE_ROLES, strategy=_ONE_SIDED, act=_act_one_sided)
def bridge_reports_one_sided(example: BadValue, seen: dict[str, Any]) -> None:
    """A one-sided field with a non-default value is reported (a warning or an error naming
    it), not dropped; a config at its defaults converts without a report (nothing is lost)."""
    noise = seen["defaults_warnings"]  # an error there is CFG-005 / CFG-006's to judge
    if noise:
        raise AssertionError(
            f"converting a {example.side}-side config at its defaults (nothing one-sided to "
            f"lose) reported {noise!r}: a report that always fires is a false alarm"
        )
    default = built(seen["default"], "CFG-009", {}, example.side)
    if default.get(example.field) == example.value:
        return  # this implementation's default: nothing would be lost
    built(seen["source"], "CFG-009", example.kwargs(), example.side)
    info = seen["raised"]
    if info is not None:
        if example.field not in info.message:
            raise AssertionError(
                f"{example.field}={example.value!r} has no counterpart on the other side; the "
                f"conversion raised {info.name}, which does not name it: {info.message}"
            )
        return  # reported as an error
    if not any(example.field in w for w in seen["warnings"]):
        raise AssertionError(
            f"{example.field}={example.value!r} has no counterpart on the other side and was "
            f"dropped without a warning or an error naming it (warnings: "
            f"{seen['warnings']!r}); example {example!r}"
        )
