"""Hostile targets: implementations that end, freeze, crash or tamper with whatever runs them.

Each module is one behaviour a maintainer's code can have by accident (or on purpose);
tests/test_conformance_isolation.py checks that the harness reports each one and that the
other roles' verdicts in the same run stay as they are. ``probes`` holds small properties
that exercise the runner itself (shrinking, counting, flakiness, hangs in an act).
"""
