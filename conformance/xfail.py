"""Known failures: an xfail file names clauses or properties an implementation knowingly breaks.

>>> from conformance.xfail import parse_xfail
>>> entries = parse_xfail('''
... # timm's AGC: one norm per tensor for rank <= 1 is fine, NaN handling differs
... AGC-022           NaN units spread (timm clamps the norm)
... agc.eps_guard     known: eps applied to the gradient norm too
... ''')
>>> [e.pattern for e in entries], entries[0].reason
(['AGC-022', 'agc.eps_guard'], 'NaN units spread (timm clamps the norm)')

One entry per line: a clause id (``AGC-022``), a property id
(``agc.eps_guard``) or a shell-style pattern of either (``BLK-0*``), then
whitespace and a free-text reason (required). A property id written before the ids took
their family's stem (``train.grads_cleared``) still matches (``training.grads_cleared``), and
the run warns that the file should be updated. ``#`` starts a comment; blank
lines are ignored. A listed property is still run: when it fails or errors it
is reported ``xfailed`` and does not fail the run; when it passes it is
reported ``xpassed`` (time to remove the entry). An entry that matches no
property of the run is reported as a warning.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RENAMED_PREFIXES",
    "XfailEntry",
    "XfailError",
    "current_id",
    "load_xfail",
    "match_xfail",
    "parse_xfail",
    "unused_entries",
]

RENAMED_PREFIXES: dict[str, str] = {
    "cfg": "config",
    "train": "training",
    "clip": "agc",
    "agc_sharded": "agc",
    "spectral": "blocks",
    "block": "blocks",
    "generator": "blocks",
    "registry_api": "registry",
}
"""Property id prefixes before the one-stem layout (0.1) -> the family stem they became.

A property id was ``<module>.<name>``; it is now ``<family stem>.<name>`` with the same
name (``clip.unknown_algorithm_rejected`` is ``agc.unknown_algorithm_rejected``)."""


def current_id(pattern: str) -> str:
    """``pattern`` with a pre-0.2 property id prefix replaced by its family stem.

    >>> current_id("train.grads_cleared"), current_id("AGC-003"), current_id("agc.unit_rule")
    ('training.grads_cleared', 'AGC-003', 'agc.unit_rule')
    """
    prefix, dot, rest = pattern.partition(".")
    if dot and prefix in RENAMED_PREFIXES:
        return f"{RENAMED_PREFIXES[prefix]}.{rest}"
    return pattern


class XfailError(ValueError):
    """A malformed xfail file: names the file, the line and what was expected."""


@dataclass(frozen=True)
class XfailEntry:
    pattern: str
    reason: str
    line: int = 0
    source: str = "<xfail>"
    written: str = ""
    """The pattern as the file wrote it, when it used a property id renamed since
    (:data:`RENAMED_PREFIXES`); empty otherwise."""

    def matches(self, clause: str, property_id: str) -> bool:
        return any(fnmatch.fnmatchcase(x, self.pattern) for x in (clause, property_id))


def parse_xfail(text: str, source: str = "<xfail>") -> list[XfailEntry]:
    """Entries of an xfail file's text; XfailError for a line without a reason."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            raise XfailError(
                f"{source}:{number}: {line!r} has no reason; each line must be "
                "'CLAUSE-ID-or-property-id  reason...'"
            )
        pattern = current_id(parts[0])
        written = parts[0] if pattern != parts[0] else ""
        entries.append(XfailEntry(pattern, parts[1].strip(), number, source, written))
    return entries


def load_xfail(path: str | Path) -> list[XfailEntry]:
    """Entries of the xfail file at ``path``; XfailError if it cannot be read or parsed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as error:
        raise XfailError(f"cannot read xfail file {str(p)!r}: {error.strerror or error}") from None
    return parse_xfail(text, str(p))


def match_xfail(entries: Iterable[XfailEntry], clause: str, property_id: str) -> XfailEntry | None:
    """The first entry naming this clause or property, if any."""
    return next((e for e in entries if e.matches(clause, property_id)), None)


def unused_entries(
    entries: Iterable[XfailEntry], checked: Iterable[tuple[str, str]]
) -> list[XfailEntry]:
    """Entries that match none of the (clause, property id) pairs checked."""
    pairs = list(checked)
    return [e for e in entries if not any(e.matches(c, p) for c, p in pairs)]
