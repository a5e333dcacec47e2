"""The role table: every role a conformance run can check, in one place that imports nothing heavy.

>>> from conformance.roles import ROLES, role
>>> ROLES[:3]
('agc', 'clip', 'train_step')
>>> r = role("train_step")
>>> r.flag, r.plugin_option, r.default
('--train-step', '--conformance-train-step', 'impl:training_step')

A *role* is one object under test: the AGC function, a block class, the TF-side
config class and so on. Each row of :data:`ROLE_TABLE` says how the command line
names it (:attr:`Role.flag`), how the pytest plugin names it
(:attr:`Role.plugin_option`), the canonical call its target must answer
(:attr:`Role.call`), the bundled implementation's target (:attr:`Role.default`)
and what the worker checks of the loaded object before any property runs
(:attr:`Role.shape`: a callable, or a bridge object with ``to_tf``/``to_torch``).
The CLI options, the plugin options, :class:`conformance.Targets`, ``conformance
roles`` and the README's role table are all derived from this table.

Kept apart from :mod:`conformance.properties` (which loads torch) so that the
pytest plugin can register one option per role without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ROLES", "ROLE_TABLE", "Role", "Shape", "markdown_table", "role"]

Shape = Literal["callable", "bridge"]


@dataclass(frozen=True)
class Role:
    """One role: its name, canonical call, the bundled target and the loaded object's shape."""

    name: str
    call: str
    """The canonical call the target must answer (adapt other conventions in a few lines)."""
    default: str
    """The bundled implementation's target, checked when no role is given."""
    shape: Shape = "callable"
    """``callable``: the target must be callable; ``bridge``: an object (usually a module)
    with callable ``to_tf`` and ``to_torch``."""

    @property
    def flag(self) -> str:
        """The ``conformance check`` option (``train_step`` -> ``--train-step``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def plugin_option(self) -> str:
        """The pytest plugin's option (``--conformance-train-step``)."""
        return "--conformance-" + self.name.replace("_", "-")


ROLE_TABLE: tuple[Role, ...] = (
    Role(
        "agc",
        "fn(parameters, clip_factor=..., eps=...) clips .grad in place",
        "impl:adaptive_gradient_clip_",
    ),
    Role(
        "clip",
        "fn(parameters, algorithm, value) clips .grad in place ('norm' | 'value' | 'agc')",
        "impl:clip_gradients_",
    ),
    Role(
        "train_step",
        "fn(model, optimizer, micro_batches, loss_fn, config, *, scaler=None)",
        "impl:training_step",
    ),
    Role(
        "block",
        "Block(channels, modes) -> module (B, C, H, W) -> (B, C, H, W)",
        "impl:StablePtychoBlock",
    ),
    Role(
        "generator",
        "Generator(in_channels, out_channels, hidden_channels, n_blocks, modes, C) -> module "
        "(B, C*in, H, W) -> (B, H, W, C, out)",
        "impl:HybridUNOGenerator",
    ),
    Role(
        "stable_generator",
        "as generator, with every block the stable block",
        "impl:StableHybridGenerator",
    ),
    Role(
        "registry",
        "resolve(name) -> generator class; LookupError for an unknown name",
        "impl:resolve_generator",
    ),
    Role(
        "tf_config",
        "TFConfig(**fields) -> object with the fields as attributes",
        "spec:TFTrainingConfig",
    ),
    Role(
        "torch_config",
        "TorchConfig(**fields) -> object with the fields as attributes",
        "spec:TorchTrainingConfig",
    ),
    Role(
        "bridge",
        "object or module with to_tf(torch_cfg) -> tf_cfg and to_torch(tf_cfg) -> torch_cfg",
        "spec",
        shape="bridge",
    ),
    Role(
        "spectral_conv",
        "SpectralConv(in_channels, out_channels, modes) -> module (B, in, H, W) -> (B, out, H, W)",
        "impl:SpectralConv2d",
    ),
    Role(
        "plain_block",
        "PtychoBlock(channels, modes) -> module y = x + GELU(S(x) + K(x))",
        "impl:PtychoBlock",
    ),
    Role(
        "register",
        "register(name)(cls) adds a generator class to the registry role's table",
        "impl:register",
    ),
    Role(
        "model_config",
        "ModelConfig(architecture=..., N=..., fno_width=..., ...) -> config object",
        "spec:ModelConfig",
    ),
    Role("build_generator", "build(model_config) -> generator module", "impl:build_generator"),
)
"""Every role, in the order reports list them."""

ROLES: tuple[str, ...] = tuple(r.name for r in ROLE_TABLE)
"""The role names, in table order."""

_BY_NAME = {r.name: r for r in ROLE_TABLE}


def role(name: str) -> Role:
    """The row of role ``name``; ValueError listing the roles otherwise.

    >>> role("agc").call.split("(")[0]
    'fn'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown role {name!r}: allowed are {', '.join(ROLES)}") from None


def markdown_table() -> str:
    """The role table as Markdown (the README's copy is checked against it).

    >>> markdown_table().splitlines()[0]
    '| role | option | canonical call | bundled target |'
    """
    lines = ["| role | option | canonical call | bundled target |", "|---|---|---|---|"]
    for r in ROLE_TABLE:
        call = r.call.replace("|", "\\|")
        lines.append(f"| `{r.name}` | `{r.flag}` | `{call}` | `{r.default}` |")
    return "\n".join(lines)
