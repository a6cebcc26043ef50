"""Print a read-model statement exactly as it runs: ``python -m pipeline.queries NAME`` (no NAME: list them)."""

from __future__ import annotations

import sys
from importlib import resources

from pipeline.queries.statements import sql


def main(argv: list[str]) -> int:
    if not argv:
        root = resources.files("pipeline.queries").joinpath("sql")
        names = sorted(entry.name.removesuffix(".sql") for entry in root.iterdir() if entry.name.endswith(".sql"))
        print("\n".join(names))
        return 0
    try:
        print(sql(argv[0]))
    except ValueError as problem:
        print(problem, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
