"""``python -m conformance``: the conformance check (the property harness lands with issue 5)."""

from __future__ import annotations

import sys

from spec import CLAUSES, SPEC_VERSION


def main(argv: list[str] | None = None) -> int:
    print(f"fno-stability specification {SPEC_VERSION}: {len(CLAUSES)} clauses")
    for c in CLAUSES:
        print(f"{c.id:8} {c.level:6} {c.title}")
    print("\nThe property harness is not built yet: no implementation was checked.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
