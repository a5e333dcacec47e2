"""The roles a conformance run can check, in a module that imports nothing heavy.

>>> from conformance.roles import ROLES
>>> ROLES[:3]
('agc', 'clip', 'train_step')

Kept apart from :mod:`conformance.properties` (which loads every property
module, and with them torch) so that the pytest plugin can register one option
per role without importing torch.
"""

from __future__ import annotations

__all__ = ["ROLES"]

ROLES: tuple[str, ...] = (
    "agc",
    "clip",
    "train_step",
    "block",
    "generator",
    "stable_generator",
    "registry",
    "tf_config",
    "torch_config",
    "bridge",
    "spectral_conv",
    "plain_block",
    "register",
    "model_config",
    "build_generator",
)
"""Attribute names of :class:`conformance.properties.Targets`, one per role."""
