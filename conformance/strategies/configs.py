"""Strategies for the config contract: valid configs, and single-field perturbations.

>>> from hypothesis import given
>>> from conformance.strategies.configs import valid_values
>>> @given(valid_values("torch"))
... def check(values):
...     assert "epochs" in values
>>> check()

Valid and invalid value strategies are listed per field name. Every field of
the spec models must appear here (a test checks it), so a field added to the
contract without strategies fails the suite. Strategies shrink toward the
defaults and the simplest bad values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

from hypothesis import strategies as st

from conformance.strategies.near_miss import names_beside, near_misses
from spec.vocabulary import CLIP_ALGORITHMS, LOSS_FUNCTIONS, OPTIMIZER_NAMES

__all__ = [
    "INVALID",
    "NAME_SETS",
    "VALID",
    "BadValue",
    "ConfigCase",
    "bad_field",
    "bad_values",
    "config_cases",
    "near_miss_cases",
    "side_fields",
    "unknown_keys",
    "valid_values",
    "wrong_types",
]

Side = Literal["torch", "tf"]

_counts = st.integers(min_value=1, max_value=10_000)
_finite_pos = st.floats(min_value=1e-12, max_value=1e12, allow_nan=False, allow_infinity=False)
_non_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
_not_a_number = st.one_of(st.text(max_size=5), st.none(), st.booleans(), st.just([1.0]))
_not_an_int = st.one_of(
    st.floats().filter(lambda v: not v.is_integer()),
    st.just(2.0),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


def _names(allowed: Sequence[str]) -> st.SearchStrategy[Any]:
    """Names outside ``allowed``: its near misses (case, whitespace, prefixes and suffixes,
    synonyms: :mod:`conformance.strategies.near_miss`) first, beside random text, None and
    integers; shrinks toward the simplest near miss."""
    return names_beside(
        allowed,
        st.one_of(
            st.text(max_size=8).filter(lambda s: s not in allowed),
            st.none(),
            st.integers(),
        ),
    )


VALID: dict[str, st.SearchStrategy[Any]] = {
    "gradient_clip_val": st.one_of(
        st.none(),
        st.just(0.0),
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    ),
    "gradient_clip_algorithm": st.sampled_from(CLIP_ALGORITHMS),
    "batch_size": _counts,
    "epochs": _counts,
    "nepochs": _counts,
    "accumulate_grad_batches": _counts,
    "learning_rate": _finite_pos,
    "optimizer": st.sampled_from(OPTIMIZER_NAMES),
    "seed": st.integers(min_value=0, max_value=2**32 - 1),
    "nphotons": _finite_pos,
    "loss_function": st.sampled_from(LOSS_FUNCTIONS),
    "nll_weight": st.floats(min_value=0.0, max_value=1e3, allow_nan=False),
    "mae_weight": st.floats(min_value=0.0, max_value=1e3, allow_nan=False),
}
"""Strategies of values each field must accept."""

INVALID: dict[str, st.SearchStrategy[Any]] = {
    "gradient_clip_val": st.one_of(
        st.floats(max_value=-1e-300, allow_nan=False),
        _non_finite,
        _not_a_number.filter(lambda v: v is not None),
    ),
    "gradient_clip_algorithm": _names(CLIP_ALGORITHMS),
    "batch_size": st.one_of(st.integers(max_value=0), _not_an_int),
    "epochs": st.one_of(st.integers(max_value=0), _not_an_int),
    "nepochs": st.one_of(st.integers(max_value=0), _not_an_int),
    "accumulate_grad_batches": st.one_of(st.integers(max_value=0), _not_an_int),
    "learning_rate": st.one_of(
        st.floats(max_value=0.0, allow_nan=False), _non_finite, _not_a_number
    ),
    "optimizer": _names(OPTIMIZER_NAMES),
    "seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), _not_an_int),
    "nphotons": st.one_of(st.floats(max_value=0.0, allow_nan=False), _non_finite, _not_a_number),
    "loss_function": _names(LOSS_FUNCTIONS),
    "nll_weight": st.one_of(
        st.floats(max_value=-1e-300, allow_nan=False), _non_finite, _not_a_number
    ),
    "mae_weight": st.one_of(
        st.floats(max_value=-1e-300, allow_nan=False), _non_finite, _not_a_number
    ),
}
"""Strategies of values each field must reject."""

_SIDE_FIELDS: dict[Side, tuple[str, ...]] = {
    "torch": (
        "gradient_clip_val",
        "gradient_clip_algorithm",
        "batch_size",
        "epochs",
        "learning_rate",
        "optimizer",
        "seed",
        "nphotons",
        "accumulate_grad_batches",
        "loss_function",
    ),
    "tf": (
        "gradient_clip_val",
        "gradient_clip_algorithm",
        "batch_size",
        "nepochs",
        "learning_rate",
        "optimizer",
        "seed",
        "nphotons",
        "nll_weight",
        "mae_weight",
    ),
}


def side_fields(side: Side) -> tuple[str, ...]:
    """The field names of one side's training config, as the contract lists them."""
    return _SIDE_FIELDS[side]


@st.composite
def valid_values(draw: st.DrawFn, side: Side) -> dict[str, Any]:
    """A dict of valid values for every field of one side (a random subset set explicitly)."""
    values: dict[str, Any] = {}
    for name in _SIDE_FIELDS[side]:
        values[name] = draw(VALID[name], label=name)
    if side == "tf" and values["nll_weight"] == 0.0 and values["mae_weight"] == 0.0:
        values["nll_weight"] = 1.0
    return values


@st.composite
def bad_field(draw: st.DrawFn, side: Side) -> tuple[dict[str, Any], str, Any]:
    """Valid values with exactly one field replaced by a bad value: (values, field, bad)."""
    values = draw(valid_values(side))
    name = draw(st.sampled_from(_SIDE_FIELDS[side]), label="field")
    bad = draw(INVALID[name], label="bad value")
    values[name] = bad
    return values, name, bad


# --- rebuildable examples for the CFG properties ----------------------------------------------


def _py(value: Any) -> str:
    """Python source that rebuilds ``value`` (NaN and infinities spelled ``float('nan')`` ...)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float({str(value)!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


@dataclass(frozen=True)
class ConfigCase:
    """Keyword arguments for one side's training config (all valid).

    >>> ConfigCase("torch", {"epochs": 3})
    ConfigCase(side='torch', values={'epochs': 3})
    """

    side: Side
    values: dict[str, Any]

    def __repr__(self) -> str:
        return f"ConfigCase(side={self.side!r}, values={_py(self.values)})"


@dataclass(frozen=True)
class BadValue:
    """One field given a value the contract rejects; the other fields as in ``values``.

    >>> BadValue("tf", "gradient_clip_val", float("nan"))
    BadValue(side='tf', field='gradient_clip_val', value=float('nan'), values={})
    """

    side: str
    field: str
    value: Any
    values: dict[str, Any] = dataclass_field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        return {**self.values, self.field: self.value}

    def __repr__(self) -> str:
        return (
            f"BadValue(side={self.side!r}, field={self.field!r}, value={_py(self.value)}, "
            f"values={_py(self.values)})"
        )


def config_cases(side: Side) -> st.SearchStrategy[ConfigCase]:
    """Valid keyword arguments for every field of ``side`` (CFG-005, CFG-006)."""
    return valid_values(side).map(lambda v: ConfigCase(side, v))


def bad_values(
    side: Side, field: str, values: st.SearchStrategy[Any]
) -> st.SearchStrategy[BadValue]:
    """``field`` alone given each value of ``values`` (the other fields left at their defaults)."""
    return values.map(lambda v: BadValue(side, field, v))


NAME_SETS: dict[str, tuple[str, ...]] = {
    "gradient_clip_algorithm": CLIP_ALGORITHMS,
    "optimizer": OPTIMIZER_NAMES,
    "loss_function": LOSS_FUNCTIONS,
}
"""The enumerated fields of the training configs and the names each allows."""


def near_miss_cases(side: Side, field: str) -> tuple[BadValue, ...]:
    """``field`` alone given each near miss of its names, simplest first: the explicit examples
    of a property that checks unknown names are refused (run on every profile and seed).

    >>> near_miss_cases("torch", "gradient_clip_algorithm")[0]
    BadValue(side='torch', field='gradient_clip_algorithm', value='', values={})
    """
    return tuple(BadValue(side, field, v) for v in near_misses(NAME_SETS[field]))


_FLOATS = ("learning_rate", "nphotons", "nll_weight", "mae_weight", "gradient_clip_val")
_INTS = ("batch_size", "epochs", "nepochs", "accumulate_grad_batches", "seed")
_NAMES = tuple(NAME_SETS)


def _wrong_type(name: str) -> st.SearchStrategy[Any]:
    """Values of the wrong type for ``name``: strings for numbers, floats for counts, numbers
    for names (CFG-010). Never a value a lax parser could mistake for a valid one's type."""
    if name in _FLOATS:
        nullable = name == "gradient_clip_val"
        numeric_text = st.sampled_from(["1.0", "0.5", "1e-3", "2"])
        others = st.one_of(numeric_text, st.booleans(), st.just([1.0]))
        return others if nullable else st.one_of(others, st.none())
    if name in _INTS:
        return st.one_of(
            st.sampled_from([2.0, 1.5, 16.0]),
            st.sampled_from(["16", "2"]),
            st.booleans(),
            st.none(),
        )
    return st.one_of(st.integers(min_value=0, max_value=3), st.sampled_from([1.0, 0.5]), st.none())


@st.composite
def wrong_types(draw: st.DrawFn, side: Side) -> BadValue:
    """One field of ``side`` given a value of the wrong type (CFG-010)."""
    name = draw(st.sampled_from(_SIDE_FIELDS[side]), label="field")
    return BadValue(side, name, draw(_wrong_type(name), label="value"))


def unknown_keys(side: Side) -> st.SearchStrategy[str]:
    """Keys that are not fields of ``side`` (CFG-008)."""
    known = set(_SIDE_FIELDS[side]) | set(VALID)
    return st.one_of(
        st.sampled_from(["nepochs" if side == "torch" else "epochs", "gradient_clip", "lr"]),
        st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
    ).filter(lambda k: k not in known)
