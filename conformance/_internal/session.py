"""The judge's workers for one run: one per group of roles, replaced after a crash or timeout.

Internal. A :class:`Session` loads every requested role's target in a worker of its
own (concurrently, under the import time limit), so that a target that cannot be
loaded is reported before anything runs; a property using several roles gets a worker
loading exactly those. A worker whose target crashed or timed out is never reused.
Workers are forked by one shared :class:`~conformance._internal.host.Host` per process and
configuration (torch is imported once).
"""

from __future__ import annotations

import atexit
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance._internal.host import Host, HostError, Worker, WorkerCrashed, WorkerTimeout
from conformance.domain import Domain, DomainError
from conformance.targets import TargetError

__all__ = ["HOME", "Options", "Session", "close_hosts", "warm", "worker_sys_path"]

HOME = str(Path(__file__).resolve().parents[2])
"""The folder holding this distribution's ``conformance``, ``spec`` and ``impl``."""


@dataclass(frozen=True)
class Options:
    """How workers run: torch threads, address space a worker may add beyond its start (MiB),
    target import limit (s)."""

    threads: int = 1
    memory_limit: int | None = None
    import_limit: float = 120.0


def worker_sys_path() -> list[str]:
    """The judge's ``sys.path`` without the current folder, with this distribution's first.

    Workers import ``spec``, ``impl`` and the harness from the installed distribution even
    when the current folder holds packages of those names; the current folder is appended
    at the end inside the worker, for explicit ``module:attr`` targets that live there.
    """
    cwd = os.path.realpath(os.getcwd())
    out = [HOME]
    for entry in sys.path:
        if not entry or (os.path.realpath(entry) == cwd and cwd != HOME):
            continue
        if entry not in out:
            out.append(entry)
    return out


_HOSTS: dict[Any, Host] = {}


def _host(options: Options, fresh: bool = False) -> Host:
    """The shared host for ``options`` (a new one if there is none, it died, or ``fresh``)."""
    path = worker_sys_path()
    key = (tuple(path), options.threads, options.memory_limit)
    host = _HOSTS.get(key)
    if host is None or fresh or not host.alive:
        if host is not None:
            host.close()
        host = Host(path, options.threads, options.memory_limit)
        _HOSTS[key] = host
    return host


def warm(options: Options | None = None) -> None:
    """Start the worker host now, so that it preloads torch while the judge imports its own."""
    _host(options or Options())


@atexit.register
def close_hosts() -> None:
    """Stop every worker host this process started (their workers die with them)."""
    for host in list(_HOSTS.values()):
        host.close()
    _HOSTS.clear()


class Session:
    """Workers for ``targets`` (``{role: target name}``), created on demand."""

    def __init__(self, targets: dict[str, str], options: Options | None = None) -> None:
        self.targets = dict(targets)
        self.options = options or Options()
        self.meta: dict[str, dict[str, Any]] = {}
        self.domains: dict[str, Domain] = {}
        self._workers: dict[tuple[str, ...], Worker] = {}

    def _spawn(self, roles: tuple[str, ...]) -> Worker:
        wanted = {r: self.targets[r] for r in roles}
        try:
            return _host(self.options).spawn(wanted, "+".join(roles))
        except HostError:  # the host died (killed, out of memory): one fresh try
            return _host(self.options, fresh=True).spawn(wanted, "+".join(roles))

    def _ready(self, worker: Worker, roles: tuple[str, ...]) -> None:
        first = roles[0]
        limit = self.options.import_limit
        try:
            found = worker.wait_ready(limit)
        except WorkerTimeout:
            raise TargetError(
                self.targets[first],
                f"loading it did not finish within {limit:g} s (the import hangs?); "
                "raise --import-limit if it is only slow",
                first,
            ) from None
        except WorkerCrashed as crash:
            tail = (
                f"; its stderr ends with:\n{crash.stderr.strip()}" if crash.stderr.strip() else ""
            )
            raise TargetError(
                self.targets[first], f"the worker {crash.how} while loading it{tail}", first
            ) from None
        for role, info in found.items():
            try:
                self.domains[role] = Domain.declared(
                    info.get("domain"), f"its {role} target's conformance_domain"
                )
            except DomainError as error:
                raise TargetError(self.targets[role], str(error), role) from None
            self.meta[role] = {k: v for k, v in info.items() if k != "domain"}
            described = self.domains[role].describe()
            if described:
                self.meta[role]["domain"] = repr(described)

    def load(self) -> dict[str, dict[str, str]]:
        """Load every role's target, each in its own worker; TargetError for the first that
        fails (every worker is stopped then). Returns each role's description."""
        started = [((role,), self._spawn((role,))) for role in self.targets]
        try:
            for roles, worker in started:
                self._ready(worker, roles)
                self._workers[roles] = worker
        except BaseException:
            for _, worker in started:
                worker.kill()
            self._workers.clear()
            raise
        return dict(self.meta)

    def domain(self, roles: tuple[str, ...]) -> Domain:
        """What the targets of ``roles`` declare they support (the intersection)."""
        out = Domain()
        for role in roles:
            out = out.narrow(self.domains.get(role, Domain()))
        return out

    def worker(self, roles: tuple[str, ...]) -> Worker:
        """The live worker for ``roles`` (a fresh one if there is none)."""
        key = tuple(roles)
        worker = self._workers.get(key)
        if worker is not None and worker.alive:
            return worker
        worker = self._spawn(key)
        try:
            self._ready(worker, key)
        except TargetError as error:
            raise WorkerCrashed(f"could not be restarted: {error.reason}") from None
        self._workers[key] = worker
        return worker

    def discard(self, roles: tuple[str, ...]) -> None:
        """Kill the worker for ``roles`` (after a crash or a timeout): it is never reused."""
        worker = self._workers.pop(tuple(roles), None)
        if worker is not None:
            worker.kill()

    def close(self) -> None:
        """Stop every worker of this session."""
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()

    def kill(self) -> None:
        """Kill every worker of this session at once (on an interrupt)."""
        for worker in self._workers.values():
            worker.kill()
        self._workers.clear()
