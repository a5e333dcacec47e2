"""CFG family (``spec/clauses/config.py``): the TF / Torch training-config contract, the bridge."""
