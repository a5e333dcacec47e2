"""``python -m spec``: print the clauses, regenerate or check the schema and the clauses page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spec.clauses import CLAUSES
from spec.docs import render_spec
from spec.schema import SCHEMA_DIR, stale_schemas, write_schemas
from spec.version import SPEC_VERSION


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("clauses", help="print the clause table")
    schema = sub.add_parser("schema", help=f"write the JSON Schemas to {SCHEMA_DIR}")
    schema.add_argument("--check", action="store_true", help="exit 1 if a committed schema drifted")
    docs = sub.add_parser("docs", help="write docs/reference/clauses.md from the clauses")
    docs.add_argument("--output", type=Path, default=Path("docs/reference/clauses.md"))
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)

    if args.command == "clauses":
        print(f"fno-stability specification {SPEC_VERSION}: {len(CLAUSES)} clauses")
        for c in CLAUSES:
            print(f"{c.id:8} {c.level:6} {c.title}")
        return 0
    if args.command == "schema":
        if args.check:
            stale = stale_schemas()
            for name in stale:
                print(f"stale schema: {SCHEMA_DIR / (name + '.json')}", file=sys.stderr)
            return 1 if stale else 0
        for path in write_schemas():
            print(f"wrote {path}")
        return 0
    text = render_spec()
    if args.check:
        fresh = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        if not fresh:
            print(f"{args.output} is stale: run python -m spec docs", file=sys.stderr)
        return 0 if fresh else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
