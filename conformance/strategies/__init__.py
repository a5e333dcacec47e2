"""Hypothesis strategies shared by the conformance properties and the project's tests.

One module per area: :mod:`conformance.strategies.configs` for the config
contract; tensor, block and generator strategies sit beside it.
"""
