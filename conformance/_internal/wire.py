"""The worker protocol's wire format: framed messages of tagged JSON plus raw tensor bytes.

>>> import math, torch
>>> header, blobs = encode({"grad": torch.tensor([1.5, -0.0]), "n": 3, "ok": (True, None)})
>>> back = decode(header, blobs)
>>> back["grad"].tolist(), back["n"], back["ok"]
([1.5, -0.0], 3, (True, None))
>>> decode(*encode(float("nan"))) != decode(*encode(float("nan")))  # NaN survives as NaN
True

Internal: the judge and its workers speak it over a private socket; nothing here is
public API. A frame is an 8-byte big-endian length, then a 4-byte header length, the
header (UTF-8 JSON) and the blobs it refers to. Every container is tagged, so decoding
needs no ``pickle``: a worker (which runs code under test) can send only data —
``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, dicts, tensors, NumPy
arrays, :class:`ExceptionInfo` and :class:`Opaque` stand-ins for anything else — and the
judge never executes anything a worker sends. Requests from the judge to a worker carry
the Hypothesis example as a pickle (the worker trusts its judge; not the other way round).
"""

from __future__ import annotations

import contextlib
import json
import math
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "MAX_FRAME",
    "Channel",
    "ChannelClosed",
    "ChannelTimeout",
    "ExceptionInfo",
    "Opaque",
    "ProtocolError",
    "decode",
    "encode",
]

MAX_FRAME = 1 << 31
"""Largest frame either side accepts (2 GiB); a longer length prefix is a protocol error."""
_MAX_DEPTH = 200
_MAX_REPR = 4000
_DTYPES: dict[str, torch.dtype] = {
    name: dtype
    for name in (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
    )
    if isinstance(dtype := getattr(torch, name, None), torch.dtype)
}


class ProtocolError(RuntimeError):
    """A malformed frame or value: the other side does not speak the protocol."""


class ChannelClosed(ConnectionError):
    """The other side closed the channel (a worker that exited or crashed)."""


class ChannelTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


@dataclass(frozen=True)
class Opaque:
    """Stand-in for a value the protocol does not carry: its type's name and its ``repr``.

    Equal to nothing but another Opaque of the same type and repr, so a check comparing it
    with an expected value fails and prints the repr.
    """

    type: str
    repr: str

    def __repr__(self) -> str:
        return self.repr


@dataclass(frozen=True)
class ExceptionInfo:
    """An exception raised in a worker, as data: its type, bases, message and location."""

    type: str
    """Qualified name, e.g. ``builtins.ValueError``."""
    bases: tuple[str, ...]
    """Qualified names of its classes, most derived first (for ``is_a``)."""
    message: str
    where: str = ""
    """``raised at FILE:LINE in FUNCTION``: the deepest frame of the code under test."""
    frames: tuple[str, ...] = field(default=())
    """The last frames of its traceback, ``FILE:LINE in FUNCTION``, outermost first."""

    @property
    def name(self) -> str:
        """The bare class name, e.g. ``ValueError``."""
        return self.type.rsplit(".", 1)[-1]

    def is_a(self, *names: str) -> bool:
        """Whether the exception is an instance of a class called one of ``names`` (bare or
        qualified), e.g. ``info.is_a("ValueError")`` — true for Pydantic's ValidationError.

        >>> ExceptionInfo("pydantic_core.ValidationError",
        ...               ("pydantic_core.ValidationError", "builtins.ValueError"), "").is_a(
        ...     "ValueError")
        True
        """
        wanted = set(names)
        return any(q in wanted or q.rsplit(".", 1)[-1] in wanted for q in self.bases)

    def describe(self) -> str:
        head = f"{self.name}: {self.message}".rstrip(": ") if self.message else self.name
        return f"{head}\n{self.where}" if self.where else head


# -- values -----------------------------------------------------------------------------------


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException as error:  # a hostile __repr__
        text = f"<{type(value).__name__} whose repr raised {type(error).__name__}>"
    if not isinstance(text, str):
        text = f"<{type(value).__name__} whose repr is not a string>"
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "..."


def _qualname(cls: type) -> str:
    module = getattr(cls, "__module__", None) or "?"
    return f"{module}.{getattr(cls, '__qualname__', cls.__name__)}"


def _tensor_bytes(t: torch.Tensor) -> tuple[str, list[int], bytes]:
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    t = t.cpu().resolve_conj().resolve_neg()
    name = str(t.dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise TypeError(f"tensor dtype {t.dtype} is not carried by the protocol")
    flat = torch.empty(t.numel(), dtype=t.dtype)  # fresh, unit stride (a view's may not be)
    flat.copy_(t.reshape(-1))
    raw = flat.view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return name, list(t.shape), raw


def encode(value: Any) -> tuple[Any, list[bytes]]:
    """``value`` as (JSON-able tagged tree, blobs); unknown objects become :class:`Opaque`."""
    blobs: list[bytes] = []
    return _enc(value, blobs, 0), blobs


def _enc(v: Any, blobs: list[bytes], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return {"O": ["?", "<nested too deep>"]}
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if abs(v) < 2**63 else {"I": str(v)}
    if t is float:
        return v if math.isfinite(v) else {"F": repr(v)}
    if isinstance(v, (list, tuple)) and t in (list, tuple):
        return {("L" if t is list else "T"): [_enc(x, blobs, depth + 1) for x in v]}
    if t is dict:
        return {"D": [[_enc(k, blobs, depth + 1), _enc(x, blobs, depth + 1)] for k, x in v.items()]}
    if isinstance(v, torch.Tensor):
        try:
            name, shape, raw = _tensor_bytes(v)
        except Exception as error:
            return {"O": [_qualname(t), f"<tensor the protocol cannot carry: {error}>"]}
        blobs.append(raw)
        return {"tensor": [name, shape, len(blobs) - 1]}
    if isinstance(v, np.ndarray) and v.dtype.kind in "biufc":
        array = np.ascontiguousarray(v)
        blobs.append(array.tobytes())
        return {"ndarray": [array.dtype.str, list(array.shape), len(blobs) - 1]}
    if isinstance(v, np.generic) and v.dtype.kind in "biufc":
        return _enc(v.item(), blobs, depth)
    if t is complex:
        return {"C": [_enc(v.real, blobs, depth), _enc(v.imag, blobs, depth)]}
    if isinstance(v, torch.dtype):
        return {"dtype": str(v).removeprefix("torch.")}
    if t is bytes:
        blobs.append(v)
        return {"B": len(blobs) - 1}
    if isinstance(v, ExceptionInfo):
        return {"E": [v.type, list(v.bases), v.message, v.where, list(v.frames)]}
    if isinstance(v, Opaque):
        return {"O": [v.type, v.repr]}
    if isinstance(v, str):  # a str subclass (an enum member, say): its characters
        return str.__str__(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return _enc(int(v), blobs, depth)
    if isinstance(v, float):
        return _enc(float(v), blobs, depth)
    return {"O": [_qualname(t), _safe_repr(v)]}


def decode(tree: Any, blobs: list[bytes]) -> Any:
    """The value :func:`encode` made; ProtocolError for anything it could not have made."""
    return _dec(tree, blobs, 0)


def _blob(blobs: list[bytes], index: Any) -> bytes:
    if type(index) is not int or not 0 <= index < len(blobs):
        raise ProtocolError(f"blob index {index!r} out of range")
    return blobs[index]


def _dec_tensor(spec: Any, blobs: list[bytes]) -> torch.Tensor:
    name, shape, index = spec
    if name not in _DTYPES or not all(type(s) is int and s >= 0 for s in shape):
        raise ProtocolError(f"bad tensor header {spec!r}")
    dtype = _DTYPES[name]
    raw = _blob(blobs, index)
    count = math.prod(shape)
    size = torch.empty((), dtype=dtype).element_size()
    if len(raw) != count * size:
        raise ProtocolError(f"tensor {name}{shape}: {len(raw)} bytes, expected {count * size}")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape)


def _dec(v: Any, blobs: list[bytes], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ProtocolError("value nested too deep")
    if v is None or type(v) in (bool, int, float, str):
        return v
    if type(v) is not dict or len(v) != 1:
        raise ProtocolError(f"untagged value {_safe_repr(v)[:80]}")
    ((tag, body),) = v.items()
    try:
        return _dec_tagged(tag, body, blobs, depth)
    except ProtocolError:
        raise
    except Exception as error:
        raise ProtocolError(f"bad {tag!r} value: {error}") from None


def _dec_tagged(tag: str, body: Any, blobs: list[bytes], depth: int) -> Any:
    if tag in ("L", "T"):
        items = [_dec(x, blobs, depth + 1) for x in body]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        return {_dec(k, blobs, depth + 1): _dec(x, blobs, depth + 1) for k, x in body}
    if tag == "tensor":
        return _dec_tensor(body, blobs)
    if tag == "ndarray":
        dtype, shape, index = body
        array = np.frombuffer(_blob(blobs, index), dtype=np.dtype(dtype))
        if np.dtype(dtype).kind not in "biufc":
            raise ProtocolError(f"ndarray dtype {dtype!r}")
        return array.reshape(shape).copy()
    if tag == "I":
        return int(body)
    if tag == "F":
        return float(body)
    if tag == "C":
        return complex(_dec(body[0], blobs, depth), _dec(body[1], blobs, depth))
    if tag == "dtype":
        if body not in _DTYPES:
            raise ProtocolError(f"dtype {body!r}")
        return _DTYPES[body]
    if tag == "B":
        return _blob(blobs, body)
    if tag == "E":
        kind, mro, message, where, frames = body
        return ExceptionInfo(
            str(kind), tuple(map(str, mro)), str(message), str(where), tuple(map(str, frames))
        )
    if tag == "O":
        return Opaque(str(body[0]), str(body[1]))
    raise ProtocolError(f"unknown tag {tag!r}")


# -- frames -----------------------------------------------------------------------------------


def pack(message: Any) -> bytes:
    """One frame holding ``message``."""
    tree, blobs = encode(message)
    header = json.dumps({"m": tree, "b": [len(b) for b in blobs]}, ensure_ascii=True).encode()
    body = b"".join([struct.pack(">I", len(header)), header, *blobs])
    return struct.pack(">Q", len(body)) + body


def unpack(body: bytes) -> Any:
    """The message of one frame's body (the bytes after the length prefix)."""
    if len(body) < 4:
        raise ProtocolError("frame shorter than its header length")
    (size,) = struct.unpack(">I", body[:4])
    try:
        header = json.loads(body[4 : 4 + size].decode("utf-8"))
        lengths = header["b"]
        tree = header["m"]
    except Exception as error:
        raise ProtocolError(f"unreadable frame header: {error}") from None
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
        raise ProtocolError("bad blob lengths")
    blobs, offset = [], 4 + size
    for n in lengths:
        blobs.append(body[offset : offset + n])
        offset += n
    if offset != len(body):
        raise ProtocolError(f"frame of {len(body)} bytes holds {offset}")
    return decode(tree, blobs)


class Channel:
    """A framed-message channel over a connected socket (one end of a socketpair)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: Any) -> None:
        self.sock.sendall(pack(message))

    def send_frame(self, frame: bytes) -> None:
        self.sock.sendall(frame)

    def _fill(self, need: int, deadline: float | None) -> None:
        while len(self._buffer) < need:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChannelTimeout
                ready, _, _ = select.select([self.sock], [], [], left)
                if not ready:
                    raise ChannelTimeout
            try:
                chunk = self.sock.recv(max(need - len(self._buffer), 1 << 16))
            except (ConnectionResetError, BrokenPipeError) as error:
                raise ChannelClosed(str(error)) from None
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            self._buffer += chunk

    def recv(self, timeout: float | None = None) -> Any:
        """The next message; ChannelTimeout after ``timeout`` seconds (None: wait for ever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill(8, deadline)
        (length,) = struct.unpack(">Q", bytes(self._buffer[:8]))
        if length > MAX_FRAME:
            raise ProtocolError(f"frame length {length} exceeds {MAX_FRAME}")
        self._fill(8 + length, deadline)
        body = bytes(self._buffer[8 : 8 + length])
        del self._buffer[: 8 + length]
        return unpack(body)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
