"""Print a read-model statement exactly as it runs: ``python -m pipeline.queries NAME`` (no NAME: list
them; ``--without-days``: as it runs over a range without a whole day, ``statements.sql``)."""

from __future__ import annotations

import sys
from importlib import resources

from pipeline.queries.statements import sql


def main(argv: list[str]) -> int:
    days = "--without-days" not in argv
    argv = [arg for arg in argv if arg != "--without-days"]
    if not argv:
        root = resources.files("pipeline.queries").joinpath("sql")
        names = sorted(entry.name.removesuffix(".sql") for entry in root.iterdir() if entry.name.endswith(".sql"))
        print("\n".join(names))
        return 0
    try:
        print(sql(argv[0], days))
    except ValueError as problem:
        print(problem, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
