"""Torch-version shims: the one place impl (and its tests) ask which torch is installed.

>>> from impl._compat import TORCH_VERSION, dtensor_type
>>> TORCH_VERSION >= (2, 4)
True
>>> dtensor_type() is None or dtensor_type().__name__ == "DTensor"
True

What differs between the torch versions this project supports (2.4 and later):

- DTensor lives in the public ``torch.distributed.tensor`` from 2.5; 2.4 has that
  package without DTensor, and the API in the private ``torch.distributed._tensor``
  (:func:`dtensor_type`, :func:`dtensor_api`, :func:`placement_types`,
  :func:`comm_debug_mode`);
- torch's private helper that groups tensors by device and dtype in the order
  ``clip_grad_norm_`` sums them (:func:`tensor_grouper`) may move or go;
- FSDP2's ``fully_shard`` is public (``torch.distributed.fsdp``) from 2.6
  (:func:`fully_shard`); whether it takes ``shard_placement_fn`` is read from its
  signature (:func:`takes_shard_placement_fn`).

Everything is looked up when called, never at import: ``import impl`` does not load
torch.distributed's DTensor modules (~0.5 s). Version *numbers* are only for messages
and for tests whose expected values differ by version (:data:`TORCH_VERSION`); the
code asks for features.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch

__all__ = [
    "DTENSOR_API_MODULES",
    "TORCH_VERSION",
    "comm_debug_mode",
    "dtensor_api",
    "dtensor_type",
    "fully_shard",
    "placement_types",
    "takes_shard_placement_fn",
    "tensor_grouper",
]


def _major_minor(version: str) -> tuple[int, int]:
    """``'2.4.1+cpu'`` -> ``(2, 4)``.

    >>> _major_minor("2.13.0a0+git1234"), _major_minor("2.4.1+cpu")
    ((2, 13), (2, 4))
    """
    major, minor = version.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


TORCH_VERSION: tuple[int, int] = _major_minor(torch.__version__)
"""(major, minor) of the installed torch."""

DTENSOR_API_MODULES = ("torch.distributed.tensor._api", "torch.distributed._tensor.api")
"""Where DTensor is defined: torch 2.5+, then torch 2.4."""

_PUBLIC, _PRIVATE = "torch.distributed.tensor", "torch.distributed._tensor"


def dtensor_type() -> type | None:
    """torch's DTensor class if its module has been imported (else no DTensor can exist).

    Looked up in ``sys.modules``, not imported, so that checking a tensor stays cheap.
    """
    for name in DTENSOR_API_MODULES:
        module = sys.modules.get(name)
        found = getattr(module, "DTensor", None) if module is not None else None
        if isinstance(found, type):
            return found
    return None


def dtensor_api() -> ModuleType:
    """torch's DTensor API module (``distribute_tensor``, ``DTensor``, placements), imported.

    ``torch.distributed.tensor`` (2.5+), or ``torch.distributed._tensor`` on 2.4, which
    has the public package without DTensor in it.
    """
    api = importlib.import_module(_PUBLIC)
    if not hasattr(api, "distribute_tensor"):
        api = importlib.import_module(_PRIVATE)
    return api


def placement_types() -> tuple[type, type]:
    """``(Shard, Replicate)``: the DTensor placement classes of this torch."""
    api = dtensor_api()
    return api.Shard, api.Replicate


def comm_debug_mode() -> Any:
    """A new ``CommDebugMode`` (counts the collectives run inside its ``with`` block)."""
    try:
        module = importlib.import_module(f"{_PUBLIC}.debug")
        mode = module.CommDebugMode
    except (ImportError, AttributeError):  # torch 2.4
        mode = importlib.import_module(f"{_PRIVATE}.debug").CommDebugMode
    return mode()


def fully_shard() -> Callable[..., Any] | None:
    """torch's public ``fully_shard`` (FSDP2, 2.6+), or None where this torch has none."""
    try:
        from torch.distributed.fsdp import fully_shard as found
    except ImportError:
        return None
    return found


def takes_shard_placement_fn(shard: Callable[..., Any]) -> bool:
    """Whether this ``fully_shard`` accepts ``shard_placement_fn`` (shards on a dim other
    than 0)."""
    return "shard_placement_fn" in inspect.signature(shard).parameters


def tensor_grouper() -> Callable[..., Any] | None:
    """torch's private ``_group_tensors_by_device_and_dtype`` (the grouping, and so the
    summation order, of ``clip_grad_norm_``), or None where this torch has none."""
    try:
        from torch.utils._foreach_utils import _group_tensors_by_device_and_dtype
    except ImportError:
        return None
    return _group_tensors_by_device_and_dtype
