"""Faithful implementations: each role written the plain way from the plan, with none of this
project's hardening (no argument checks, computations in the working dtype, dataclass and
lax-Pydantic configs, ValueError where the project asks for LookupError, a fixed real/imag
output layout, ...).

tests/test_conformance_faithful.py asserts that each conforms to the plan on 20 seeds of the
quick profile, and that under --strict it fails exactly where it lacks the hardening: the
harness must never call a faithful implementation wrong.
"""
