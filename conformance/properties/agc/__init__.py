"""AGC family (``spec/clauses/agc.py``): adaptive gradient clipping and the clipping dispatch.

One module per concern: :mod:`.rule` (the unit-wise rule: the bound, the units and their
axes, locality, the eps guard), :mod:`.exactness` (bitwise-untouched units and weights,
in-place gradients, the float64 reference), :mod:`.dtypes` (the dtypes kept, complex
moduli), :mod:`.inputs` (what a call accepts: containers, views, bad arguments, sparse
gradients, the plan's defaults), :mod:`.nonfinite` (NaN and inf gradients), :mod:`.sync`
(host reads, the count returned), :mod:`.extensions` (the optional keywords a target
declares: ``error_if_nonfinite``, ``unit_dim``), :mod:`.dispatch` (the
``spec.ClipAlgorithm`` dispatch), :mod:`.sharded` (DTensor parameters). Each clause's
properties live in one module. The private :mod:`._acts` (the worker side), :mod:`._cases`
(strategies inside the target's domain) and :mod:`._seen` (reading an observation) are
shared by them.
"""
