"""AGC family (``spec/clauses/agc.py``): adaptive gradient clipping and the clipping dispatch.

One module per concern: :mod:`.rule` (the unit-wise rule), :mod:`.dispatch` (the
``'norm' | 'value' | 'agc'`` dispatch), :mod:`.sharded` (DTensor parameters).
"""
