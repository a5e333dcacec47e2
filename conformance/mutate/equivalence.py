"""The equivalence file: mutants reviewed as equivalent to the original, each with its reason.

>>> from conformance.mutate.equivalence import parse_equivalence
>>> entries = parse_equivalence('''
... # impl/agc.py, reviewed 2025-01-01
... constant:120:31:0   1e-3 -> 1e-2 in a message-only branch
... ''')
>>> [(e.id, e.reason) for e in entries]
[('constant:120:31:0', '1e-3 -> 1e-2 in a message-only branch')]

One entry per line, as in an xfail file (:mod:`conformance.xfail`): a mutant id
(``operator:line:column:index``, as the mutation report prints it), whitespace, then a
free-text reason (required). ``#`` starts a comment; blank lines are ignored. A declared
mutant is not run; it is reported ``equivalent`` and leaves the score's denominator. An
entry naming no mutant of the run is reported as a warning (the file changed since?).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.mutate.operators import OPERATORS

__all__ = [
    "EquivalenceEntry",
    "EquivalenceError",
    "load_equivalence",
    "parse_equivalence",
    "unused",
]

_ID = re.compile(r"^(?P<op>[a-z]+):(?P<line>\d+):(?P<col>\d+):(?P<index>\d+)$")


class EquivalenceError(ValueError):
    """A malformed equivalence file: names the file, the line and what was expected."""


@dataclass(frozen=True)
class EquivalenceEntry:
    id: str
    reason: str
    line: int = 0
    source: str = "<equivalent>"


def parse_equivalence(text: str, source: str = "<equivalent>") -> list[EquivalenceEntry]:
    """Entries of an equivalence file's text; EquivalenceError for a bad line."""
    entries: list[EquivalenceEntry] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        match = _ID.match(parts[0])
        if match is None:
            raise EquivalenceError(
                f"{source}:{number}: {parts[0]!r} is not a mutant id; expected "
                "'operator:line:column:index' (e.g. comparison:42:11:0) then a reason"
            )
        if match["op"] not in OPERATORS:
            raise EquivalenceError(
                f"{source}:{number}: unknown operator {match['op']!r} in {parts[0]!r}; "
                f"allowed are {', '.join(OPERATORS)}"
            )
        if len(parts) < 2:
            raise EquivalenceError(
                f"{source}:{number}: {parts[0]!r} has no reason; each line must be "
                "'mutant-id  why it is equivalent'"
            )
        if parts[0] in seen:
            raise EquivalenceError(
                f"{source}:{number}: {parts[0]!r} is already declared on line {seen[parts[0]]}"
            )
        seen[parts[0]] = number
        entries.append(EquivalenceEntry(parts[0], parts[1].strip(), number, source))
    return entries


def load_equivalence(path: str | Path) -> list[EquivalenceEntry]:
    """Entries of the equivalence file at ``path``; EquivalenceError if unreadable or bad."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as error:
        raise EquivalenceError(
            f"cannot read equivalence file {str(p)!r}: {error.strerror or error}"
        ) from None
    return parse_equivalence(text, str(p))


def unused(entries: Iterable[EquivalenceEntry], ids: Iterable[str]) -> list[EquivalenceEntry]:
    """Entries naming none of ``ids`` (the mutants generated)."""
    known = set(ids)
    return [e for e in entries if e.id not in known]
