"""The generator registry: built-ins (REG-001/002), unknown names (REG-003), taken names
(REG-004), config names (REG-005), plugins (REG-006/007), build_generator (REG-008)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import impl
import spec
from impl import registry
from impl.blocks import PtychoBlock, StablePtychoBlock
from impl.generators import HybridUNOGenerator, StableHybridGenerator
from impl.registry import (
    GeneratorPluginError,
    UnknownGeneratorError,
    available,
    build_generator,
    register,
    resolve_generator,
    unregister,
)

GROUP = spec.ENTRY_POINT_GROUP


def test_builtin_table_is_the_contract_set() -> None:
    """REG-001: one class for each built-in name of the vocabulary, and no other."""
    assert tuple(registry.BUILTIN) == spec.BUILTIN_ARCHITECTURES


def test_a_runtime_name_validates_in_a_fresh_interpreter() -> None:
    """REG-005: a name registered at run time is accepted by ModelConfig, and no longer once
    unregistered, with spec imported before impl."""
    code = (
        "import spec\n"
        "from pydantic import ValidationError\n"
        "def accepted(name):\n"
        "    try:\n"
        "        spec.ModelConfig(architecture=name)\n"
        "    except ValidationError:\n"
        "        return False\n"
        "    return True\n"
        "assert not accepted('fresh')\n"
        "import impl, torch\n"
        "@impl.register('fresh')\n"
        "class Fresh(torch.nn.Module): pass\n"
        "assert accepted('fresh') and 'fresh' in impl.available()\n"
        "impl.registry.unregister('fresh')\n"
        "assert not accepted('fresh')\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


class Minimal(torch.nn.Module):
    """A generator taking only the canonical six arguments."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        n_blocks: int,
        modes: int,
        C: int,
    ) -> None:
        super().__init__()
        self.args = (in_channels, out_channels, hidden_channels, n_blocks, modes, C)


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points the registry sees instead of installed metadata (append to the list);
    a module `fake_plugin_<n>` written under tmp_path holds a good generator class."""
    declared: list[EntryPoint] = []
    module = f"fake_plugin_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            import torch

            class PluginGenerator(torch.nn.Module):
                def __init__(self, in_channels, out_channels, hidden_channels, n_blocks, modes,
                             C, **extra):
                    super().__init__()
                    self.extra = extra

            not_a_class = 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(spec.architectures, "_read_entry_points", lambda: tuple(declared))
    registry.refresh_plugins()
    declared.append(EntryPoint("good", f"{module}:PluginGenerator", GROUP))
    yield declared
    registry.refresh_plugins()
    sys.modules.pop(module, None)


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered at run time during a test; unregistered afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        if name in registry._registered:
            unregister(name)


def test_stable_hybrid_resolves() -> None:
    """REG-001/002 (plan: test_stable_hybrid_resolves)."""
    assert resolve_generator("hybrid") is HybridUNOGenerator
    assert resolve_generator("stable_hybrid") is StableHybridGenerator
    assert resolve_generator(spec.ModelConfig(architecture="stable_hybrid")) is (
        StableHybridGenerator
    )
    gen = resolve_generator("stable_hybrid")(1, 2, 2, 2, 2, 1)
    blocks = [m for m in gen.modules() if isinstance(m, PtychoBlock)]
    assert len(blocks) == 3 and all(isinstance(b, StablePtychoBlock) for b in blocks)
    assert set(spec.BUILTIN_ARCHITECTURES) <= set(available())
    assert impl.available is available and impl.registry is registry


def test_unknown_name_lists_names_and_closest_match() -> None:
    """REG-003 and REG-009: LookupError naming every available name and the closest one."""
    with pytest.raises(UnknownGeneratorError) as info:
        resolve_generator("stable_hybird")
    message = str(info.value)
    assert isinstance(info.value, LookupError)
    assert "'stable_hybird'" in message and "did you mean 'stable_hybrid'?" in message
    assert "['hybrid', 'stable_hybrid']" in message


@given(name=st.text(min_size=1, max_size=12).filter(lambda s: s not in available()))
def test_any_unknown_name_is_rejected(name: str) -> None:
    """REG-003 and REG-009 over generated names."""
    with pytest.raises(LookupError, match="available are") as info:
        resolve_generator(name)
    assert all(repr(n) in str(info.value) for n in available())


def test_resolve_rejects_non_names() -> None:
    with pytest.raises(TypeError, match=r"expected an architecture name \(str\)"):
        resolve_generator(3)  # type: ignore[arg-type]


def test_register_resolve_and_config(registered: list[str]) -> None:
    """REG-005: a run-time name is accepted by ModelConfig; gone again once unregistered."""
    register("minimal")(Minimal)
    registered.append("minimal")
    assert resolve_generator("minimal") is Minimal
    assert "minimal" in available()
    assert spec.known_architectures() == frozenset(available())
    cfg = spec.ModelConfig(architecture="minimal", fno_width=3, fno_blocks=2, fno_modes=5)
    model = build_generator(cfg)
    assert isinstance(model, Minimal) and model.args == (1, 2, 3, 2, 5, 4)
    with pytest.raises(ValueError, match=r"max_hidden_channels=8: architecture 'minimal'"):
        build_generator(cfg.model_copy(update={"max_hidden_channels": 8}))
    unregister("minimal")
    with pytest.raises(ValidationError, match="unknown architecture 'minimal'"):
        spec.ModelConfig(architecture="minimal")


@pytest.mark.parametrize("taken", [*spec.BUILTIN_ARCHITECTURES, "again"])
def test_taken_name_rejected(taken: str, registered: list[str]) -> None:
    """REG-004: ValueError naming the name; the existing entry stays."""
    register("again")(Minimal)
    registered.append("again")
    before = resolve_generator(taken)

    class Other(torch.nn.Module):
        pass

    with pytest.raises(ValueError, match=rf"generator name '{taken}' is already taken"):
        register(taken)(Other)
    assert resolve_generator(taken) is before


def test_bad_registrations() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        register("")
    with pytest.raises(ValueError, match="non-empty string"):
        register(" padded ")
    with pytest.raises(TypeError, match=r"torch.nn.Module subclass"):
        register("fn")(lambda: None)  # type: ignore[arg-type,type-var]
    with pytest.raises(ValueError, match="not registered at run time"):
        unregister("hybrid")
    with pytest.raises(UnknownGeneratorError):
        unregister("never_registered")


def test_plugin_discovered_lazily(plugins: list[EntryPoint]) -> None:
    """REG-005/007: a plugin name is listed and accepted by ModelConfig before its module is
    imported; resolving imports it."""
    module = plugins[0].value.split(":")[0]
    assert "good" in available()
    assert spec.ModelConfig(architecture="good").architecture == "good"
    assert spec.known_architectures() == frozenset(available())
    assert module not in sys.modules
    cls = resolve_generator("good")
    assert module in sys.modules and cls.__name__ == "PluginGenerator"
    model = build_generator(spec.ModelConfig(architecture="good", N=32, stable_init="layerscale"))
    assert model.extra == {  # **kwargs: every optional argument is passed on (REG-008)
        "max_hidden_channels": None,
        "input_size": (32, 32),
        "init": "layerscale",
        "layerscale_init": 1e-3,
    }


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("no_such_module_xyz:Gen", r"failed to import: ModuleNotFoundError"),
        ("{module}:Missing", r"failed to import: AttributeError"),
        ("{module}:not_a_class", r"points to 42, which is not a torch.nn.Module subclass"),
    ],
)
def test_broken_plugin_isolated(plugins: list[EntryPoint], value: str, pattern: str) -> None:
    """REG-006: the error names the plugin and its entry point; other names still work."""
    module = plugins[0].value.split(":")[0]
    broken = value.format(module=module)
    plugins.append(EntryPoint("broken", broken, GROUP))
    assert "broken" in available()
    with pytest.raises(GeneratorPluginError, match=pattern) as info:
        resolve_generator("broken")
    assert f"entry point 'broken' = '{broken}'" in str(info.value)
    assert GROUP in str(info.value)
    assert resolve_generator("hybrid") is HybridUNOGenerator
    assert resolve_generator("good").__name__ == "PluginGenerator"
    assert spec.ModelConfig(architecture="stable_hybrid").architecture == "stable_hybrid"


def test_plugin_cannot_shadow_a_builtin(plugins: list[EntryPoint], registered: list[str]) -> None:
    """A plugin declaring a taken name is ignored with a warning naming it."""
    plugins.append(EntryPoint("hybrid", "somewhere:Else", GROUP))
    with pytest.warns(RuntimeWarning, match=r"entry point 'hybrid' = 'somewhere:Else'"):
        assert available() == sorted(["good", *spec.BUILTIN_ARCHITECTURES])
    assert resolve_generator("hybrid") is HybridUNOGenerator
    with pytest.raises(ValueError, match="declared by plugin entry point 'good'"):
        register("good")(Minimal)


def test_build_generator_maps_every_field() -> None:
    """REG-008: fno_width, fno_blocks, fno_modes, gridsize², N, cap and init are carried."""
    cfg = spec.ModelConfig(
        architecture="stable_hybrid",
        N=16,
        gridsize=3,
        fno_width=2,
        fno_blocks=3,
        fno_modes=5,
        max_hidden_channels=4,
        stable_init="layerscale",
        layerscale_init=0.25,
    )
    gen = build_generator(cfg)
    assert isinstance(gen, StableHybridGenerator)
    assert [b.conv.in_channels for b in gen.encoder] == [2, 4, 4]
    assert gen.n_blocks == 3 and gen.C == 9 and gen.input_size == (16, 16)
    assert gen.lift[0].in_channels == 9 and gen.project.out_channels == 18
    assert gen.encoder[0].spectral.modes == 5 and gen.bottleneck.spectral.modes == 2
    assert gen.encoder[0].spectral.weight_pos.shape == (2, 2, 5, 5)  # 16x16 holds 5 modes
    assert gen.encoder[2].spectral.weight_pos.shape == (4, 4, 2, 3)  # 4x4 holds 2 rows, 3 cols
    gates = {float(v) for b in [*gen.encoder, gen.bottleneck] for v in b.gate.detach().tolist()}
    assert gates == {0.25}
    unsized = build_generator(cfg, input_size=None)
    assert unsized.input_size is None
    assert unsized.encoder[2].spectral.weight_pos.shape == (4, 4, 5, 5)
