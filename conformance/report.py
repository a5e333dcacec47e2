"""The conformance report: one :class:`Result` per property, and the verdict they add up to.

>>> from conformance.report import Report, Result
>>> r = Report(spec_version="0.1.0", targets={"agc": "impl:adaptive_gradient_clip_"},
...            profile="quick", seed=0, results=[Result(
...                clause="AGC-003", level="MUST", title="rank <= 1 is one unit",
...                property="agc.rank_le1_is_one_unit", roles=("agc",), status="passed",
...                examples=10, seconds=0.25)])
>>> r.exit_status, r.summary()["passed"]
(0, 1)
>>> r.summary_line()
'summary: 1 passed in 0.25 s: conforms to the plan'

This module holds the data (:class:`Report`: what was checked, against which targets,
how, and the :class:`Result` of each property) and the verdict computed from it
(:meth:`Report.failing_clauses`, :meth:`Report.root_causes`, :meth:`Report.summary`,
:attr:`Report.exit_status`, :meth:`Report.summary_line`). Writing the report out is
the writers' job, one module per format under :mod:`conformance.writers` (text, JSON
with its layout, JUnit XML); :meth:`Report.render` and ``to_text`` / ``to_json`` /
``to_junit`` hand the report to them.

Statuses: ``passed``; ``failed`` (the clause is violated: a counterexample);
``error`` (the target raised where the clause asks it to work, or returned something
the check cannot use); ``crashed`` (the worker process running the target ended: an
exit, a signal such as a segfault, running out of memory, or garbage on the
channel); ``timeout`` (the target did not answer within the time limit and was
killed); ``not_applicable`` (outside the domain the target declares or the command
line narrows: dtypes, ranks, clip factors, sizes); ``skipped`` (a role the property
needs was not given); ``xfailed`` / ``xpassed`` (listed in the xfail file).
``failed``, ``error``, ``crashed`` and ``timeout`` are *bad*. By default a bad result
counts (fails the run) when its clause is a MUST of the plan tier; bad strict-tier
clauses are reported beside the verdict ("conforms to the plan; 3 strict clauses
fail") and SHOULD clauses are advisory; with ``strict`` every bad result counts.
A bad result whose counterexample also breaks a more basic clause has
``follows_from`` set to it; :meth:`Report.root_causes` are the failing clauses that
follow from no other. :meth:`Report.findings` says each fact once however many clauses it
touches: the target's errors with one exception type, message and line (:attr:`Result.raised`),
and a target given up on because it hangs (:attr:`Report.given_up`, its properties not run
reported ``timeout``); a finding is filed under its first failing clause.

Exit statuses (:attr:`Report.exit_status`): 0 a complete verdict, every counted clause
passes; 1 a counted clause is bad; 3 incomplete: a role that was asked for ran no
property (all skipped); 130 / 143 interrupted by SIGINT / SIGTERM (the results that
finished are kept, ``interrupted`` names the signal). 2 (usage error, unloadable
target) comes from the command line before any report exists.

Every string a report holds is made safe when the report is built (:func:`clean`):
control characters and lone surrogates are escaped, very long texts cut (the cut says
how much), NumPy scalars shown as plain numbers — a target cannot rewrite the terminal
or break a file written in any format.
"""

from __future__ import annotations

import builtins
import re
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["BAD", "STATUSES", "Finding", "PropertyError", "Report", "Result", "Status", "clean"]

Status = Literal[
    "passed",
    "failed",
    "error",
    "crashed",
    "timeout",
    "not_applicable",
    "skipped",
    "xfailed",
    "xpassed",
]
STATUSES: tuple[str, ...] = typing.get_args(Status)
"""Every status, in report order (from :data:`Status`)."""
BAD: tuple[str, ...] = ("failed", "error", "crashed", "timeout")
"""Statuses that count against conformance."""
_IDLE = ("skipped", "not_applicable")
MAX_TEXT = 6000
_EXIT_FOR_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
"""Numbers in an exception's message (shapes, sizes, values): left out when grouping."""
_OPTIONAL_RANK = 4
"""Tensors of this rank and above are checked by properties of their own (a domain a target may
leave out, ``max_rank``); below it they are the core of the contract."""
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NP_SCALAR = re.compile(r"\bnp\.(?:float|int|uint|complex|bool|longdouble)\w*\(([^()]*)\)")


def clean(text: Any, limit: int = MAX_TEXT) -> str:
    """``text`` safe to print and store: control characters (but newline and tab) and lone
    surrogates escaped, NumPy scalar reprs shown as numbers, cut after ``limit`` characters.

    >>> clean("a\\x1b[2Jb\\udc80 np.float64(1.5)")
    'a\\\\x1b[2Jb\\\\udc80 1.5'
    >>> clean("x" * 10, limit=4)
    'xxxx ... (6 more characters)'
    """
    text = str(text)
    text = _NP_SCALAR.sub(r"\1", text)
    text = _UNSAFE.sub(lambda m: repr(m.group())[1:-1] if m.group() != "\r" else "\\r", text)
    if len(text) > limit:
        text = text[:limit] + f" ... ({len(text) - limit} more characters)"
    return text


class PropertyError(RuntimeError):
    """A property errored: the target raised, crashed, hung, or returned something unusable."""


@dataclass
class Result:
    """The outcome of one property against the targets."""

    clause: str
    level: str
    """MUST or SHOULD (``?`` for a clause id the spec does not know)."""
    title: str
    property: str
    roles: tuple[str, ...]
    status: Status
    examples: int = 0
    seconds: float = 0.0
    message: str = ""
    example: str | None = None
    """``repr`` of the (shrunk) counterexample."""
    reproduction: str | None = None
    xfail_reason: str | None = None
    output: str | None = None
    """What the target printed while the property ran (tail), for bad results."""
    tier: str = "plan"
    """``plan`` (counted by default) or ``strict`` (counted with --strict): see spec.clauses."""
    why: str = ""
    """Why the clause is in its tier."""
    follows_from: str | None = None
    """For a bad result: the more basic clause its counterexample also breaks (its root cause)."""
    raised: dict[str, Any] | None = None
    """For an ``error`` the target raised: ``type`` (qualified), ``message``, ``line`` (the
    target's ``FILE:LINE in FUNCTION`` it came from), and of the counterexample's tensors
    ``ranks``, ``dtypes`` and ``size`` (elements in all; None without tensors). Errors with the
    same type, message (numbers aside) and line are one :class:`Finding`."""

    def __post_init__(self) -> None:
        self.message = clean(self.message)
        if self.raised is not None:
            self.raised = {
                k: clean(v, 1000) if isinstance(v, str) else v for k, v in self.raised.items()
            }
        self.title = clean(self.title, 200)
        for name in ("example", "reproduction", "output", "xfail_reason"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, clean(value, 4 * MAX_TEXT if name != "output" else 2000))

    @builtins.property
    def bad(self) -> bool:
        """Failed, errored, crashed or timed out."""
        return self.status in BAD

    def counts(self, strict: bool) -> bool:
        """Whether this result, if bad, fails the run: a plan-tier MUST, or anything if strict."""
        return self.bad and (strict or (self.level == "MUST" and self.tier == "plan"))

    def raise_for_status(self) -> None:
        """Raise if the property failed (AssertionError) or was otherwise bad
        (:class:`PropertyError`), with the message and the counterexample.

        >>> Result("CFG-002", "MUST", "", "cfg.p", ("tf_config",), "passed").raise_for_status()
        """
        if not self.bad:
            return
        text = f"{self.clause} {self.property} {self.status}: {self.message}"
        if self.example is not None:
            text += f"\ncounterexample: {self.example}"
        if self.status == "failed":
            raise AssertionError(text)
        raise PropertyError(text)

    def to_dict(self) -> dict[str, Any]:
        """Every field, ``roles`` as a list and ``seconds`` rounded (the JSON report's entry)."""
        out = asdict(self)
        out["roles"] = list(self.roles)
        out["seconds"] = round(self.seconds, 4)
        return out


@dataclass
class Finding:
    """One fact behind bad results of several clauses, said once: an exception of one type and
    message raised from one line of the target (``kind="exception"``), or a target the run gave
    up on after timeouts in a row (``kind="hang"``, :attr:`Report.given_up`).

    >>> f = Finding("exception", ("agc",), "AGC-002", ["AGC-002", "AGC-004"], ["a", "b"], True,
    ...             ["AGC-002", "AGC-004"], exception="RuntimeError", line="/src/agc.py:22 in norm")
    >>> f.label()
    'RuntimeError raised at agc.py:22 in norm, 2 failing clauses'
    """

    kind: Literal["exception", "hang"]
    roles: tuple[str, ...]
    head: str
    """The clause the report files it under (its first counted clause): the root cause."""
    clauses: list[str]
    """Every clause it touches, in report order."""
    properties: list[str]
    counted: bool
    """Whether a result it explains fails the run."""
    failing: list[str] = field(default_factory=list)
    """The clauses of :attr:`clauses` whose results it explains fail the run (counted)."""
    exception: str | None = None
    """The exception's bare class name (qualified: :attr:`type`)."""
    type: str | None = None
    message: str = ""
    """The exception's message on the smallest input, or what the hang was."""
    line: str | None = None
    """``FILE:LINE in FUNCTION``: the line of the target it was raised from."""
    example: str | None = None
    """The smallest input that triggers it (fewest tensor elements, then shortest repr)."""
    example_property: str | None = None
    """The property whose counterexample :attr:`example` is."""
    domain: dict[str, Any] | None = None
    """A domain declaration that would leave those inputs out, when every one that triggered it
    lies in a domain a target may not support (rank >= 4, a dtype other than float32/64)."""
    hint: str = ""
    """What :attr:`domain` means and how to declare it (on the target or the command line)."""
    not_run: list[str] = field(default_factory=list)
    """For a hang: the properties not run."""

    def __post_init__(self) -> None:
        # what the target raised is its text: escaped here too (a Result's fields may be set
        # after it was made, and a finding is printed on its own)
        self.message = clean(self.message)
        for name in ("exception", "type", "line", "example"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, clean(value, 4 * MAX_TEXT if name == "example" else 1000))

    def label(self) -> str:
        """A short name: the exception and its line, or the hang."""
        n = len(self.failing or self.clauses)
        many = f"{n} {'failing ' if self.failing else ''}clause{'s' if n != 1 else ''}"
        if self.kind == "hang":
            return f"the {'+'.join(self.roles)} target hangs, {len(self.not_run)} not run"
        where = (self.line or "").rsplit("/", 1)[-1]
        return f"{self.exception} raised at {where}, {many}"

    def to_dict(self) -> dict[str, Any]:
        """Every field, ``roles`` as a list (an entry of the JSON summary's ``findings``)."""
        out = asdict(self)
        out["roles"] = list(self.roles)
        return out


def _tensor_domain(results: list[Result]) -> dict[str, Any] | None:
    """A declaration leaving out the rank or dtypes every one of ``results``' inputs holds."""
    from conformance.domain import DTYPES
    from spec.vocabulary import FULL_DTYPES  # here: a CLI run has made spec ours by now

    shown = [r.raised for r in results if r.raised is not None]
    if not shown or any(not info.get("ranks") for info in shown):
        return None
    domain: dict[str, Any] = {}
    top = min(max(info["ranks"]) for info in shown)
    if top >= _OPTIONAL_RANK:
        domain["max_rank"] = top - 1
    odd = [set(info.get("dtypes", ())) - set(FULL_DTYPES) for info in shown]
    if all(odd):
        seen = set().union(*odd)
        domain["dtypes"] = [d for d in DTYPES if d not in seen]
    return domain or None


def _domain_hint(domain: dict[str, Any], target: str) -> str:
    attr = target.rsplit(":", 1)[-1] if ":" in target else "the target"
    what = []
    if "max_rank" in domain:
        what.append(f"a tensor of rank >= {domain['max_rank'] + 1}")
    if "dtypes" in domain:
        what.append(f"a dtype outside {', '.join(domain['dtypes'])}")
    flags = []
    if "max_rank" in domain:
        flags.append(f"--max-rank {domain['max_rank']}")
    if "dtypes" in domain:
        flags.append(f"--dtypes {','.join(domain['dtypes'])}")
    return (
        f"every input that triggered it holds {' and '.join(what)}: if the target does not "
        f"support those, declare it ({attr}.conformance_domain = {domain!r}, or "
        f"{' '.join(flags)}; see docs/how-to/domain.md); if it should, fix that line"
    )


def _input_size(result: Result) -> tuple[float, int]:
    """How big ``result``'s counterexample is: its tensors' elements, then its repr's length."""
    size = (result.raised or {}).get("size")
    return (size if isinstance(size, (int, float)) else float("inf"), len(result.example or ""))


@dataclass
class Report:
    """Every result of one run, with what was checked and how."""

    spec_version: str
    targets: dict[str, str]
    profile: str
    seed: int
    results: list[Result]
    strict: bool = False
    """Count SHOULD failures toward the exit status too."""
    unavailable: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    resolved: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per role: the target as given, the object loaded (module:qualname), its file."""
    requested: list[str] | None = None
    """Roles asked for (default: those of ``targets``); each must run a property."""
    interrupted: str | None = None
    """``SIGINT`` / ``SIGTERM`` when the run was stopped before it finished."""
    given_up: dict[str, list[str]] = field(default_factory=dict)
    """Role (``agc``, or ``agc+clip`` for a property of two) -> the properties not run because
    that target timed out on several properties in a row (each a ``timeout`` result)."""
    behaves_like: str | None = None
    """The known AGC variant the ``agc`` target's gradients fit, and the examples checked
    (:mod:`conformance.diagnose`); None when its role has no counted failure."""

    def __post_init__(self) -> None:
        self.targets = {clean(k, 100): clean(v, 1000) for k, v in self.targets.items()}
        if self.behaves_like is not None:
            self.behaves_like = clean(self.behaves_like, 2000)
        self.warnings = [clean(w) for w in self.warnings]
        self.unavailable = {k: clean(v) for k, v in self.unavailable.items()}
        self.resolved = {
            role: {k: clean(v, 1000) for k, v in info.items()}
            for role, info in self.resolved.items()
        }

    def failing_clauses(self) -> list[str]:
        """Clause ids with a bad property that counts (plan-tier MUST, or any if strict)."""
        ids = [r.clause for r in self.results if r.counts(self.strict)]
        return sorted(set(ids), key=ids.index)

    def root_causes(self) -> list[str]:
        """The failing (counted) clauses not explained by another failing clause: a clause is
        explained when every bad result of it follows from another failing clause, or belongs
        to a :class:`Finding` filed under another clause (its ``head``)."""
        failing = self.failing_clauses()
        heads = {id(r): f.head for f, group in self._findings() for r in group}
        causes = []
        for clause in failing:
            mine = [r for r in self.results if r.clause == clause and r.counts(self.strict)]
            if not all(
                any(c in failing and c != clause for c in (r.follows_from, heads.get(id(r))))
                for r in mine
            ):
                causes.append(clause)
        return causes

    def findings(self) -> list[Finding]:
        """The facts behind bad results, each said once: the target's exceptions grouped by
        type, message (numbers aside) and line, and the targets the run gave up on as hanging.
        Each with the clauses it touches and the smallest input that triggers it."""
        return [f for f, _ in self._findings()]

    def _findings(self) -> list[tuple[Finding, list[Result]]]:
        """Each finding with the results it explains, in report order."""
        groups: dict[tuple[Any, ...], list[Result]] = {}
        for r in self.results:
            key = self._finding_key(r)
            if key is not None:
                groups.setdefault(key, []).append(r)
        out = []
        for key, group in groups.items():
            counted = [r for r in group if r.counts(self.strict)]
            clauses = [r.clause for r in group]
            failing = [r.clause for r in counted]
            common: dict[str, Any] = {
                "roles": group[0].roles,
                "head": (counted or group)[0].clause,
                "clauses": sorted(set(clauses), key=clauses.index),
                "properties": [r.property for r in group],
                "counted": bool(counted),
                "failing": sorted(set(failing), key=failing.index),
            }
            if key[0] == "hang":
                out.append((self._hang(common, group), group))
            else:
                out.append((self._exception(common, group), group))
        return out

    def _finding_key(self, r: Result) -> tuple[Any, ...] | None:
        """What ``r`` shares with the other results of its finding (None: no finding)."""
        info = r.raised
        if r.status == "error" and info is not None and info.get("line"):
            message = _NUMBER.sub("#", str(info.get("message", "")))
            return ("exception", r.roles, info.get("type"), message, info["line"])
        if r.status == "timeout" and "+".join(r.roles) in self.given_up:
            return ("hang", r.roles)
        return None

    def _hang(self, common: dict[str, Any], group: list[Result]) -> Finding:
        role = "+".join(group[0].roles)
        not_run = list(self.given_up[role])
        waited = [r for r in group if r.property not in not_run]
        first = (waited or group)[0]
        message = (
            f"the {role} target hangs: it reached the time limit on {len(waited)} properties "
            f"({', '.join(r.property for r in waited)}), the last in a row; the other "
            f"{len(not_run)} were not run"
        )
        return Finding(
            "hang",
            **common,
            message=message,
            example=first.example,
            example_property=first.property,
            not_run=not_run,
        )

    def _exception(self, common: dict[str, Any], group: list[Result]) -> Finding:
        shown = [r for r in group if r.example is not None] or group
        smallest = min(shown, key=_input_size)
        info = smallest.raised or {}
        domain = _tensor_domain(group)
        roles = group[0].roles
        target = self.targets.get(roles[0], "") if len(roles) == 1 else ""
        return Finding(
            "exception",
            **common,
            exception=str(info.get("type", "")).rsplit(".", 1)[-1],
            type=info.get("type"),
            message=str(info.get("message", "")),
            line=info.get("line"),
            example=smallest.example,
            example_property=smallest.property,
            domain=domain,
            hint=_domain_hint(domain, target) if domain else "",
        )

    def strict_failures(self) -> list[str]:
        """Bad strict-tier MUST clauses, which the default verdict does not count."""
        ids = [
            r.clause
            for r in self.results
            if r.bad and not self.strict and r.level == "MUST" and r.tier == "strict"
        ]
        return sorted(set(ids), key=ids.index)

    def advisory_failures(self) -> list[str]:
        """Bad SHOULD clauses (advisory unless strict)."""
        ids = [r.clause for r in self.results if r.bad and not self.strict and r.level == "SHOULD"]
        return sorted(set(ids), key=ids.index)

    def idle_roles(self) -> dict[str, str]:
        """Roles asked for that ran no property, each with why (the first skip reason)."""
        wanted = self.requested if self.requested is not None else list(self.targets)
        idle = {}
        for role in wanted:
            mine = [r for r in self.results if role in r.roles]
            if any(r.status not in _IDLE for r in mine):
                continue
            reason = next((r.message for r in mine if r.message), "")
            idle[role] = reason or "no property of this selection uses it"
        return idle

    @property
    def exit_status(self) -> int:
        """130/143 interrupted; 1 a counted clause is bad; 3 a role ran nothing; else 0."""
        if self.interrupted:
            return _EXIT_FOR_SIGNAL.get(self.interrupted, 130)
        if self.failing_clauses():
            return 1
        if self.idle_roles():
            return 3
        return 0

    def summary(self) -> dict[str, Any]:
        """The count of each status, the total and the seconds, and the verdict: failing
        clauses, root causes, findings (each a dict), the roles given up on, strict and advisory
        failures, idle roles, ``conforms``, ``complete``, ``exit_status``."""
        counts: dict[str, Any] = {s: 0 for s in STATUSES}
        for r in self.results:
            counts[r.status] += 1
        counts["total"] = len(self.results)
        counts["seconds"] = round(sum(r.seconds for r in self.results), 3)
        counts["failing_clauses"] = self.failing_clauses()
        counts["root_causes"] = self.root_causes()
        counts["findings"] = [f.to_dict() for f in self.findings()]
        counts["given_up"] = {role: list(ids) for role, ids in self.given_up.items()}
        counts["strict_failures"] = self.strict_failures()
        counts["advisory_failures"] = self.advisory_failures()
        counts["idle_roles"] = self.idle_roles()
        counts["conforms"] = self.exit_status == 0
        counts["complete"] = not self.interrupted and not counts["idle_roles"]
        counts["exit_status"] = self.exit_status
        return counts

    def follows(self, cause: str) -> list[str]:
        """The failing (counted) clauses, other than the root causes, whose bad results follow
        from the root cause ``cause`` (sorted by clause id)."""
        causes = set(self.root_causes())
        return sorted(
            {
                r.clause
                for r in self.results
                if r.counts(self.strict) and r.follows_from == cause and r.clause != cause
            }
            - causes
        )

    def summary_line(self) -> str:
        """The verdict in one line: the counts, the seconds and whether the targets conform
        (the text report's last line; the command line prints it when writing a file)."""
        s = self.summary()
        parts = [f"{s[k]} {k}" for k in STATUSES if s[k]]
        head = f"summary: {', '.join(parts) or 'nothing checked'} in {s['seconds']:.2f} s: "
        if self.interrupted:
            return head + f"INTERRUPTED by {self.interrupted}: no verdict (partial results above)"
        failing, causes = s["failing_clauses"], s["root_causes"]
        tail = self._beside()
        if failing:
            scope = "(strict)" if self.strict else "to the plan"
            cause = "root cause" if len(causes) == 1 else "root causes"
            n = len(failing)
            fail = "1 clause fails" if n == 1 else f"{n} clauses fail"
            named = self._named(causes)
            if failing == causes and named == causes:
                listed = f"{fail}: {', '.join(failing)}"
            else:
                listed = (
                    f"{fail}, {len(causes)} {cause}: {', '.join(named)}; all failing: "
                    f"{', '.join(failing)}"
                )
            return head + f"does NOT conform {scope} ({listed})" + tail
        idle = s["idle_roles"]
        if idle:
            why = "; ".join(f"{role}: {reason}" for role, reason in idle.items())
            return head + f"INCOMPLETE: no property ran for {', '.join(idle)} ({why})" + tail
        verdict = (
            "conforms (strict: every clause checked passes)"
            if self.strict
            else "conforms to the plan"
        )
        return head + verdict + tail

    def _named(self, causes: list[str]) -> list[str]:
        """Each root cause, a finding's head with the finding's label: 'AGC-002 (RuntimeError
        raised at agc.py:22 in norm, 15 clauses)'."""
        labels = {f.head: f.label() for f in self.findings() if f.counted}
        return [f"{c} ({labels[c]})" if c in labels else c for c in causes]

    def _beside(self) -> str:
        """'; 3 strict clauses fail: ...; advisory SHOULD failures: ...' (default mode only)."""
        parts = []
        strict, advisory = self.strict_failures(), self.advisory_failures()
        if strict:
            n = len(strict)
            parts.append(f"{n} strict clause{'s' if n != 1 else ''} fail: {', '.join(strict)}")
        if advisory:
            parts.append(f"advisory SHOULD failures: {', '.join(advisory)}")
        return "".join(f"; {p}" for p in parts)

    # -- output: one writer per format, in conformance.writers -----------------------------

    def render(self, fmt: str) -> str:
        """The report in the format ``fmt``: a name of :data:`conformance.writers.WRITERS`
        (``text``, ``json``, ``junit``)."""
        from conformance.writers import render

        return render(self, fmt)

    def to_text(self) -> str:
        """The report as text (:mod:`conformance.writers.text_report`)."""
        from conformance.writers import text_report

        return text_report.render(self)

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON layout's dict (:mod:`conformance.writers.json_report`)."""
        from conformance.writers import json_report

        return json_report.report_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON (:mod:`conformance.writers.json_report`)."""
        from conformance.writers import json_report

        return json_report.render(self, indent=indent)

    def to_junit(self) -> str:
        """The report as JUnit XML (:mod:`conformance.writers.junit_report`)."""
        from conformance.writers import junit_report

        return junit_report.render(self)
