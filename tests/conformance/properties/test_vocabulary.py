"""The properties take their enumerations from ``spec`` (and the domain's dtypes), so a name
added there is checked everywhere; the lists they derive have the expected members."""

from __future__ import annotations

import typing

import spec
from conformance.domain import DTYPES
from conformance.properties.agc import dispatch, sharded
from conformance.properties.agc._cases import COMPLEX, HALF
from conformance.properties.config import _sides
from conformance.properties.registry import api, lookup

ALGORITHMS = typing.get_args(spec.ClipAlgorithm)


def test_algorithm_lists_follow_the_contract() -> None:
    assert {"norm", "value", "agc"} <= set(ALGORITHMS)
    assert dispatch.ALGORITHMS == ALGORITHMS
    assert _sides.ALGORITHMS == ALGORITHMS
    assert set(sharded.DISPATCH_DECISIONS) == set(ALGORITHMS)


def test_dtype_groups_partition_the_domain_dtypes() -> None:
    assert HALF == ("float16", "bfloat16")
    assert COMPLEX == ("complex64", "complex128")
    assert (*HALF, *COMPLEX) == dispatch.OTHER
    assert set(DTYPES) == {"float32", "float64", *dispatch.OTHER}


def test_architecture_names_follow_the_contract() -> None:
    assert {"hybrid", "stable_hybrid"} <= set(spec.BUILTIN_ARCHITECTURES)
    assert api.BUILTIN == lookup.BUILTIN == tuple(spec.BUILTIN_ARCHITECTURES)
