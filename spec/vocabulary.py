"""Every enumerated name of the contract, spelled once: each a ``Literal`` and its tuple.

>>> from spec.vocabulary import CLIP_ALGORITHMS, GRADIENT_DTYPES, HALF_DTYPES
>>> CLIP_ALGORITHMS
('norm', 'value', 'agc')
>>> set(HALF_DTYPES) < set(GRADIENT_DTYPES)
True

Each ``Literal`` is the type the contract models (:mod:`spec.config`) annotate their
fields with; the tuple beside it is ``typing.get_args`` of it, in the same order, for
code that needs the values (argparse choices, strategies, error messages, membership
checks). Everything else — :mod:`impl`, :mod:`conformance`, the tests — derives its
lists from here instead of writing the names again, so a name added or renamed here
reaches every layer (and a table keyed by these names is checked against them).

Architecture names are open-ended (plugins and run-time registrations add to them);
only the built-in ones are here. :mod:`spec.architectures` has the whole set.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BUILTIN_ARCHITECTURES",
    "CLIP_ALGORITHMS",
    "COMPLEX_DTYPES",
    "FULL_DTYPES",
    "GRADIENT_DTYPES",
    "HALF_DTYPES",
    "LOSS_FUNCTIONS",
    "OBJECT_KINDS",
    "OPTIMIZER_NAMES",
    "PROBE_KINDS",
    "STABLE_INITS",
    "BuiltinArchitecture",
    "ClipAlgorithm",
    "ComplexDtype",
    "FullDtype",
    "GradientDtype",
    "HalfDtype",
    "LossFunction",
    "ObjectKind",
    "OptimizerName",
    "ProbeKind",
    "StableInit",
]

# --- training -----------------------------------------------------------------------------

ClipAlgorithm = Literal["norm", "value", "agc"]
"""The gradient clipping algorithms the contract allows (clause CFG-001)."""
CLIP_ALGORITHMS: tuple[ClipAlgorithm, ...] = get_args(ClipAlgorithm)
"""The values of :data:`ClipAlgorithm`, in order."""

OptimizerName = Literal["adam", "adamw", "sgd"]
"""The optimisers a training config names."""
OPTIMIZER_NAMES: tuple[OptimizerName, ...] = get_args(OptimizerName)
"""The values of :data:`OptimizerName`, in order."""

LossFunction = Literal["poisson", "mae"]
"""Training losses: Poisson NLL of the predicted diffraction, or amplitude MAE."""
LOSS_FUNCTIONS: tuple[LossFunction, ...] = get_args(LossFunction)
"""The values of :data:`LossFunction`, in order."""

# --- model --------------------------------------------------------------------------------

BuiltinArchitecture = Literal["hybrid", "stable_hybrid"]
"""Generator names every conforming registry resolves (REG-001, REG-002)."""
BUILTIN_ARCHITECTURES: tuple[str, ...] = get_args(BuiltinArchitecture)
"""The values of :data:`BuiltinArchitecture`, in order (typed ``str``: the architecture field
is open-ended, plugins and run-time names included)."""

StableInit = Literal["zero_gamma", "layerscale"]
"""Init of StablePtychoBlock: exactly the identity (the plan, BLK-007) or near it (BLK-009)."""
STABLE_INITS: tuple[StableInit, ...] = get_args(StableInit)
"""The values of :data:`StableInit`, in order."""

# --- gradient dtypes (AGC-015: the default domain of an AGC implementation) ----------------

FullDtype = Literal["float32", "float64"]
"""Single and double precision real dtypes."""
HalfDtype = Literal["float16", "bfloat16"]
"""Half-precision dtypes: their norms and factors are computed in float32 or wider (AGC-032)."""
ComplexDtype = Literal["complex64", "complex128"]
"""Complex dtypes (the FNO's spectral weights)."""
GradientDtype = Literal[FullDtype, HalfDtype, ComplexDtype]
"""Every gradient dtype an AGC implementation takes by default (AGC-015), as torch names it."""

FULL_DTYPES: tuple[FullDtype, ...] = get_args(FullDtype)
HALF_DTYPES: tuple[HalfDtype, ...] = get_args(HalfDtype)
COMPLEX_DTYPES: tuple[ComplexDtype, ...] = get_args(ComplexDtype)
GRADIENT_DTYPES: tuple[GradientDtype, ...] = get_args(GradientDtype)
"""The values of :data:`GradientDtype`: full precision, then half, then complex."""

# --- the study's synthetic task -----------------------------------------------------------

ObjectKind = Literal["lines", "upstream_lines"]
"""Object families of the study: random line segments blurred at sigma 1, 5, 10 px, weighted
(1, 0.5, 0.5) ('lines') or as upstream (1, 2, 5) ('upstream_lines')."""
OBJECT_KINDS: tuple[ObjectKind, ...] = get_args(ObjectKind)
"""The values of :data:`ObjectKind`, in order."""

ProbeKind = Literal["diffuser", "gaussian"]
"""Built-in probes: a Gaussian amplitude with a random smooth phase screen ('diffuser', well-posed)
or with a weak quadratic phase ('gaussian', centro-symmetric: the twin image fits the data)."""
PROBE_KINDS: tuple[ProbeKind, ...] = get_args(ProbeKind)
"""The values of :data:`ProbeKind`, in order."""
