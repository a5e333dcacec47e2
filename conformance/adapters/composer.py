"""Composer's (mosaicml) adaptive gradient clipping in the ``agc`` role.

>>> from conformance.adapters import composer
>>> composer.LIBRARY.pip, composer.ROLE
('pip install --no-deps mosaicml==0.32.1', 'agc')

Calls ``apply_gradient_clipping(model, clipping_type='adaptive', clipping_threshold=clip_factor,
fsdp_enabled=False)`` from ``composer/algorithms/gradient_clipping/gradient_clipping.py``.

Translations:
- Composer takes a model and clips ``model.parameters()``: the adapter hands it an object
  whose ``parameters()`` returns the parameters it was given (a single tensor as a one-element
  list; a module is passed as it is).
- Composer has **no eps**: the adapter accepts ``eps`` and drops it, so the eps clauses judge
  Composer's own behaviour (no floor on the weight norm).
- Import only: the package import needs torchvision, torchmetrics and more, and that file
  imports ``Algorithm``, ``Event``, ``State``, ``Logger`` and ``ComposerModel`` from
  ``composer.core``, ``composer.loggers`` and ``composer.models`` for its ``GradientClipping``
  algorithm class. The adapter executes the one file with placeholder classes for those names,
  present only while it loads; the clipping functions use none of them.

    python -m conformance check --agc conformance.adapters.composer:agc
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from types import ModuleType
from typing import Any

import torch

from conformance.adapters._library import Library, load_file, package_stubs, parameter_list

__all__ = ["LIBRARY", "ROLE", "agc"]

LIBRARY = Library("mosaicml", "0.32.1", "composer")
ROLE = "agc"

_PLACEHOLDERS = {
    "composer.core": ("Algorithm", "Event", "State"),
    "composer.loggers": ("Logger",),
    "composer.models": ("ComposerModel",),
}


def _placeholder_modules() -> dict[str, ModuleType]:
    modules = {}
    for name, classes in _PLACEHOLDERS.items():
        module = ModuleType(name)
        for cls in classes:
            setattr(module, cls, type(cls, (), {"__module__": name}))
        modules[name] = module
    return modules


@cache
def _apply_gradient_clipping() -> Callable[..., None]:
    path = LIBRARY.directory() / "algorithms" / "gradient_clipping" / "gradient_clipping.py"
    with package_stubs(_placeholder_modules()):
        module = load_file(path, "_conformance_adapter_composer_gradient_clipping")
    apply: Callable[..., None] = module.apply_gradient_clipping
    return apply


class _Model:
    """What ``apply_gradient_clipping`` reads of its model: ``parameters()``."""

    def __init__(self, parameters: Iterable[torch.Tensor]) -> None:
        self._parameters = parameters

    def parameters(self) -> Iterable[torch.Tensor]:
        return self._parameters


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """``apply_gradient_clipping(model, 'adaptive', clip_factor, fsdp_enabled=False)``; no eps."""
    del eps  # Composer has no eps (see the module docstring)
    apply = _apply_gradient_clipping()
    if isinstance(parameters, torch.nn.Module):
        model: Any = parameters
    else:
        model = _Model(parameter_list(parameters))
    apply(model, clipping_type="adaptive", clipping_threshold=clip_factor, fsdp_enabled=False)
