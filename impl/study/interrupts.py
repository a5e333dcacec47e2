"""SIGTERM handled like Ctrl-C: both raise :class:`Interrupted` while a run trains.

>>> import os, signal
>>> from impl.study.interrupts import Interrupted, signals_as_interrupts
>>> try:
...     with signals_as_interrupts():
...         os.kill(os.getpid(), signal.SIGTERM)  # raised here, as Ctrl-C would be
... except Interrupted as exc:
...     exc.signal_name, exc.exit_status
('SIGTERM', 143)

Inside :func:`signals_as_interrupts` SIGINT and SIGTERM raise :class:`Interrupted`
(a ``KeyboardInterrupt``, so code that already stops cleanly on Ctrl-C stops
cleanly on SIGTERM too); inside :func:`signals_deferred` they are only recorded,
so that the outputs of a stopping run are written whole. The previous handlers
are restored on exit. Off the main thread (where Python cannot install handlers)
both are no-ops.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Interrupted", "signals_as_interrupts", "signals_deferred"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run was asked to stop by a signal (SIGINT: Ctrl-C, or SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        self.signal_name = signal.Signals(signum).name
        self.exit_status = 128 + int(signum)
        super().__init__(self.signal_name)


@contextlib.contextmanager
def _handling(handler: signal.Handlers | object) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    try:
        for s in _SIGNALS:
            signal.signal(s, handler)  # type: ignore[arg-type]
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` inside the block."""
    with _handling(_raise):
        yield


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[Interrupted]]:
    """SIGINT and SIGTERM are recorded (as :class:`Interrupted` in the yielded list), not raised."""
    seen: list[Interrupted] = []

    def record(signum: int, frame: FrameType | None) -> None:
        seen.append(Interrupted(signum))

    with _handling(record):
        yield seen
