"""optax's ``adaptive_grad_clip`` (JAX, on the CPU) in the ``agc`` role, through a torch <-> JAX
adapter.

>>> from conformance.adapters import optax_jax
>>> optax_jax.LIBRARY.pip, optax_jax.ROLE
('pip install --no-deps optax==0.2.8', 'agc')
>>> optax_jax.to_jax_axes(2), optax_jax.to_jax_axes(4)
((1, 0), (2, 3, 1, 0))

Translation, per call: the parameters with a gradient become one pytree (a list) of JAX
arrays for the weights and one for the gradients; ``t = optax.adaptive_grad_clip(clip_factor,
eps)``, ``clipped, _ = t.update(grads, t.init(weights), weights)``; each clipped array comes
back into the existing ``p.grad`` (``copy_``: optax is functional, ``p.grad`` is not replaced).
Nothing is written before optax has returned for every parameter.

**Layout.** optax infers the unit axes from the rank and assumes the Flax/Haiku layouts, with
the output axis *last*: Linear ``(in, out)``, Conv1D ``(K, in, out)``, Conv2D HWIO, Conv3D
DHWIO. The adapter assumes PyTorch's layout, output axis first (``(out, in, *kernel)``, as the
role's default axis says), and permutes each tensor of rank >= 2 to the Flax layout,
``(out, in, *kernel) -> (*kernel, in, out)`` (:func:`to_jax_axes`), and back. Rank 0 and 1
pass as they are.

**dtypes.** ``jax_enable_x64`` is switched on when the adapter loads (otherwise JAX would turn
float64 and complex128 into float32 and complex64 silently); float16, float32, float64,
complex64 and complex128 cross as NumPy arrays, bfloat16 as ``ml_dtypes.bfloat16`` (the same
bits). JAX runs on its CPU backend.

    python -m conformance check --agc conformance.adapters.optax_jax:agc
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import torch

from conformance.adapters._library import Library, LibraryMissing, parameter_list

__all__ = ["JAX", "LIBRARY", "ROLE", "agc", "from_jax_axes", "to_jax_axes"]

LIBRARY = Library("optax", "0.2.8", "optax")
JAX = Library("jax", "0.10.2", "jax")
"""optax runs on JAX (jax and jaxlib 0.10.2, the newest for Python 3.11; CPU)."""
ROLE = "agc"


@cache
def _libraries() -> tuple[Any, Any, Any]:
    LIBRARY.directory()
    JAX.directory()
    jax = importlib.import_module("jax")
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    try:
        ml_dtypes = importlib.import_module("ml_dtypes")
    except ImportError as error:  # pragma: no cover - jax depends on ml_dtypes
        raise LibraryMissing("ml_dtypes is not installed (jax needs it)") from error
    return jax, importlib.import_module("optax"), ml_dtypes


def to_jax_axes(rank: int) -> tuple[int, ...]:
    """The permutation from PyTorch's ``(out, in, *kernel)`` to Flax's ``(*kernel, in, out)``."""
    if rank < 2:
        return tuple(range(rank))
    return (*range(2, rank), 1, 0)


def from_jax_axes(rank: int) -> tuple[int, ...]:
    """The inverse of :func:`to_jax_axes`.

    >>> from_jax_axes(4)
    (3, 2, 0, 1)
    """
    forward = to_jax_axes(rank)
    return tuple(forward.index(i) for i in range(rank))


def _to_jax(jnp: Any, ml_dtypes: Any, t: torch.Tensor) -> Any:
    t = t.detach().permute(to_jax_axes(t.ndim)).contiguous()
    if t.dtype == torch.bfloat16:
        return jnp.asarray(t.view(torch.int16).numpy().view(ml_dtypes.bfloat16))
    return jnp.asarray(t.numpy())


def _to_torch(np: Any, ml_dtypes: Any, array: Any) -> torch.Tensor:
    host = np.asarray(array)
    if host.dtype == ml_dtypes.bfloat16:
        t = torch.from_numpy(host.view(np.int16).copy()).view(torch.bfloat16)
    else:
        t = torch.from_numpy(host.copy())
    return t.permute(from_jax_axes(t.ndim))


def agc(parameters: Any, clip_factor: float = 0.01, eps: float = 1e-3) -> None:
    """``optax.adaptive_grad_clip(clip_factor, eps).update(grads, state, weights)``, written
    back into each ``p.grad``."""
    jax, optax, ml_dtypes = _libraries()
    np = importlib.import_module("numpy")
    pairs = [(p, p.grad) for p in parameter_list(parameters) if p.grad is not None]
    weights = [_to_jax(jax.numpy, ml_dtypes, p) for p, _ in pairs]
    grads = [_to_jax(jax.numpy, ml_dtypes, g) for _, g in pairs]
    transform = optax.adaptive_grad_clip(clip_factor, eps)
    clipped, _ = transform.update(grads, transform.init(weights), weights)
    results = [_to_torch(np, ml_dtypes, c) for c in clipped]
    with torch.no_grad():
        for (_, g), new in zip(pairs, results, strict=True):
            g.copy_(new)
