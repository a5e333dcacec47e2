"""Adapters that give real public implementations the canonical call of a role, so that
``conformance check`` can judge them: the public conformance matrix.

>>> import conformance.adapters as adapters
>>> adapters.ADAPTERS
('timm', 'pytorch_optimizer', 'composer', 'nfnets', 'optax_jax', 'neuraloperator')

- :mod:`~conformance.adapters.timm`: timm 1.0.31, ``agc``: ``adaptive_clip_grad`` from
  ``timm/utils/agc.py`` (that file alone).
- :mod:`~conformance.adapters.pytorch_optimizer`: pytorch-optimizer 4.1.0, ``agc``: its
  per-tensor helper ``pytorch_optimizer.optimizer.agc.agc``.
- :mod:`~conformance.adapters.composer`: mosaicml (Composer) 0.32.1, ``agc``:
  ``apply_gradient_clipping(model, 'adaptive', ...)``.
- :mod:`~conformance.adapters.nfnets`: nfnets-pytorch 0.1.3, ``agc``: ``nfnets.agc.AGC(...)
  .step()`` (its import worked around).
- :mod:`~conformance.adapters.optax_jax`: optax 0.2.8 on jax 0.10.2 (CPU), ``agc``:
  ``optax.adaptive_grad_clip`` (torch <-> JAX, layouts converted).
- :mod:`~conformance.adapters.neuraloperator`: neuraloperator 2.0.0, ``spectral_conv``:
  ``SpectralConv`` from ``neuralop/layers/spectral_convolution.py``.

Each adapter is a few lines that call the library and copy nothing from it; it translates the
calling convention (and, for optax, the tensor layout) and works around an import where the
package's own import would fail, and says so in its docstring. It never corrects a result.
Importing this package or an adapter module imports no library: an adapter looks its library
up when first called and, if it is missing, raises :class:`LibraryMissing` with the pip
command. Check one with, e.g.::

    python -m conformance check --agc conformance.adapters.timm:agc --profile default

and run the whole matrix with ``tox -e matrix`` (or ``python -m conformance.adapters.matrix``).
"""

from __future__ import annotations

from conformance.adapters._library import Library, LibraryMissing

__all__ = ["ADAPTERS", "Library", "LibraryMissing"]

ADAPTERS: tuple[str, ...] = (
    "timm",
    "pytorch_optimizer",
    "composer",
    "nfnets",
    "optax_jax",
    "neuraloperator",
)
"""The adapter modules of this package, in the matrix's order."""
