"""nfnets-pytorch's generic ``AGC`` optimizer wrapper (``nfnets/agc.py``) in the ``agc`` role.

>>> from conformance.adapters import nfnets
>>> nfnets.LIBRARY.pip, nfnets.ROLE
('pip install --no-deps nfnets-pytorch==0.1.3', 'agc')

On Python >= 3.10 the package does not import at all: ``nfnets/agc.py`` runs
``from collections import Iterable`` (removed from ``collections`` in 3.10; it lives in
``collections.abc``), so ``python -m conformance check --agc nfnets.agc:AGC`` stops with
exit 2 before any property runs. The adapter works around that import only: while it imports
``nfnets.agc`` it sets ``collections.Iterable = collections.abc.Iterable`` (the name the file
meant), then removes it again.

Translation: ``AGC(params, optim, clipping=..., eps=...)`` clips in ``step()`` and then calls
``optim.step()``. The adapter passes it an optimizer that holds no parameters and whose
``step()`` does nothing, so the check sees the clipping alone: ``AGC(list(parameters),
NoStep(), clipping=clip_factor, eps=eps).step()`` (a single tensor as a one-element list).

    python -m conformance check --agc conformance.adapters.nfnets:agc
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
from functools import cache
from typing import Any

from conformance.adapters._library import Library, parameter_list

__all__ = ["LIBRARY", "ROLE", "agc"]

LIBRARY = Library("nfnets-pytorch", "0.1.3", "nfnets")
ROLE = "agc"


@cache
def _agc_class() -> Any:
    LIBRARY.directory()
    added = not hasattr(collections, "Iterable")
    if added:
        collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
    try:
        return importlib.import_module("nfnets.agc").AGC
    finally:
        if added:
            del collections.Iterable  # type: ignore[attr-defined]


class _NoStep:
    """The wrapped optimizer ``AGC`` reads ``defaults``, ``param_groups``, ``state`` and
    ``step`` of: no parameters, a step that does nothing."""

    def __init__(self) -> None:
        self.defaults: dict[str, Any] = {}
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Any, Any] = {}

    def step(self, closure: Any = None) -> None:
        return None


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """``nfnets.agc.AGC(params, NoStep(), clipping=clip_factor, eps=eps).step()``."""
    _agc_class()(parameter_list(parameters), _NoStep(), clipping=clip_factor, eps=eps).step()
