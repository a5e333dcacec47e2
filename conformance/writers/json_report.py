"""The JSON report: for programs (CI dashboards, the torch matrix, comparisons of runs).

>>> import json
>>> from conformance.report import Report, Result
>>> from conformance.writers import json_report
>>> report = Report("0.1.0", {"agc": "mypkg:agc"}, "quick", 0, [
...     Result("AGC-003", "MUST", "rank <= 1 is one unit", "agc.rank_le1_is_one_unit",
...            ("agc",), "passed", examples=10, seconds=0.25)])
>>> data = json.loads(json_report.render(report))
>>> data["format_version"], data["results"][0]["status"], data["summary"]["conforms"]
(2, 'passed', True)

Layout (stable; :data:`FORMAT_VERSION` changes if a field changes meaning)::

    {
      "format": "fno-stability-conformance-report", "format_version": 2,
      "spec_version": "0.1.0",          # spec.SPEC_VERSION the clauses come from
      "targets": {"agc": "impl:adaptive_gradient_clip_", ...},   # role -> target checked
      "resolved": {"agc": {"target": ..., "object": "impl.agc:adaptive_gradient_clip_",
                           "file": "/abs/path/impl/agc.py", "kind": "function"}},
      "unavailable": {"role": "why it was skipped"},
      "profile": "quick", "seed": 0, "strict": false, "interrupted": null,
      "results": [{
        "clause": "AGC-003", "level": "MUST", "title": "...",
        "property": "agc.rank_le1_is_one_unit", "roles": ["agc"],
        "status": "passed",      # see conformance.report
        "examples": 10,          # examples checked (before the first failure, if any)
        "seconds": 0.25,         # wall time of the property, shrinking included
        "message": "",           # why it failed / errored / crashed / was skipped
        "example": null,         # repr of the shrunk counterexample (Python that rebuilds it)
        "reproduction": null,    # a script that re-runs the check on that example
        "xfail_reason": null,    # the xfail file's reason, when an entry matched
        "output": null,          # what the target printed (tail), for bad results
        "tier": "plan",          # plan or strict (see spec.clauses)
        "why": "",               # why the clause is in its tier
        "follows_from": null,    # for a bad result: the more basic clause it also breaks
        "raised": null           # for an error the target raised: type, message, line (the
                                 # target's FILE:LINE in FUNCTION), ranks, dtypes, size
      }, ...],
      "summary": {"passed": 40, "failed": 0, ..., "total": 40, "seconds": 12.5,
                  "failing_clauses": [], "root_causes": [],
                  "findings": [],        # each fact once: Finding.to_dict (see below)
                  "given_up": {},        # role -> properties not run: the target hangs
                  "strict_failures": [],
                  "advisory_failures": [], "idle_roles": {}, "conforms": true,
                  "complete": true, "exit_status": 0},
      "warnings": ["xfail entry 'AGC-099' matches no property"],
      "behaves_like": null   # the known AGC variant the agc target fits (conformance.diagnose)
    }

``summary`` is :meth:`Report.summary <conformance.report.Report.summary>`; each entry of
``results`` is :meth:`Result.to_dict <conformance.report.Result.to_dict>`; each of
``summary.findings`` is :meth:`Finding.to_dict <conformance.report.Finding.to_dict>` (``kind``
``exception`` or ``hang``, ``head``, ``clauses``, ``failing``, ``line``, ``example``,
``domain``, ``hint``, ``not_run``, ...). ``raised``, ``given_up`` and ``findings`` were added in
layout 2 without a version change: no field changed meaning, and a property given up on is a
``timeout`` as before (with ``examples`` 0 and a message starting ``not run:``).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.report import Report

__all__ = ["FORMAT", "FORMAT_VERSION", "render", "report_dict"]

FORMAT = "fno-stability-conformance-report"
"""The ``format`` field: what the file is."""
FORMAT_VERSION = 2
"""The ``format_version`` field: raised when a field changes meaning."""


def report_dict(report: Report) -> dict[str, Any]:
    """The report as a dict of the layout above (what :func:`render` writes)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec_version": report.spec_version,
        "targets": dict(report.targets),
        "resolved": {k: dict(v) for k, v in report.resolved.items()},
        "unavailable": dict(report.unavailable),
        "profile": report.profile,
        "seed": report.seed,
        "strict": report.strict,
        "interrupted": report.interrupted,
        "results": [r.to_dict() for r in report.results],
        "summary": report.summary(),
        "warnings": list(report.warnings),
        "behaves_like": report.behaves_like,
    }


def render(report: Report, indent: int | None = 2) -> str:
    """The report as JSON text (UTF-8 kept as is, ``indent`` spaces per level)."""
    return json.dumps(report_dict(report), indent=indent, ensure_ascii=False)
