"""The worker protocol's wire format (conformance._internal.wire): what a worker can send the judge.

Round trips of every value kind, bit-exact tensors in every dtype and layout, and the
refusals: a frame the encoder could not have made is a ProtocolError, and decoding never
unpickles or calls anything.
"""

from __future__ import annotations

import json
import math
import pickle
import socket
import struct
import threading
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance._internal.wire import (
    Channel,
    ChannelClosed,
    ChannelTimeout,
    ExceptionInfo,
    Opaque,
    ProtocolError,
    decode,
    encode,
    pack,
    unpack,
)

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
          torch.complex128, torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32,
          torch.int64]  # fmt: skip


def bits(t: torch.Tensor) -> bytes:
    flat = torch.empty(t.numel(), dtype=t.dtype)
    flat.copy_(t.reshape(-1))
    return bytes(flat.view(torch.uint8).numpy().tobytes()) if t.numel() else b""


def round_trip(value: Any) -> Any:
    return unpack(pack(value)[8:])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)], ids=str)
def test_tensors_round_trip_bit_for_bit(dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(0)
    source = (torch.randn((*shape, 2), generator=g, dtype=torch.float64) * 1e3)[..., 0]
    t = source.to(dtype) if not dtype.is_complex else torch.complex(source, -source).to(dtype)
    back = round_trip(t)
    assert back.dtype == t.dtype and back.shape == t.shape and bits(back) == bits(t)


def test_views_conjugates_and_negatives_arrive_as_their_values() -> None:
    base = torch.full((3, 4), 7.0, dtype=torch.float64)
    base[:, ::2] = torch.arange(6.0, dtype=torch.float64).reshape(3, 2)
    views = [base[:, ::2], base.t(), base[:1, ::2], torch.tensor([1 + 2j]).conj(), -base.neg()]
    for view in views:
        back = round_trip(view)
        assert torch.equal(back, view.resolve_conj().resolve_neg()), view
        assert back.is_contiguous()


def test_special_floats_ints_and_containers() -> None:
    value = {
        "nan": math.nan,
        "inf": (math.inf, -math.inf, -0.0),
        "big": 2**70,
        "nested": [None, True, 3, "x", {"k": [1.5]}],
        1: "int key",
        ("a", 2): complex(1, -2),
        "dtype": torch.bfloat16,
        "bytes": b"\x00\xff",
        "array": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": np.float64(2.5),
    }
    back = round_trip(value)
    assert math.isnan(back["nan"]) and back["inf"] == (math.inf, -math.inf, -0.0)
    assert math.copysign(1, back["inf"][2]) == -1
    assert back["big"] == 2**70 and back["nested"] == [None, True, 3, "x", {"k": [1.5]}]
    assert back[1] == "int key" and back[("a", 2)] == complex(1, -2)
    assert back["dtype"] is torch.bfloat16 and back["bytes"] == b"\x00\xff"
    assert np.array_equal(back["array"], value["array"]) and back["array"].dtype == np.int32
    assert back["scalar"] == 2.5 and type(back["scalar"]) is float


def test_unknown_objects_become_opaque_stand_ins_equal_to_nothing_real() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    class Algorithm(str):
        pass

    back = round_trip([object(), Hostile(), Algorithm("norm")])
    assert isinstance(back[0], Opaque) and back[0].type == "builtins.object"
    assert isinstance(back[1], Opaque) and "repr raised RuntimeError" in back[1].repr
    assert back[0] != object() and back[1] != "norm"
    assert back[2] == "norm" and type(back[2]) is str, "a str subclass arrives as its characters"


def test_exception_info_round_trips() -> None:
    info = ExceptionInfo(
        "pydantic_core.ValidationError",
        ("pydantic_core.ValidationError", "builtins.ValueError"),
        "1 validation error",
        "raised at /x.py:3 in f",
        ("/x.py:3 in f",),
    )
    back = round_trip({"raised": info})["raised"]
    assert back == info and back.is_a("ValueError") and not back.is_a("TypeError")


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=8),
    st.lists(st.floats(allow_nan=False, width=32), max_size=6).map(torch.tensor),
)
_trees = st.recursive(
    _leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=4), kids, max_size=4),
    ),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and bits(a) == bits(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(_trees)
def test_any_tree_of_carried_values_round_trips(value: Any) -> None:
    assert _same(round_trip(value), value)


# --- refusals --------------------------------------------------------------------------------


def _frame(tree: Any, blobs: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    header = json.dumps({"m": tree, "b": [len(b) for b in blobs]}).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


@pytest.mark.parametrize(
    ("tree", "blobs", "why"),
    [
        ({"pickle": "x"}, [], "unknown tag"),
        ({"L": [1], "T": [2]}, [], "untagged value"),
        ({"tensor": ["float32", [2], 0]}, [b"\x00" * 4], "expected 8"),
        ({"tensor": ["object", [1], 0]}, [b"\x00"], "bad tensor header"),
        ({"tensor": ["float32", [1], 5]}, [], "out of range"),
        ({"ndarray": ["|O", [1], 0]}, [b"\x00" * 8], "bad 'ndarray' value"),
        ({"dtype": "torch.float32"}, [], "dtype"),
        ([1, 2], [], "untagged value"),
    ],
)
def test_frames_the_encoder_cannot_make_are_protocol_errors(
    tree: Any, blobs: list[bytes], why: str
) -> None:
    with pytest.raises(ProtocolError, match=why):
        unpack(_frame(tree, blobs))


def test_decoding_never_unpickles(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = pickle.dumps(Opaque("x", "y"))

    def refuse(*a: Any, **k: Any) -> Any:
        raise AssertionError("decode called pickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    assert unpack(_frame({"B": 0}, [payload])) == payload, "a pickle arrives as bytes, inert"
    tree, blobs = encode({"t": torch.ones(2)})
    assert torch.equal(decode(tree, blobs)["t"], torch.ones(2))


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    tree: Any = 1
    for _ in range(300):
        tree = {"L": [tree]}
    with pytest.raises(ProtocolError, match="too deep"):
        decode(tree, [])


# --- the channel -----------------------------------------------------------------------------


def test_channel_frames_timeouts_and_closing() -> None:
    a, b = socket.socketpair()
    left, right = Channel(a), Channel(b)
    big = torch.arange(300_000, dtype=torch.float64)
    sender = threading.Thread(target=lambda: left.send({"big": big, "n": 1}))
    sender.start()
    got = right.recv(timeout=30)
    sender.join()
    assert torch.equal(got["big"], big) and got["n"] == 1
    with pytest.raises(ChannelTimeout):
        right.recv(timeout=0.05)
    frame = pack({"x": 1})
    a.sendall(frame[:5])  # half a frame, then silence: a timeout, not a hang
    with pytest.raises(ChannelTimeout):
        right.recv(timeout=0.05)
    left.close()
    with pytest.raises((ChannelClosed, ChannelTimeout)):
        right.recv(timeout=1)


def test_a_length_prefix_beyond_the_limit_is_refused() -> None:
    a, b = socket.socketpair()
    a.sendall(struct.pack(">Q", 1 << 40))
    with pytest.raises(ProtocolError, match="exceeds"):
        Channel(b).recv(timeout=1)
