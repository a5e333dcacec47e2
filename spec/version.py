"""Version of the specification (the clause set), independent of the package version."""

SPEC_VERSION = "0.3.0"
"""Bumped whenever a clause is added, removed or its meaning changes."""
