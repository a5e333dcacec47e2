"""Normative clauses: every rule of the plan as data.

>>> from spec.clauses import CLAUSES, clause
>>> clause("CFG-001").level
'MUST'

Each family keeps its clauses in the module named by its stem (``config.py``,
``agc.py``, ``training.py``, ``blocks.py``, ``registry.py``, ``study.py``) as a
tuple named ``CLAUSES``; this package finds them all. A clause id is
``FAMILY-NNN``; ids are never reused.

The stem is the family's one name through every layer: ``spec/clauses/<stem>.py``,
``impl/<stem>.py`` (where the family has code), ``conformance/properties/<stem>/``
(for the families the harness checks) and a ``tests/.../<stem>/`` folder:

>>> from spec.clauses import FAMILY_STEMS
>>> FAMILY_STEMS["TRN"], FAMILY_STEMS["BLK"]
('training', 'blocks')
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CLAUSES",
    "CONFORMANCE_FAMILIES",
    "FAMILIES",
    "FAMILY_STEMS",
    "TIERS",
    "Clause",
    "Level",
    "Tier",
    "clause",
    "clauses_of",
]

Level = Literal["MUST", "SHOULD"]
Tier = Literal["plan", "strict"]
TIERS: dict[str, str] = {
    "plan": "what the plan and the papers it builds on ask of any implementation",
    "strict": "this project's hardening, counted only with --strict",
}
"""The two tiers of a clause; the default verdict counts the plan tier's MUST clauses."""

FAMILIES: dict[str, str] = {
    "CFG": "Configuration contract",
    "AGC": "Adaptive gradient clipping and the clipping dispatch",
    "TRN": "Training step",
    "BLK": "Spectral convolution, blocks and generators",
    "REG": "Generator registry",
    "RUN": "Study runner and compare wrapper",
}
"""Clause families, in the order the specification lists them."""

FAMILY_STEMS: dict[str, str] = {
    "CFG": "config",
    "AGC": "agc",
    "TRN": "training",
    "BLK": "blocks",
    "REG": "registry",
    "RUN": "study",
}
"""Each family's stem: its module, package and test folder name in every layer."""

CONFORMANCE_FAMILIES: tuple[str, ...] = ("CFG", "AGC", "TRN", "BLK", "REG")
"""The families the conformance harness checks with properties (RUN, the study, is checked
by this project's own tests only: it is an application, not a contract for others)."""

_ID = re.compile(r"^(?P<family>[A-Z]{3})-(?P<number>\d{3})$")


class Clause(BaseModel):
    """One normative rule."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    id: str = Field(pattern=_ID.pattern)
    """Stable identifier, FAMILY-NNN."""
    level: Level
    """RFC 2119 strength: a MUST failing fails conformance; a SHOULD is advisory."""
    tier: Tier = "plan"
    """``plan``: what the plan and the papers it builds on (Brock et al. 2021 for AGC, the FNO
    paper for the spectral convolution) ask of any implementation — counted by default;
    ``strict``: this project's hardening (argument validation, exception classes, strict
    typing, degenerate sizes, accuracy beyond a straightforward implementation) — reported
    beside it and counted only with ``--strict``."""
    why: str = ""
    """One sentence: why the clause is in its tier (required for the conformance families)."""
    title: str
    """A few words naming the rule."""
    text: str
    """The rule in one sentence."""
    source: str
    """Where the rule comes from (plan task, field note, issue)."""
    reference: str | None = None
    """Dotted path of the executable float64 reference, for numeric rules."""

    @field_validator("id")
    @classmethod
    def _known_family(cls, value: str) -> str:
        match = _ID.match(value)
        if match is None or match["family"] not in FAMILIES:
            raise ValueError(f"clause id {value!r}: the family must be one of {sorted(FAMILIES)}")
        return value

    @model_validator(mode="after")
    def _why_given(self) -> Clause:
        if self.family in CONFORMANCE_FAMILIES and not self.why.strip():
            raise ValueError(f"clause {self.id}: say in 'why' why it is in the {self.tier} tier")
        return self

    @property
    def family(self) -> str:
        return self.id.split("-", 1)[0]


def _collect() -> tuple[Clause, ...]:
    found: list[Clause] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(module, "CLAUSES", ()))
    seen: dict[str, Clause] = {}
    for item in found:
        if item.id in seen:
            raise RuntimeError(f"clause id {item.id} is defined twice")
        seen[item.id] = item
    order = list(FAMILIES)
    stray = sorted({c.family for c in found} - set(FAMILY_STEMS))
    if stray or set(FAMILY_STEMS) != set(FAMILIES):
        raise RuntimeError(f"families without a stem: {stray or sorted(FAMILIES)}")
    return tuple(sorted(found, key=lambda c: (order.index(c.family), c.id)))


CLAUSES: tuple[Clause, ...] = _collect()
"""Every clause of the specification, by family then number."""

_BY_ID = {c.id: c for c in CLAUSES}


def clause(clause_id: str) -> Clause:
    """The clause with this id; KeyError naming the known ids otherwise."""
    try:
        return _BY_ID[clause_id]
    except KeyError:
        raise KeyError(f"no clause {clause_id!r}; known ids: {', '.join(_BY_ID)}") from None


def clauses_of(family: str) -> tuple[Clause, ...]:
    """The clauses of one family, e.g. ``clauses_of('AGC')``."""
    if family not in FAMILIES:
        raise KeyError(f"no clause family {family!r}; known: {sorted(FAMILIES)}")
    return tuple(c for c in CLAUSES if c.family == family)
