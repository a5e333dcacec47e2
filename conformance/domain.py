"""What a target supports: the domain its properties draw from; outside it, not applicable.

>>> from conformance.domain import Domain
>>> d = Domain.declared({"dtypes": ["float32", "float64"], "clip_factor": [0, 1]})
>>> d.dtypes, d.allows_clip_factor(0.5), d.allows_clip_factor(2.0)
(('float32', 'float64'), True, False)
>>> d.narrow(Domain(max_rank=2)).max_rank
2

An implementation may support less than the whole contract (no complex gradients, no
rank-5 tensors, a clip factor below 1, grids of at least 4x4) without being wrong about
what it does support. It says so with an attribute on the target::

    def my_agc(parameters, clip_factor=0.01, eps=1e-3): ...
    my_agc.conformance_domain = {"dtypes": ["float32", "float64"], "max_rank": 4}

or the user narrows it on the command line (``--dtypes float32,float64 --max-rank 4
--clip-factor 0:1 --min-size 4``; both apply, intersected). A property whose inputs lie
wholly outside the domain is reported ``not_applicable``, never ``error``; properties
that can draw inside it draw only there. The core rule of each area is checked by
properties on plain float32 / float64 inputs, so a gap in dtype or rank support never
hides a rule bug.

Keys (all optional): ``dtypes`` (a subset of :data:`DTYPES`), ``max_rank`` (0..5),
``clip_factor`` (``[low, high]``: factors with low < clip_factor <= high),
``min_size`` (the smallest grid side H, W a spectral conv, block or generator takes),
``distributed`` (a request rather than a limit: the number of gloo ranks, 2 to 16, on
which the sharded properties of AGC-035 / AGC-036 lay the parameters out; 0, the
default, leaves them not applicable — ``--distributed N`` on the command line),
``extensions`` (the optional keyword arguments of :data:`EXTENSIONS` the target accepts,
beyond the plan's call; their properties are ``not_applicable`` for a target that does not
declare them: ``my_agc.conformance_domain = {"extensions": ["error_if_nonfinite"]}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["ATTRIBUTE", "DTYPES", "EXTENSIONS", "Domain", "DomainError", "NotApplicable"]

ATTRIBUTE = "conformance_domain"
"""The target attribute that declares its domain (a dict of the keys above)."""

DTYPES: tuple[str, ...] = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")
"""Every gradient dtype the contract covers (AGC-015), simplest first.

The one spelling written out of ``spec.vocabulary.GRADIENT_DTYPES`` (a test holds them
equal): the pytest plugin imports this module in the user's own pytest process, where a
folder of theirs named ``spec`` may come first on ``sys.path``, so it must not import ``spec``."""

EXTENSIONS: dict[str, str] = {
    "error_if_nonfinite": "AGC-023",
    "unit_dim": "AGC-024",
    "module": "AGC-024",
    "statistics": "AGC-038",
}
"""The optional keyword arguments of an ``agc`` target the harness checks when the target
declares them, each with its clause: ``error_if_nonfinite=True`` raises on a non-finite
gradient norm before modifying anything (AGC-023); ``unit_dim`` sets the unit axis, as an
int for every rank >= 2 tensor or a mapping ``{parameter: axis or None}`` (None: the
parameter is left alone) (AGC-024); ``module``: ``parameters`` may be an ``nn.Module``,
whose parameters are clipped along the axes its modules declare (a class attribute
``AGC_UNIT_DIMS = {parameter name: axis or None}``; axis 1 for the weight of an
``nn.ConvTranspose1d/2d/3d``; dim 0 for the rest), and a declaration naming no parameter of
its module, or an axis out of range, is refused with ``ValueError`` (AGC-024);
``statistics``: a ``clip`` target returns the gradients' norms before and after and the
number of units clipped (AGC-038)."""

_KEYS = ("dtypes", "max_rank", "clip_factor", "min_size", "distributed", "extensions")


class DomainError(ValueError):
    """A malformed domain declaration: names where it came from, the key, the value, what is
    allowed."""


@dataclass(frozen=True)
class NotApplicable:
    """A property's strategy outside the domain: why it cannot draw an example there."""

    reason: str


@dataclass(frozen=True)
class Domain:
    """The inputs a target supports (defaults: the whole contract)."""

    dtypes: tuple[str, ...] = DTYPES
    max_rank: int = 5
    clip_factor: tuple[float, float] = (0.0, math.inf)
    """``(low, high)``: clip factors with low < clip_factor <= high."""
    min_size: int = 1
    distributed: int = 0
    """Gloo ranks for the sharded properties (AGC-035, AGC-036); 0: not requested."""
    extensions: tuple[str, ...] = ()
    """Names of :data:`EXTENSIONS` the target accepts (a declaration: none by default)."""

    @classmethod
    def declared(cls, value: Any, where: str = "the domain") -> Domain:
        """The domain a declaration (a mapping of the module docstring's keys) describes."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise DomainError(f"{where} must be a dict with keys {list(_KEYS)}, not {value!r}")
        unknown = sorted(set(value) - set(_KEYS))
        if unknown:
            raise DomainError(f"{where}: unknown keys {unknown}; allowed are {list(_KEYS)}")
        out = cls()
        if "dtypes" in value:
            dtypes = value["dtypes"]
            if isinstance(dtypes, str) or not all(isinstance(d, str) for d in dtypes):
                raise DomainError(f"{where}: dtypes must be a list of names, not {dtypes!r}")
            bad = [d for d in dtypes if d not in DTYPES]
            if bad or not dtypes:
                raise DomainError(f"{where}: dtypes {list(dtypes)!r}: allowed are {list(DTYPES)}")
            out = replace(out, dtypes=tuple(d for d in DTYPES if d in dtypes))
        if "max_rank" in value:
            rank = value["max_rank"]
            if type(rank) is not int or not 0 <= rank <= 5:
                raise DomainError(f"{where}: max_rank {rank!r}: allowed is an int from 0 to 5")
            out = replace(out, max_rank=rank)
        if "clip_factor" in value:
            out = replace(out, clip_factor=_range(value["clip_factor"], where))
        if "min_size" in value:
            size = value["min_size"]
            if type(size) is not int or size < 1:
                raise DomainError(f"{where}: min_size {size!r}: allowed is an int >= 1")
            out = replace(out, min_size=size)
        if "distributed" in value:
            ranks = value["distributed"]
            if type(ranks) is not int or not (ranks == 0 or 2 <= ranks <= 16):
                raise DomainError(
                    f"{where}: distributed {ranks!r}: allowed is 0 (off) or an int from 2 to 16"
                )
            out = replace(out, distributed=ranks)
        if "extensions" in value:
            names = value["extensions"]
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise DomainError(f"{where}: extensions must be a list of names, not {names!r}")
            bad = [n for n in names if n not in EXTENSIONS]
            if bad:
                raise DomainError(f"{where}: extensions {bad!r}: allowed are {list(EXTENSIONS)}")
            out = replace(out, extensions=tuple(n for n in EXTENSIONS if n in names))
        return out

    def narrow(self, other: Domain) -> Domain:
        """The intersection of two domains."""
        low = max(self.clip_factor[0], other.clip_factor[0])
        high = min(self.clip_factor[1], other.clip_factor[1])
        return Domain(
            dtypes=tuple(d for d in self.dtypes if d in other.dtypes),
            max_rank=min(self.max_rank, other.max_rank),
            clip_factor=(low, high),
            min_size=max(self.min_size, other.min_size),
            distributed=max(self.distributed, other.distributed),  # a request: either asks
            extensions=tuple(
                n for n in EXTENSIONS if n in self.extensions or n in other.extensions
            ),  # a declaration: either says so
        )

    def only(self, dtypes: tuple[str, ...]) -> tuple[str, ...]:
        """The dtypes of ``dtypes`` inside the domain, in that order."""
        return tuple(d for d in dtypes if d in self.dtypes)

    def allows_clip_factor(self, value: float) -> bool:
        low, high = self.clip_factor
        return low < value <= high

    def describe(self) -> dict[str, Any]:
        """As data, for reports (``None`` where the whole contract is covered)."""
        if self == Domain():
            return {}
        whole = Domain()
        out: dict[str, Any] = {}
        for key in _KEYS:
            mine = getattr(self, key)
            if mine != getattr(whole, key):
                out[key] = list(mine) if isinstance(mine, tuple) else mine
        return out


def _range(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, str):
        parts = value.split(":")
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = []
    try:
        low, high = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise DomainError(
            f"{where}: clip_factor {value!r}: allowed is [low, high] (or 'low:high') with "
            "0 <= low < high"
        ) from None
    if not (0 <= low < high) or math.isnan(high):
        raise DomainError(f"{where}: clip_factor {value!r}: need 0 <= low < high")
    return low, high


def parse_dtypes(text: str) -> tuple[str, ...]:
    """``--dtypes float32,float64`` as a tuple; DomainError naming a bad name."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    Domain.declared({"dtypes": list(names)}, "--dtypes")
    return names
