"""The read model's statements sent with and without their whole-line comments, call by call.

    .venv/bin/python bench/warehouse.py --events 1000000 --data-dir /tmp/wh   # a warehouse to keep, once
    .venv/bin/python bench/queries_wire.py /tmp/wh 15                          # 15 timed runs a side

For each range of ``bench/warehouse.py`` runs every page's calls as that bench makes them, once
sending each statement as written and once as :func:`pipeline.queries.statements.wire` sends it,
alternating in one process, and prints the sums of the medians per range.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import timedelta, timezone
from pathlib import Path
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "bench"))
import warehouse as bench  # noqa: E402  (bench/warehouse.py)
from pipeline import queries  # noqa: E402
from pipeline.queries import statements  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
real = statements.wire


def same(statement: str) -> str:
    return statement


totals = {}
with ClickHouseServer(Path(sys.argv[1])) as server:
    client = server.client(send_receive_timeout=600)
    latest = client.query("SELECT toStartOfMinute(max(timestamp)) FROM events").result_rows[0][0]
    end = latest.replace(tzinfo=timezone.utc) + timedelta(minutes=1)
    for label, (span, bucket) in bench.RANGES.items():
        filters = queries.Filters.last_minutes(bench.PROJECT, span, end)
        calls = {(p, n): c for p, items in bench.page_queries(client, filters, bucket).items() for n, _, c in items}
        for key, call in calls.items():
            t = {"comments": [], "stripped": []}
            call()
            for _ in range(int(sys.argv[2])):
                for side, fn in (("comments", same), ("stripped", real)):
                    statements.wire = fn
                    s = time.perf_counter(); call(); t[side].append(time.perf_counter() - s)
            a, b = (statistics.median(t[k]) * 1000 for k in ("comments", "stripped"))
            sums = totals.setdefault(label, [0.0, 0.0]); sums[0] += a; sums[1] += b
    for label, (a, b) in totals.items():
        print(f"{label:>4} every query: with comments {a:.0f} ms, stripped {b:.0f} ms ({100 * (b - a) / a:+.1f} %)")
