"""Near misses of the contract's enumerated names: the unknown names an implementation is most
likely to accept by mistake, derived from each value set and drawn beside random names.

>>> from conformance.strategies.near_miss import near_misses
>>> from spec.vocabulary import CLIP_ALGORITHMS
>>> misses = near_misses(CLIP_ALGORITHMS)
>>> [m for m in ("AGC", " norm", "norm ", "none", "auto", "adaptive", "values") if m in misses]
['AGC', ' norm', 'norm ', 'none', 'auto', 'adaptive', 'values']
>>> set(misses) & set(CLIP_ALGORITHMS)
set()

A random unknown name (``'x0'``, ``'bogus'``) is refused by nearly every implementation,
including one whose ``Literal`` has a fourth member or whose validator maps ``'none'`` to
"no clipping": the names those accept are the ones a person writes by mistake. So for each
value set this module derives, from the set itself:

- case variants: ``'AGC'``, ``'Agc'``, ``'Stable_Hybrid'``;
- whitespace around the name: ``' norm'``, ``'norm '``, ``'norm\\n'``;
- prefixes and suffixes: a plural (``'values'``), the name cut short (``'nor'``, ``'stable'``),
  its first letter dropped, a separator added (``'agc_'``, ``'_agc'``);
- separator swaps: ``'stable-hybrid'``, ``'stablehybrid'``, ``'stable hybrid'``,
  ``'stableHybrid'``; digits split off (``'float_32'``);

and adds a short table of common synonyms per set (:data:`SYNONYMS`: for the clip algorithms
``'none'``, ``'off'``, ``'auto'``, ``'adaptive'``, ``'unitwise'``, ``'l2'``, ...). Names of
the set itself are never near misses (``'adam'`` is not one of ``'adamw'``, being allowed).

:func:`near_misses` lists them simplest first (shortest, then in the order above), the order
:func:`near_miss_names` shrinks towards; :func:`names_beside` draws them beside another
strategy of unknown names. Everything here is deterministic: the same set gives the same list.
"""

from __future__ import annotations

import enum
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from spec import vocabulary

__all__ = [
    "SYNONYMS",
    "annotated_values",
    "derived",
    "names_beside",
    "near_miss_names",
    "near_misses",
    "synonyms_of",
]

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "CLIP_ALGORITHMS": (
        "none", "off", "auto", "adaptive", "unitwise", "unit_wise", "l2", "clip", "disabled",
        "null", "None", "", "global_norm", "grad_norm", "max_norm", "norm2", "clip_norm",
        "clip_value", "adaptive_grad_clip", "agc_clip",
    ),
    "OPTIMIZER_NAMES": (
        "adam_w", "SGD", "Adam", "AdamW", "momentum", "sgd_momentum", "nesterov", "rmsprop",
        "lamb", "adamax", "nadam", "lion", "",
    ),
    "LOSS_FUNCTIONS": (
        "nll", "poisson_nll", "poissonnll", "l1", "l2", "mse", "amplitude", "mae_loss",
        "PoissonNLLLoss", "L1Loss", "",
    ),
    "BUILTIN_ARCHITECTURES": (
        "default", "stable", "base", "plain", "hybrid_stable", "stablehybrid", "none", "",
    ),
    "STABLE_INITS": (
        "zero", "zeros", "identity", "layer_scale", "ls", "default", "none", "ones", "rezero",
        "skipinit", "",
    ),
    "GRADIENT_DTYPES": (
        "float", "half", "double", "fp16", "bf16", "fp32", "fp64", "cfloat", "cdouble",
        "complex", "torch.float32", "float8_e4m3fn", "int8", "",
    ),
    "OBJECT_KINDS": ("line", "upstream", "random_lines", "siemens", ""),
    "PROBE_KINDS": ("gauss", "diffused", "random", "airy", ""),
}  # fmt: skip
"""Common synonyms and neighbours of each value set of :mod:`spec.vocabulary`, keyed by the
tuple's name there (the names a person reaches for instead of the contract's). A tuple of the
vocabulary without an entry here gets the derived near misses only."""


def synonyms_of(allowed: Sequence[str]) -> tuple[str, ...]:
    """The :data:`SYNONYMS` of the vocabulary tuple equal to ``allowed`` (as a set), else ().

    >>> synonyms_of(("agc", "value", "norm"))[:3]
    ('none', 'off', 'auto')
    """
    wanted = set(allowed)
    out: list[str] = []
    for name, values in vars(vocabulary).items():
        if name.isupper() and isinstance(values, tuple) and set(values) == wanted:
            out.extend(SYNONYMS.get(name, ()))
    for name, values in vars(vocabulary).items():  # a subset: the union's table applies too
        if name.isupper() and isinstance(values, tuple) and wanted < set(values):
            out.extend(SYNONYMS.get(name, ()))
    return tuple(dict.fromkeys(out))


def _camel(parts: list[str], first_upper: bool) -> str:
    head = parts[0].capitalize() if first_upper else parts[0]
    return head + "".join(p.capitalize() for p in parts[1:])


def derived(name: str) -> list[str]:
    """The near misses derived from one name, in the order of the module doc (unfiltered).

    >>> derived("agc")[:6]
    ['AGC', 'Agc', ' agc', 'agc ', 'agc\\n', '\\tagc']
    >>> [d for d in derived("stable_hybrid") if "-" in d or d in ("stable", "stableHybrid")]
    ['stable-hybrid', 'stableHybrid', 'stable']
    """
    out = [name.upper(), name.capitalize(), name.title(), name.swapcase()]
    out += [" " + name, name + " ", name + "\n", "\t" + name]
    out += [name[:-1] if name.endswith("s") else name + "s"]
    out += [name[:-1], name[1:], name + name[-1], name + "_", "_" + name] if name else []
    parts = [p for p in re.split(r"[_\-\s]+", name) if p]
    if len(parts) > 1:
        out += [
            "-".join(parts),
            "".join(parts),
            " ".join(parts),
            _camel(parts, False),
            _camel(parts, True),
        ]
        out += [*parts, "_".join(reversed(parts))]
    digits = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if digits:
        stem, number = digits.groups()
        out += [stem, f"{stem}_{number}", f"{stem}-{number}", f"{stem} {number}"]
    return list(dict.fromkeys(out))


def near_misses(allowed: Iterable[str], extra: Iterable[str] | None = None) -> tuple[str, ...]:
    """Every near miss of ``allowed``, simplest first (shortest, then derived before synonyms),
    none of them in ``allowed``. ``extra`` replaces the synonyms of :data:`SYNONYMS` (None:
    those of the vocabulary tuple equal to ``allowed``).

    >>> near_misses(["sgd"], extra=["SGD", "momentum"])[:4]
    ('sg', 'gd', 'SGD', 'Sgd')
    """
    allowed = tuple(allowed)
    known = set(allowed)
    pool = [d for name in allowed for d in derived(name)]
    pool += list(synonyms_of(allowed) if extra is None else extra)
    unique = [p for p in dict.fromkeys(pool) if p not in known]
    order = {p: i for i, p in enumerate(unique)}
    return tuple(sorted(unique, key=lambda p: (len(p), order[p])))


def near_miss_names(
    allowed: Iterable[str], extra: Iterable[str] | None = None
) -> st.SearchStrategy[str]:
    """One near miss of ``allowed`` (see :func:`near_misses`), shrinking to the simplest."""
    return st.sampled_from(near_misses(allowed, extra))


def names_beside(
    allowed: Iterable[str],
    others: st.SearchStrategy[Any],
    extra: Iterable[str] | None = None,
) -> st.SearchStrategy[Any]:
    """Near misses of ``allowed`` beside ``others`` (random unknown names, wrong types):
    ``st.one_of`` with the near misses first, so a failure shrinks towards the simplest one.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, database=None)
    ... @given(names_beside(["norm"], st.just(7)))
    ... def check(name):
    ...     assert name != "norm"
    >>> check()
    """
    return st.one_of(near_miss_names(allowed, extra), others)


def annotated_values(annotation: Any) -> dict[str, Any]:
    """What an annotation admits, as data: ``literal``, the values of its ``Literal`` and
    ``Enum`` members (also inside Optional / Union / Annotated), or None when it has none or
    also admits an open type (``Literal[...] | str``); ``none``, whether it admits None.

    >>> from typing import Literal, Optional
    >>> annotated_values(Optional[Literal["a", "b"]])
    {'literal': ['a', 'b'], 'none': True}
    >>> annotated_values(Literal["a"] | str)
    {'literal': None, 'none': False}
    """
    pending, values, admits_none, open_type = [annotation], [], False, False
    while pending:
        current = pending.pop(0)
        origin = typing.get_origin(current)
        if origin is typing.Literal:
            for value in typing.get_args(current):
                if value is None:
                    admits_none = True
                else:
                    values.append(value.value if isinstance(value, enum.Enum) else value)
        elif origin is typing.Annotated:
            pending.append(typing.get_args(current)[0])
        elif origin is typing.Union or type(current).__name__ == "UnionType":
            pending += list(typing.get_args(current))
        elif current is type(None):
            admits_none = True
        elif isinstance(current, type) and issubclass(current, enum.Enum):
            values += [member.value for member in current]
        else:
            open_type = True
    literal = None if open_type or not values else list(dict.fromkeys(values))
    return {"literal": literal, "none": admits_none}
