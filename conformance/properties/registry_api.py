"""Properties of the registry's wider API: registration (REG-004), config names (REG-005) and
building from a config (REG-008).

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.id.startswith("registry_api."))
['REG-004', 'REG-005', 'REG-008']

Roles: ``registry`` (``resolve(name) -> class``), ``register`` (``register(name)(cls)``,
a decorator factory adding ``cls`` to the same registry), ``model_config`` (the model
config class, built with the fields of :class:`spec.ModelConfig`) and
``build_generator`` (``build(model_config) -> module``). Only names that are already
taken are registered, so checking a conforming registry leaves it unchanged.
REG-006 (a broken installed plugin) and REG-007 need an installed distribution and
are checked by the reference implementation's tests.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

from conformance.properties import Targets, conformance_property
from conformance.strategies.blocks import unknown_names
from conformance.strategies.layers import BuildCase, build_cases

__all__: list[str] = []

BUILTIN = ("hybrid", "stable_hybrid")


class _ProbeGenerator(nn.Module):
    """A generator class the registry must refuse under a taken name."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        hidden_channels: int = 1,
        n_blocks: int = 1,
        modes: int = 1,
        C: int = 1,
    ) -> None:
        super().__init__()


@conformance_property("REG-004", roles=("registry", "register"))
def taken_name_rejected(targets: Targets, _: None) -> None:
    """Registering a built-in name raises ValueError naming it; the entry stays in place."""
    for name in BUILTIN:
        before = targets.registry(name)
        try:
            targets.register(name)(_ProbeGenerator)
        except ValueError as error:
            assert name in str(error), f"the ValueError does not name {name!r}: {error}"
        except Exception as error:
            raise AssertionError(
                f"register({name!r}) raised {type(error).__name__}, not ValueError: {error}"
            ) from error
        else:
            raise AssertionError(f"register({name!r}) accepted a second class for a taken name")
        after = targets.registry(name)
        assert after is before, f"{name!r} now resolves to {after!r}, not {before!r}"


def _accepts(cls: Any, name: str) -> bool:
    try:
        cls(architecture=name)
    except Exception:
        return False
    return True


def _resolves(resolve: Any, name: str) -> bool:
    try:
        resolve(name)
    except LookupError:
        return False
    return True


@conformance_property(
    "REG-005",
    roles=("registry", "model_config"),
    strategy=st.one_of(st.sampled_from(BUILTIN), unknown_names()),
    max_examples=40,
)
def config_names_are_registry_names(targets: Targets, name: str) -> None:
    """ModelConfig(architecture=name) builds exactly when the registry resolves ``name``."""
    accepted, resolved = _accepts(targets.model_config, name), _resolves(targets.registry, name)
    assert accepted == resolved, (
        f"architecture {name!r}: the config {'accepts' if accepted else 'rejects'} it but the "
        f"registry {'resolves' if resolved else 'does not resolve'} it"
    )


def _reference_kwargs(cls: Any, case: BuildCase) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "in_channels": 1,
        "out_channels": 2,
        "hidden_channels": case.fno_width,
        "n_blocks": case.fno_blocks,
        "modes": case.fno_modes,
        "C": case.gridsize**2,
    }
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return kwargs
    optional = {
        "max_hidden_channels": case.max_hidden_channels,
        "input_size": (case.N, case.N),
        "init": case.stable_init,
        "layerscale_init": case.layerscale_init,
    }
    kwargs.update({k: v for k, v in optional.items() if k in params})
    return kwargs


def _shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(p.shape) for n, p in module.named_parameters()}


@conformance_property(
    "REG-008",
    roles=("build_generator", "registry", "model_config"),
    strategy=build_cases(),
    max_examples=20,
)
def build_maps_the_config(targets: Targets, case: BuildCase) -> None:
    """build(config) is the resolved class built with the config's width, blocks, modes,
    C = gridsize², N x N input size, channel cap and stable-block init (same parameters)."""
    config = targets.model_config(**case.fields())
    cls = targets.registry(case.architecture)
    built = targets.build_generator(config)
    assert type(built) is cls, f"built a {type(built).__name__}, not the resolved {cls.__name__}"
    reference = cls(**_reference_kwargs(cls, case))
    got, want = _shapes(built), _shapes(reference)
    assert got == want, (
        f"parameters differ from {cls.__name__}(**{_reference_kwargs(cls, case)!r}): "
        f"{sorted(set(got.items()) ^ set(want.items()))[:6]}; case {case!r}"
    )
    c = case.gridsize**2
    with torch.no_grad():
        y = built(torch.zeros(1, c, case.N, case.N))
    assert tuple(y.shape) == (1, case.N, case.N, c, 2), f"output {tuple(y.shape)}; case {case!r}"
