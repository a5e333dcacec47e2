"""``python -m conformance``: the conformance check (see :mod:`conformance.cli`)."""

from __future__ import annotations

import sys

from conformance.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
