"""conformance — a Hypothesis-driven check of any implementation against the spec clauses."""

__all__: list[str] = []
