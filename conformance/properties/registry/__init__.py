"""REG family (``spec/clauses/registry.py``): the generator registry.

:mod:`.lookup` (resolving names to generators) and :mod:`.api` (registering, building).
"""
