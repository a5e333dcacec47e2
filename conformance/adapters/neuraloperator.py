"""neuraloperator's ``SpectralConv`` (``neuralop/layers/spectral_convolution.py``) in the
``spectral_conv`` role.

>>> from conformance.adapters import neuraloperator
>>> neuraloperator.LIBRARY.pip, neuraloperator.ROLE
('pip install --no-deps neuraloperator==2.0.0', 'spectral_conv')
>>> neuraloperator.n_modes(4)
(8, 7)

Translation of ``modes``: the role's ``SpectralConv(in_channels, out_channels, modes)`` keeps
the frequencies -m <= k < m of the first axis and 0 <= l < m of the second (the FNO paper's
``modes1 = modes2 = m``, both corners). neuraloperator's ``n_modes`` counts the modes kept
along each axis, centred on frequency 0, and for the last (real-FFT) axis keeps
``n // 2 + 1`` of them: so ``n_modes = (2m, 2m - 1)``. ``bias=False``: the FNO paper's
spectral layer is the Fourier multiplier alone (its bias sits in the pointwise path), and the
role's clauses are about that multiplier. Every other argument is neuraloperator's default
(a dense complex weight, ``fft_norm='forward'``).

Import only: ``import neuralop`` imports its models, data sets and trainer (wandb, h5py,
matplotlib, zencfg, configmypy, ...). The adapter registers empty ``neuralop`` and
``neuralop.layers`` packages pointing at the installed folders (their ``__init__`` is not run)
and imports ``neuralop.layers.spectral_convolution`` from them; that module needs only torch,
TensorLy, TensorLy-Torch and opt_einsum. The empty packages stay registered (the layer's
modules refer to them) unless ``neuralop`` was already imported, in which case it is used.

    python -m conformance check --spectral-conv conformance.adapters.neuraloperator:spectral_conv
"""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

from conformance.adapters._library import Library, namespace

__all__ = ["LIBRARY", "ROLE", "n_modes", "spectral_conv"]

LIBRARY = Library("neuraloperator", "2.0.0", "neuralop")
ROLE = "spectral_conv"


@cache
def _spectral_conv_class() -> Any:
    root = LIBRARY.directory()
    if "neuralop" not in sys.modules:
        sys.modules["neuralop"] = namespace("neuralop", root)
        sys.modules["neuralop.layers"] = namespace("neuralop.layers", root / "layers")
    return importlib.import_module("neuralop.layers.spectral_convolution").SpectralConv


def n_modes(modes: int) -> tuple[int, int]:
    """neuraloperator's ``n_modes`` for the role's ``modes`` (see the module docstring)."""
    return (2 * modes, 2 * modes - 1)


def spectral_conv(in_channels: int, out_channels: int, modes: int) -> Any:
    """``SpectralConv(in_channels, out_channels, n_modes=(2m, 2m - 1), bias=False)``."""
    cls = _spectral_conv_class()
    return cls(in_channels, out_channels, n_modes=n_modes(modes), bias=False)
