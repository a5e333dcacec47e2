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

from typing import Any, Literal

from hypothesis import strategies as st

__all__ = [
    "INVALID",
    "VALID",
    "bad_field",
    "side_fields",
    "valid_values",
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


def _names(allowed: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=8).filter(lambda s: s not in allowed),
        st.sampled_from([a.upper() for a in allowed] + [a + " " for a in allowed]),
        st.none(),
        st.integers(),
    )


VALID: dict[str, st.SearchStrategy[Any]] = {
    "gradient_clip_val": st.one_of(
        st.none(),
        st.just(0.0),
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    ),
    "gradient_clip_algorithm": st.sampled_from(["norm", "value", "agc"]),
    "batch_size": _counts,
    "epochs": _counts,
    "nepochs": _counts,
    "accumulate_grad_batches": _counts,
    "learning_rate": _finite_pos,
    "optimizer": st.sampled_from(["adam", "adamw", "sgd"]),
    "seed": st.integers(min_value=0, max_value=2**32 - 1),
    "nphotons": _finite_pos,
    "loss_function": st.sampled_from(["poisson", "mae"]),
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
    "gradient_clip_algorithm": _names(["norm", "value", "agc"]),
    "batch_size": st.one_of(st.integers(max_value=0), _not_an_int),
    "epochs": st.one_of(st.integers(max_value=0), _not_an_int),
    "nepochs": st.one_of(st.integers(max_value=0), _not_an_int),
    "accumulate_grad_batches": st.one_of(st.integers(max_value=0), _not_an_int),
    "learning_rate": st.one_of(
        st.floats(max_value=0.0, allow_nan=False), _non_finite, _not_a_number
    ),
    "optimizer": _names(["adam", "adamw", "sgd"]),
    "seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32), _not_an_int),
    "nphotons": st.one_of(st.floats(max_value=0.0, allow_nan=False), _non_finite, _not_a_number),
    "loss_function": _names(["poisson", "mae"]),
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
