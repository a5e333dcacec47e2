"""The worker: the only process that imports targets; it performs each property's act.

Internal. A worker is forked by the host (:mod:`conformance._internal.host`) with its channel
socket, and files for its stdout and stderr. It loads the targets of its roles, says
``ready`` (or why a target did not load), then answers requests until told to stop or
killed:

- ``{"op": "act", "module": M, "property": P, "example": <pickle>}`` ->
  ``{"ok": observation}`` or ``{"raised": ExceptionInfo}`` (an exception escaping the
  act: the target raised where the clause asks it to work);
- ``{"op": "bye"}`` -> the worker exits.

Nothing the worker sends is executed by the judge (see :mod:`conformance._internal.wire`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import sys
from typing import Any

import conformance.properties  # noqa: F401  (imports and registers every bundled property)
from conformance._internal.wire import Channel, pack
from conformance.domain import ATTRIBUTE
from conformance.framework import HARNESS_DIR, Targets, exception_info, find_property
from conformance.targets import TargetError, describe_object, load_target

__all__ = ["load_roles", "serve"]


def load_roles(roles: dict[str, str]) -> tuple[Targets, dict[str, dict[str, Any]]]:
    """Load each role's target; TargetError for the first that cannot be loaded."""
    objects: dict[str, Any] = {}
    meta: dict[str, dict[str, Any]] = {}
    for role, text in roles.items():
        obj = load_target(text, role)
        objects[role] = obj
        meta[role] = {"target": text, **describe_object(obj)}
        declared = getattr(obj, ATTRIBUTE, None)
        if declared is not None:
            meta[role]["domain"] = declared
    return Targets(**objects), meta


def _act(request: dict[str, Any], targets: Targets) -> dict[str, Any]:
    try:
        prop = find_property(request["module"], request["property"])
        example = pickle.loads(request["example"])
    except BaseException as error:
        info = exception_info(error)
        return {"harness_error": f"{info.name}: {info.message}"}
    try:
        return {"ok": prop.act(targets, example)}
    except BaseException as error:  # SystemExit and KeyboardInterrupt from the target too
        return {"raised": exception_info(error, HARNESS_DIR)}


def serve(fd: int, roles: dict[str, str]) -> None:
    """Load ``roles`` and answer requests on the socket ``fd`` until ``bye`` or EOF."""
    channel = Channel(socket.socket(fileno=fd))
    try:
        targets, meta = load_roles(roles)
    except TargetError as error:
        channel.send({"load_error": [error.target, error.reason, error.role]})
        return
    except BaseException as error:
        info = exception_info(error)
        channel.send({"load_error": [next(iter(roles.values()), ""), info.describe(), None]})
        return
    channel.send({"ready": {"pid": os.getpid(), "targets": meta}})
    _warm_up(roles)
    while True:
        request = channel.recv()
        if not isinstance(request, dict) or request.get("op") != "act":
            return
        reply = _act(request, targets)
        _flush()
        try:
            frame = pack(reply)
        except BaseException as error:
            frame = pack({"harness_error": f"the observation could not be encoded: {error!r}"})
        channel.send_frame(frame)


_WARM_UP: dict[str, tuple[str, ...]] = {"train_step": ("torch._dynamo",)}
"""Modules a role's acts import on first use, slowly (an optimizer's first step imports
torch._dynamo: a second): imported in the background while the worker waits for its first
request, which for a training step comes late in the run."""


def _warm_up(roles: dict[str, str]) -> None:
    import importlib
    import threading

    modules = [m for role in roles for m in _WARM_UP.get(role, ())]
    if modules:
        threading.Thread(
            target=lambda: [importlib.import_module(m) for m in modules], daemon=True
        ).start()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
