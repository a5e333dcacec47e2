"""BLK family (``spec/clauses/blocks.py``): the spectral convolution, the blocks, the generators.

One module per concern: :mod:`.spectral`, :mod:`.block`, :mod:`.generator`.
"""
