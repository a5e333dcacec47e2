"""A judge in a process of its own, for the pytest plugin: JSON lines in, JSON lines out.

Internal. The pytest plugin must not import the targets (nor, in a third party's
project, ``spec`` from a folder of that name), so it starts this judge with the
installed distribution's ``sys.path`` and talks to it on its stdin/stdout:

- ``{"op": "start", "targets": {...}, "profile": ..., "seed": ..., "time_limit": ...,
  "call_limit": ..., "threads": ..., "memory_limit": ..., "import_limit": ...,
  "xfail": path or null, "domain": {...}}`` -> ``{"properties": [{"id", "clause", "roles", "skip",
  "xfail"}], "resolved": {...}}`` or ``{"error": message}`` (a target that cannot be loaded);
- ``{"op": "run", "property": id}`` -> ``{"result": Result as a dict}``;
- ``{"op": "bye"}`` (or end of input) -> the judge stops its workers and exits.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

__all__ = ["BOOT", "serve"]

BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from conformance._internal.serve import serve; serve()"
)


def _start(request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from conformance._internal.session import Options, Session
    from conformance.judge import select_properties, skip_reason, target_names
    from conformance.xfail import load_xfail, match_xfail

    names, _ = target_names(request["targets"])
    options = Options(
        int(request.get("threads") or 1),
        request.get("memory_limit"),
        float(request.get("import_limit") or 120.0),
    )
    session = Session(names, options)
    session.load()
    entries = load_xfail(request["xfail"]) if request.get("xfail") else []
    listed = []
    chosen = {}
    for prop in select_properties(None):
        if not set(prop.roles) & set(names):
            continue
        entry = match_xfail(entries, prop.clause, prop.id)
        listed.append(
            {
                "id": prop.id,
                "clause": prop.clause,
                "roles": list(prop.roles),
                "skip": skip_reason(prop, names),
                "xfail": entry.reason if entry is not None else None,
            }
        )
        chosen[prop.id] = prop
    from conformance.domain import Domain

    state = {
        "session": session,
        "chosen": chosen,
        "request": request,
        "domain": Domain.declared(request.get("domain") or {}, "the --conformance-* domain"),
    }
    return state, {"properties": listed, "resolved": session.meta}


def _run(state: dict[str, Any], pid: str) -> dict[str, Any]:
    from conformance.judge import judge_property
    from conformance.profiles import get_profile

    request = state["request"]
    prop = state["chosen"][pid]
    result = judge_property(
        prop,
        state["session"],
        get_profile(request.get("profile") or "quick"),
        int(request.get("seed") or 0),
        request.get("time_limit"),
        request.get("call_limit"),
        state["domain"],
    )
    return {"result": result.to_dict()}


def _reply(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, ensure_ascii=True) + "\n")
    out.flush()


def serve() -> None:
    """Answer requests on stdin until ``bye`` or end of input (see the module docstring)."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else printed here goes to stderr, never into the replies
    state: dict[str, Any] | None = None
    try:
        for line in sys.stdin:
            request = json.loads(line)
            op = request.get("op")
            if op == "start":
                from conformance.targets import TargetError
                from conformance.xfail import XfailError

                try:
                    state, reply = _start(request)
                except (TargetError, XfailError, ValueError) as error:
                    reply = {"error": str(error)}
                _reply(out, reply)
            elif op == "run" and state is not None:
                _reply(out, _run(state, str(request["property"])))
            else:
                break
    finally:
        if state is not None:
            state["session"].close()
