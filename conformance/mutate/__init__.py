"""``conformance mutate``: measure the suite's power by mutation analysis of a target.

>>> from conformance.mutate import OPERATORS, generate
>>> [m.description for m in generate("def f(g):\\n    g.mul_(2)\\n", "f", operators=["inplace"])]
['mul_ -> mul']
>>> "validator" in OPERATORS
True

A mutant is the target's source with one small change (:mod:`conformance.mutate.operators`,
:mod:`conformance.mutate.mutants`). Each is checked as a target of its own, through the
same worker isolation as ``conformance check`` (:mod:`conformance.mutate.execute`), and its
outcome goes into a :class:`~conformance.mutate.outcomes.MutationReport`: the suite *kills* a
mutant when one of the role's counted properties fails on it. The score is the share of
mutants killed; a survivor is a change of the code the clauses do not notice — a missing
property, or a mutant equivalent to the original (declare it in an equivalence file,
:mod:`conformance.mutate.equivalence`). See ``docs/how-to/mutate.md`` and
``docs/explanation/power.md``.
"""

from __future__ import annotations

from conformance.mutate.equivalence import EquivalenceEntry, EquivalenceError, parse_equivalence
from conformance.mutate.mutants import Mutant, MutateError, generate
from conformance.mutate.operators import OPERATORS
from conformance.mutate.outcomes import MutantOutcome, MutationReport

__all__ = [
    "OPERATORS",
    "EquivalenceEntry",
    "EquivalenceError",
    "Mutant",
    "MutantOutcome",
    "MutateError",
    "MutationReport",
    "generate",
    "parse_equivalence",
]
