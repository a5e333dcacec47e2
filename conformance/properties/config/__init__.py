"""CFG family (``spec/clauses/config.py``): the TF / Torch training-config contract, the bridge.

One module per side: :mod:`.tf` and :mod:`.torch` (each side's config class, the same
clauses declared once per side, deciding through :mod:`._sides`), and :mod:`.bridge`
(``to_tf`` / ``to_torch`` and the defaults the two sides share).
"""
