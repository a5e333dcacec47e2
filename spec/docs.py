"""Render the human-readable specification, ``docs/reference/clauses.md``, from the clauses.

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
non-conforming; a **SHOULD** clause is advisory. Each clause also has a **tier**:
**plan** — what the implementation plan and the papers it builds on (Brock et al.
2021 for AGC, the FNO paper for the spectral convolution) ask of any implementation;
**strict** — this project's hardening (argument validation, exception classes,
strict typing, degenerate sizes, accuracy beyond a straightforward implementation).
The default conformance verdict counts the plan tier's MUST clauses; `--strict`
counts every clause. The *why* column says why a clause is in its tier. Every
clause id can be found, by searching for it, where it is specified
(`spec/clauses/`), implemented (`impl/`) and checked (`conformance/`, `tests/`).
"""


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_spec() -> str:
    """The full text of ``docs/reference/clauses.md``."""
    parts = [_HEADER.format(version=SPEC_VERSION)]
    for family, title in FAMILIES.items():
        members = [c for c in CLAUSES if c.family == family]
        if not members:
            continue
        parts.append(f"\n## {family} — {title}\n")
        parts.append(
            "| id | level | tier | rule | why this tier | source |\n|---|---|---|---|---|---|"
        )
        for c in members:
            rule = f"**{_escape(c.title)}.** {_escape(c.text)}"
            if c.reference:
                rule += f" Reference: `{c.reference}`."
            why = _escape(c.why) or "—"
            parts.append(
                f"| {c.id} | {c.level} | {c.tier} | {rule} | {why} | {_escape(c.source)} |"
            )
    must = sum(c.level == "MUST" for c in CLAUSES)
    plan = sum(c.level == "MUST" and c.tier == "plan" for c in CLAUSES)
    parts.append(
        f"\n{len(CLAUSES)} clauses: {must} MUST ({plan} of them in the plan tier), "
        f"{len(CLAUSES) - must} SHOULD.\n"
    )
    return "\n".join(parts)
