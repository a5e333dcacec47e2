"""Properties of the registry's wider API: registration (REG-004), config names (REG-005) and
building from a config (REG-008).

>>> from conformance.properties import PROPERTIES
>>> sorted(p.clause for p in PROPERTIES if p.home.endswith("registry.api"))
['REG-004', 'REG-005', 'REG-008', 'REG-010']

Roles: ``registry`` (``resolve(name) -> class``), ``register`` (``register(name)(cls)``,
a decorator factory adding ``cls`` to the same registry), ``model_config`` (the model
config class, built with the fields of :class:`spec.ModelConfig`) and
``build_generator`` (``build(model_config) -> module``). Only names that are already
taken are registered, so checking a conforming registry leaves it unchanged. The acts
report what each call did (returned, raised, which class resolves); the judge decides.
REG-006 (a broken installed plugin) and REG-007 need an installed distribution and
are checked by the reference implementation's tests.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

from conformance.framework import Targets, attempt, conformance_property
from conformance.strategies.blocks import unknown_names
from conformance.strategies.layers import BuildCase, build_cases
from conformance.strategies.near_miss import names_beside, near_misses
from spec import BUILTIN_ARCHITECTURES

__all__: list[str] = []

BUILTIN = BUILTIN_ARCHITECTURES
"""The names every conforming registry resolves (``spec.BUILTIN_ARCHITECTURES``)."""


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


class _OtherProbe(_ProbeGenerator):
    """A second class offered under a name registered a moment before."""


def _act_taken(targets: Targets, _: None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fresh = f"conformance-probe-{uuid.uuid4().hex[:12]}"  # never taken before this call
    first = attempt(lambda: targets.register(fresh)(_ProbeGenerator))
    resolved = attempt(targets.registry, fresh)
    second = attempt(lambda: targets.register(fresh)(_OtherProbe))
    again = attempt(targets.registry, fresh)
    out["fresh"] = {
        "name": fresh,
        "first": first.raised,
        "resolves": resolved.ok and resolved.value is _ProbeGenerator,
        "resolved": repr(resolved.value) if resolved.ok else resolved.raised,
        "raised": second.raised,
        "same_after": again.ok and again.value is _ProbeGenerator,
        "after": repr(again.value) if again.ok else again.raised,
    }
    for name in BUILTIN:
        before = targets.registry(name)
        got = attempt(lambda n=name: targets.register(n)(_ProbeGenerator))
        after = attempt(targets.registry, name)
        out[name] = {
            "raised": got.raised,
            "same_after": after.ok and after.value is before,
            "after": repr(after.value) if after.ok else after.raised,
            "before": repr(before),
        }
    return out


@conformance_property("REG-004", roles=("registry", "register"), act=_act_taken)
def taken_name_rejected(_: None, seen: dict[str, Any]) -> None:
    """A fresh name registers and resolves to its class; registering it again, or a built-in
    name, raises ValueError naming it, and the entry stays in place."""
    fresh = seen["fresh"]
    if fresh["first"] is not None:
        raise AssertionError(
            f"register({fresh['name']!r}) of a fresh name raised {fresh['first'].name}: "
            f"{fresh['first'].message}"
        )
    if not fresh["resolves"]:
        raise AssertionError(
            f"after register({fresh['name']!r})(cls), resolve({fresh['name']!r}) gave "
            f"{fresh['resolved']!r}, not the class registered"
        )
    seen[fresh["name"]] = fresh
    for name in (fresh["name"], *BUILTIN):
        one = seen[name]
        info = one["raised"]
        if info is None:
            raise AssertionError(f"register({name!r}) accepted a second class for a taken name")
        if not info.is_a("ValueError"):
            raise AssertionError(
                f"register({name!r}) raised {info.name}, not ValueError: {info.message}"
            )
        assert name in info.message, f"the ValueError does not name {name!r}: {info.message}"
        assert one["same_after"], f"{name!r} now resolves to {one['after']!r}, not {one['before']}"


def _act_names(targets: Targets, name: str) -> dict[str, Any]:
    built = attempt(targets.model_config, architecture=name)
    resolved = attempt(targets.registry, name)
    return {"accepted": built.ok, "resolved": resolved.raised, "resolves": resolved.ok}


@conformance_property(
    "REG-005",
    roles=("registry", "model_config"),
    strategy=st.one_of(st.sampled_from(BUILTIN), names_beside(BUILTIN, unknown_names())),
    examples=near_misses(BUILTIN),
    max_examples=40,
    act=_act_names,
)
def config_names_are_registry_names(name: str, seen: dict[str, Any]) -> None:
    """ModelConfig(architecture=name) builds exactly when the registry resolves ``name``."""
    info = seen["resolved"]
    if info is not None and not info.is_a("LookupError"):
        raise AssertionError(
            f"resolve({name!r}) raised {info.name} (an unknown name raises LookupError, REG-003): "
            f"{info.message}"
        )
    accepted, resolved = seen["accepted"], seen["resolves"]
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


def _shapes(module: nn.Module) -> dict[str, list[int]]:
    return {n: list(p.shape) for n, p in module.named_parameters()}


def _act_build(targets: Targets, case: BuildCase) -> dict[str, Any]:
    config = targets.model_config(**case.fields())
    cls = targets.registry(case.architecture)
    built = targets.build_generator(config)
    kwargs = _reference_kwargs(cls, case)
    reference = cls(**kwargs)
    c = case.gridsize**2
    with torch.no_grad():
        y = built(torch.zeros(1, c, case.N, case.N))
    return {
        "same_type": type(built) is cls,
        "built_type": type(built).__name__,
        "cls": getattr(cls, "__name__", repr(cls)),
        "kwargs": repr(kwargs),
        "got": _shapes(built),
        "want": _shapes(reference),
        "y_shape": list(y.shape) if isinstance(y, torch.Tensor) else repr(type(y)),
    }


def _built_as_configured(case: BuildCase, seen: dict[str, Any]) -> None:
    assert seen["same_type"], f"built a {seen['built_type']}, not the resolved {seen['cls']}"
    got = {k: tuple(v) for k, v in seen["got"].items()}
    want = {k: tuple(v) for k, v in seen["want"].items()}
    assert got == want, (
        f"parameters differ from {seen['cls']}(**{seen['kwargs']}): "
        f"{sorted(set(got.items()) ^ set(want.items()))[:6]}; case {case!r}"
    )
    c = case.gridsize**2
    assert seen["y_shape"] == [1, case.N, case.N, c, 2], f"output {seen['y_shape']}; case {case!r}"


@conformance_property(
    "REG-008",
    roles=("build_generator", "registry", "model_config"),
    strategy=build_cases(),
    max_examples=20,
    act=_act_build,
)
def build_maps_the_config(case: BuildCase, seen: dict[str, Any]) -> None:
    """build(config) is the resolved class built with the config's width, blocks, modes,
    C = gridsize² (and N x N input size where it takes one): the same parameters."""
    _built_as_configured(case, seen)


@conformance_property(
    "REG-010",
    roles=("build_generator", "registry", "model_config"),
    strategy=build_cases(extended=True),
    max_examples=10,
    act=_act_build,
)
def build_maps_the_extended_config(case: BuildCase, seen: dict[str, Any]) -> None:
    """The same with a channel cap and a stable-block init set in the config."""
    _built_as_configured(case, seen)
