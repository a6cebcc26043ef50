"""Two read models on one warehouse, call by call: an older ``queries`` module against ``pipeline.queries``.

    .venv/bin/python bench/warehouse.py --events 1000000 --data-dir /tmp/wh      # a warehouse to keep, once
    .venv/bin/python bench/queries_ab.py --data-dir /tmp/wh --old 39ab8ac:pipeline/warehouse/queries.py

Loads the old module from git (``REV:PATH``), then for the ranges of ``bench/warehouse.py`` runs
each page's calls as that bench makes them, old and new alternating, ``--runs`` times each,
and prints every query's medians (ms) and the sums per range. In one process, alternating, so a
neighbour's burst on a shared machine falls on both sides alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import warehouse as bench  # noqa: E402  (bench/warehouse.py)

from pipeline import queries as new  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402


def load_old(spec: str) -> object:
    """The module at ``REV:PATH`` in this repository's history."""
    source = subprocess.run(["git", "-C", str(REPO), "show", spec], check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="vigil-old-queries-")) / "old_queries.py"
    path.write_text(source, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location("old_queries", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["old_queries"] = module
    module_spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="a warehouse kept by bench/warehouse.py")
    parser.add_argument("--old", required=True, help="REV:PATH of the old queries module")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each call per side (default 9)")
    args = parser.parse_args()
    old = load_old(args.old)
    totals: dict[str, list[float]] = {}
    with ClickHouseServer(args.data_dir) as server:
        client = server.client(send_receive_timeout=600)
        latest = client.query("SELECT toStartOfMinute(max(timestamp)) FROM events").result_rows[0][0]
        end = latest.replace(tzinfo=timezone.utc) + timedelta(minutes=1)
        for label, (span, bucket) in bench.RANGES.items():
            filters = new.Filters.last_minutes(bench.PROJECT, span, end)
            calls = {}
            for side, module in (("old", old), ("new", new)):
                bench.queries = module  # page_queries calls through the module it names
                calls[side] = {(page, name): call for page, items in bench.page_queries(client, filters, bucket).items()
                               for name, _, call in items}
            for key, call in calls["new"].items():
                times: dict[str, list[float]] = {"old": [], "new": []}
                calls["old"][key](), call()  # warm
                for _ in range(args.runs):
                    for side in ("old", "new"):
                        started = time.perf_counter()
                        calls[side][key]()
                        times[side].append(time.perf_counter() - started)
                before, after = (statistics.median(times[side]) * 1000 for side in ("old", "new"))
                sums = totals.setdefault(label, [0.0, 0.0])
                sums[0] += before
                sums[1] += after
                print(f"{label:>4} | {key[0]:<26} | {key[1]:<40} | {before:6.1f} | {after:6.1f} | "
                      f"{100 * (after - before) / before:+4.0f} %")
    for label, (before, after) in totals.items():
        print(f"{label:>4} every query: old {before:.0f} ms, new {after:.0f} ms ({100 * (after - before) / before:+.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
