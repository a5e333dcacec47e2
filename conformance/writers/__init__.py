"""The report writers: one module per output format, and :data:`WRITERS`, their registry.

>>> from conformance.report import Report, Result
>>> from conformance.writers import WRITERS, render
>>> list(WRITERS)
['text', 'json', 'junit']
>>> report = Report("0.1.0", {"torch_config": "spec:TorchTrainingConfig"}, "quick", 0, [
...     Result("CFG-002", "MUST", "default is norm", "config.torch_algorithm_default",
...            ("torch_config",), "passed", examples=1, seconds=0.5)])
>>> print(render(report, "text").splitlines()[-1])
summary: 1 passed in 0.50 s: conforms to the plan

A writer is a function ``render(report) -> str`` in a module of its own
(:mod:`~conformance.writers.text_report`, :mod:`~conformance.writers.json_report`,
:mod:`~conformance.writers.junit_report`); it reads the report's data and verdict
(:class:`conformance.report.Report`) and decides nothing itself. :data:`WRITERS` maps
each format name to its writer and is the one list of formats: the command line's
``--format`` choices and :meth:`Report.render <conformance.report.Report.render>` come
from it. Adding a format is one new module here and one entry in :data:`WRITERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.report import Report
from conformance.writers import json_report, junit_report, text_report

__all__ = ["WRITERS", "Writer", "render"]

Writer = Callable[[Report], str]
"""A writer: the whole report, as the text of one file (no trailing newline)."""

WRITERS: dict[str, Writer] = {
    "text": text_report.render,
    "json": json_report.render,
    "junit": junit_report.render,
}
"""Format name -> writer, in the order the command line lists them."""


def render(report: Report, fmt: str) -> str:
    """``report`` written in the format ``fmt`` (a key of :data:`WRITERS`).

    >>> render(Report("0.1.0", {}, "quick", 0, []), "yaml")
    Traceback (most recent call last):
    ...
    ValueError: unknown report format 'yaml': use text, json or junit
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        names = list(WRITERS)
        known = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        raise ValueError(f"unknown report format {fmt!r}: use {known}")
    return writer(report)
