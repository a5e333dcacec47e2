"""The conformance side's torch-version shims, in one place.

>>> from conformance._internal.compat import dtensor_api
>>> hasattr(dtensor_api(), "DTensor")
True

torch 2.4 keeps DTensor in the private ``torch.distributed._tensor`` (its public
``torch.distributed.tensor`` package exists without it); 2.5 and later in
``torch.distributed.tensor``. Import the API through :func:`dtensor_api`, never by name.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["dtensor_api"]


def dtensor_api() -> ModuleType:
    """torch's DTensor API (``DTensor``, ``Shard``, ``Replicate``, ``init_device_mesh``, ...):
    ``torch.distributed.tensor`` (2.5+) or ``torch.distributed._tensor`` (2.4)."""
    api = importlib.import_module("torch.distributed.tensor")
    if not hasattr(api, "distribute_tensor"):  # torch 2.4 has the package, without DTensor
        api = importlib.import_module("torch.distributed._tensor")
    return api
