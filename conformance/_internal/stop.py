"""Stop requests (Ctrl-C, SIGTERM) for a run of the judge; light to import (no torch).

>>> from conformance._internal.stop import STOP, Interrupted, request_stop
>>> STOP.reset(); request_stop("SIGTERM")  # no run in progress: recorded, not raised
>>> STOP.requested
'SIGTERM'
>>> STOP.reset()

A signal handler's exception lands wherever the main thread happens to be. Before a run starts
(the CLI installs its handlers first, then starts the worker host and imports the runner) and
after the run has acted on a stop (it is killing its workers and returning what finished), a
request is only recorded; while a run is in progress it is raised as :class:`Interrupted`, and
the run also looks for a recorded request before each property and each example, so one raised
where Python swallows exceptions (a gc callback, a ``__del__``) is not lost.
"""

from __future__ import annotations

__all__ = ["STOP", "Interrupted", "StopState", "request_stop"]


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or another stop request) delivered as an exception in the judge."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class StopState:
    """What has been asked for, and whether a run would act on it by raising now."""

    def __init__(self) -> None:
        self.signals: list[str] = []
        self.raising = False

    @property
    def requested(self) -> str | None:
        """The first signal received (None: none)."""
        return self.signals[0] if self.signals else None

    @property
    def pending(self) -> bool:
        """A stop was requested and the run in progress has not yet acted on it."""
        return bool(self.signals) and self.raising

    def reset(self) -> None:
        self.signals.clear()
        self.raising = False

    def raise_if_requested(self) -> None:
        if self.signals:
            raise Interrupted(self.signals[0])


STOP = StopState()


def request_stop(signal_name: str) -> None:
    """Record a stop request (from a signal handler); raise it if a run is in progress."""
    STOP.signals.append(signal_name)
    if STOP.raising:
        raise Interrupted(signal_name)
