"""Render the human-readable specification, ``docs/SPEC.md``, from the clauses.

>>> from spec.docs import render_spec
>>> render_spec().startswith("# fno-stability specification")
True

``python -m spec docs`` writes it; ``python -m spec docs --check`` exits 1 when stale.
"""

from __future__ import annotations

from spec.clauses import CLAUSES, FAMILIES
from spec.version import SPEC_VERSION

__all__ = ["render_spec"]

_HEADER = """\
# fno-stability specification

Specification version **{version}**. Generated from `spec/clauses/` by
`python -m spec docs`; do not edit by hand (a test fails when this file is stale).

Levels follow RFC 2119: a **MUST** clause that fails makes an implementation
non-conforming; a **SHOULD** clause is advisory. Every clause id can be found,
by searching for it, where it is specified (`spec/clauses/`), implemented
(`impl/`) and checked (`conformance/`, `tests/`).
"""


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_spec() -> str:
    """The full text of ``docs/SPEC.md``."""
    parts = [_HEADER.format(version=SPEC_VERSION)]
    for family, title in FAMILIES.items():
        members = [c for c in CLAUSES if c.family == family]
        if not members:
            continue
        parts.append(f"\n## {family} — {title}\n")
        parts.append("| id | level | rule | source |\n|---|---|---|---|")
        for c in members:
            rule = f"**{_escape(c.title)}.** {_escape(c.text)}"
            if c.reference:
                rule += f" Reference: `{c.reference}`."
            parts.append(f"| {c.id} | {c.level} | {rule} | {_escape(c.source)} |")
    must = sum(c.level == "MUST" for c in CLAUSES)
    parts.append(f"\n{len(CLAUSES)} clauses: {must} MUST, {len(CLAUSES) - must} SHOULD.\n")
    return "\n".join(parts)
