"""The mutation report: each mutant's outcome, the counts and the score; text and JSON writers.

>>> from conformance.mutate.outcomes import MutantOutcome, MutationReport
>>> r = MutationReport(role="agc", target="m.py:f", file="m.py", qualname="f",
...                    profile="quick", seed=0, families=["AGC"], generated=2, outcomes=[
...     MutantOutcome("constant:3:8:0", "constant", "1 -> 2", "-...", "killed",
...                   killed_by="AGC-001 agc.unit_rule", status="failed"),
...     MutantOutcome("statement:4:4:0", "statement", "removed", "-...", "survived")])
>>> r.score, r.counts()["killed"]
(0.5, 1)

Outcomes: ``killed`` (a counted property failed, errored or crashed on the mutant),
``timeout`` (a counted property ran out of time: the mutant hangs; counted as killed),
``survived`` (every property passed), ``incompetent`` (the mutant did not load: it raised
while its module was executed, or it does not parse; not counted), ``equivalent``
(declared in the equivalence file; not run, not counted).
**score = (killed + timeout) / (all − incompetent − equivalent)**, None when nothing counts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["OUTCOMES", "MutantOutcome", "MutationReport", "Outcome"]

Outcome = Literal["killed", "survived", "timeout", "incompetent", "equivalent"]
OUTCOMES: tuple[str, ...] = ("killed", "timeout", "survived", "incompetent", "equivalent")


@dataclass
class MutantOutcome:
    """What became of one mutant."""

    id: str
    operator: str
    description: str
    diff: str
    outcome: Outcome
    killed_by: str | None = None
    """``CLAUSE property`` of the first counted failure (None unless killed or timed out)."""
    status: str | None = None
    """That property's status (failed, error, crashed, timeout)."""
    message: str = ""
    """The first line of the failure's message, or why the mutant is incompetent / equivalent."""
    seconds: float = 0.0
    line: int = 0
    reached: bool = True
    """False: no property executes the changed lines (the coverage run): survived, not run."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MutationReport:
    """A whole mutation run (possibly interrupted: ``interrupted`` names the signal)."""

    role: str
    target: str
    file: str
    qualname: str
    profile: str
    seed: int
    families: list[str]
    """The clause families of the role's properties (what a survivor's line escapes)."""
    generated: int
    """Mutants generated (before ``--max-mutants`` sampling and ``--operator`` filtering)."""
    outcomes: list[MutantOutcome] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    planned: int = 0
    """Mutants this run set out to judge (after sampling)."""
    seconds: float = 0.0
    baseline_seconds: float = 0.0
    time_limit: float | None = None
    jobs: int = 1
    warnings: list[str] = field(default_factory=list)
    interrupted: str | None = None
    coverage: bool = False
    """Whether a line-coverage run of the original picked the mutants to run."""

    @property
    def unreached(self) -> int:
        """Survivors not run: no property executes their lines."""
        return sum(not o.reached for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        out = {name: 0 for name in OUTCOMES}
        for o in self.outcomes:
            out[o.outcome] += 1
        return out

    @property
    def score(self) -> float | None:
        """(killed + timeout) / (all − incompetent − equivalent); None when that is 0 / 0."""
        c = self.counts()
        counted = len(self.outcomes) - c["incompetent"] - c["equivalent"]
        return (c["killed"] + c["timeout"]) / counted if counted else None

    @property
    def per_minute(self) -> float:
        """Mutants judged per minute of the mutation phase (equivalent ones not run)."""
        run = sum(o.outcome != "equivalent" and o.reached for o in self.outcomes)
        return 60.0 * run / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_status(self) -> int:
        """0 done; 130 / 143 interrupted by SIGINT / SIGTERM."""
        if self.interrupted:
            return 143 if self.interrupted == "SIGTERM" else 130
        return 0

    def summary_line(self) -> str:
        c = self.counts()
        score = "n/a" if self.score is None else f"{100 * self.score:.1f} %"
        done = f"{len(self.outcomes)} of {self.planned}" if self.interrupted else f"{self.planned}"
        tail = f"; INTERRUPTED by {self.interrupted}" if self.interrupted else ""
        return (
            f"mutation score {score}: {c['killed']} killed, {c['timeout']} timed out, "
            f"{c['survived']} survived ({self.unreached} on lines no property reaches), "
            f"{c['incompetent']} incompetent, {c['equivalent']} equivalent ({done} mutants "
            f"in {self.seconds:.1f} s, {self.per_minute:.1f} run per minute){tail}"
        )

    def to_dict(self) -> dict[str, Any]:
        c = self.counts()
        return {
            "role": self.role,
            "target": self.target,
            "file": self.file,
            "qualname": self.qualname,
            "profile": self.profile,
            "seed": self.seed,
            "families": self.families,
            "operators": self.operators,
            "generated": self.generated,
            "planned": self.planned,
            "score": self.score,
            **c,
            "unreached": self.unreached,
            "coverage": self.coverage,
            "seconds": round(self.seconds, 3),
            "baseline_seconds": round(self.baseline_seconds, 3),
            "mutants_per_minute": round(self.per_minute, 2),
            "time_limit": self.time_limit,
            "jobs": self.jobs,
            "warnings": self.warnings,
            "interrupted": self.interrupted,
            "mutants": [o.to_dict() for o in self.outcomes],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        lines = [
            f"fno-stability mutation report: role {self.role}, profile {self.profile}, "
            f"seed {self.seed}",
            f"target: {self.target}  ({self.file}, {self.qualname} and the module-level "
            "helpers it uses)",
            f"mutants: {self.generated} generated, {self.planned} judged"
            + (f" (operators: {', '.join(self.operators)})" if self.operators else ""),
            f"time: baseline {self.baseline_seconds:.1f} s, mutants {self.seconds:.1f} s"
            + (f", {self.time_limit:g} s per property" if self.time_limit else "")
            + f", jobs {self.jobs}",
            "",
        ]
        survivors = [o for o in self.outcomes if o.outcome == "survived"]
        family = "/".join(self.families) or "?"
        if survivors:
            lines.append(f"SURVIVORS ({len(survivors)}; each escapes the {family} clauses)")
            for o in survivors:
                lines.append(f"  {o.id}  {o.description}")
                lines += ["    " + d for d in o.diff.rstrip("\n").splitlines()]
            lines.append("")
        lines.append(f"{'mutant':28} {'outcome':11} {'killed by / why':45} seconds")
        for o in self.outcomes:
            why = o.killed_by or o.message.splitlines()[0] if (o.killed_by or o.message) else ""
            lines.append(f"{o.id:28} {o.outcome:11} {why[:45]:45} {o.seconds:7.2f}")
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(self.summary_line())
        return "\n".join(lines)

    def render(self, fmt: str) -> str:
        """The report as ``text`` or ``json``; ValueError otherwise."""
        if fmt == "text":
            return self.to_text()
        if fmt == "json":
            return self.to_json()
        raise ValueError(f"unknown mutation report format {fmt!r}: allowed are text, json")
