"""TRN family (``spec/clauses/training.py``): the training step (unscale, clip, step)."""
