"""Warehouse and dashboards: load 10 million events, then time every page's queries.

    .venv/bin/python bench/warehouse.py                    # 10,000,000 events over 7 days
    .venv/bin/python bench/warehouse.py --events 1000000   # a quicker look
    .venv/bin/python bench/warehouse.py --data-dir DIR     # keep the loaded warehouse in DIR
    .venv/bin/python bench/warehouse.py --data-dir DIR --skip-load   # only time the queries on it again

Starts a scratch embedded ClickHouse (``vigil clickhouse`` on a free port, throw-away data,
the real migrations with their materialized views), then:

1. **load** — generates the shop's traffic with numpy/polars (the distributions of
   ``pipeline.simulation``: devices and their browsers, funnel walk, log-normal Web Vitals per
   device class, resources, API calls with failures, clicks, forms, the buggy release's error
   bursts during incidents, countries, connection types) in chunks of ~450k events and inserts
   each chunk as one Arrow batch, so every rollup's view runs as in production; reports the
   insert rate *with* the views, and the same for a chunk into a table without them; then
   seals the closed hours' counts (``pipeline.warehouse.sealing.seal_now``: what the
   warehouse's own refreshable view does within a minute of the last insert);
2. **pages** — for the ranges 1 h, 24 h and 7 d, runs each dashboard page's queries the
   way the page does (``pipeline.queries``, over HTTP with clickhouse-connect) and
   reports each query's median of 3 warm runs, whether it reads a rollup or raw events, and
   the page's total against the targets (page ≤ 1 s, rollup query ≤ 100 ms);
3. **raw p75 by route vs polars** — LCP p75 per route over all 10M events straight from the
   raw table (``FINAL``, exact quantiles) against polars on the same rows exported to
   Parquet, in the same run, as a ratio.

Prints the machine (cores, CPU model, load average before and after: the machine may be
shared) and writes a Markdown summary to ``--out`` (default bench/.cache/warehouse.md).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import queries  # noqa: E402
from pipeline.queries import Filters, FunnelStep  # noqa: E402
from pipeline.queries import dashboard_state  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from pipeline.warehouse.sealing import SEAL_MARGIN, seal_now  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from warehouse_traffic import PROJECT, SPAN, generate_chunk, shop  # noqa: E402  (bench/warehouse_traffic.py)

console = Console(highlight=False)
CHUNK_SESSIONS = 10_000  # ≈ 450k events per insert
PAGE_TARGET_S = 1.0
ROLLUP_TARGET_S = 0.1


def load(client: Any, events: int, start: datetime, seed: int = 42, project_id: int = PROJECT) -> tuple[int, float]:
    """Generate and insert ``events`` events of the week from ``start``; returns (events, seconds inserting)."""
    rng = np.random.default_rng(seed)
    model = shop(start)
    visitors = max(1000, int(events / 40 * 0.7))  # ≈ 40 events per session, 1.4 sessions per visitor
    inserted, insert_seconds, generate_seconds = 0, 0.0, 0.0
    columns = TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("loading events", total=events)
        per_session = 40.0  # events per session, refined as chunks come
        while inserted < events:
            began = time.perf_counter()
            remaining = events - inserted
            sessions = min(CHUNK_SESSIONS, max(100, int(remaining / per_session * 1.02)))
            table = generate_chunk(rng, model, sessions, start, visitors, project_id)
            per_session = table.num_rows / sessions
            if table.num_rows > remaining:  # the last chunk: leave out a random few of its events
                keep = np.sort(rng.choice(table.num_rows, size=remaining, replace=False))
                table = table.take(pa.array(keep))
            generated = time.perf_counter()
            client.insert_arrow("events", table)
            insert_seconds += time.perf_counter() - generated
            generate_seconds += generated - began
            inserted += table.num_rows
            progress.update(task, completed=inserted,
                            description=f"loading events ({inserted / insert_seconds:,.0f}/s into ClickHouse)")
    console.print(f"generated {inserted:,} events in {generate_seconds:.1f} s; inserted in {insert_seconds:.1f} s "
                  f"({inserted / insert_seconds:,.0f} events/s with every materialized view)")
    return inserted, insert_seconds


# ── what each page asks ──────────────────────────────────────────────────────────────────

RAW, ROLLUP = "raw", "rollup"
SHOP_FUNNEL = [FunnelStep("page", "/"), FunnelStep("page", "/c/*"), FunnelStep("page", "/p/*"),
               FunnelStep("page", "/cart"), FunnelStep("page", "/checkout"), FunnelStep("page", "/checkout/confirmation")]


def page_queries(client: Any, filters: Filters, bucket: int) -> dict[str, list[tuple[str, str, Callable[[], Any]]]]:
    """Per page, its queries as the page runs them: (name, source, call)."""
    before = filters.previous()
    top = queries.error_groups(client, filters, bucket)
    fingerprint = int(top["fingerprint"][0]) if top.height else 0
    q = queries
    return {
        "Sidebar": [
            ("projects", RAW, lambda: q.projects(client)),
            ("filter_options (7 d)", ROLLUP, lambda: q.filter_options(client, Filters.last_minutes(
                PROJECT, timedelta(days=7), filters.end - timedelta(minutes=1)))),
        ],
        "Overview": [
            ("traffic_totals", ROLLUP, lambda: q.traffic_totals(client, filters)),
            ("traffic_totals (previous)", ROLLUP, lambda: q.traffic_totals(client, before)),
            ("session_summary", ROLLUP, lambda: q.session_summary(client, filters)),
            ("session_summary (previous)", ROLLUP, lambda: q.session_summary(client, before)),
            ("vital_summary", ROLLUP, lambda: q.vital_summary(client, filters)),
            ("vital_p75_change (both periods, exact)", RAW, lambda: q.vital_p75_change(client, filters)),
            ("events_by_type", ROLLUP, lambda: q.events_by_type(client, filters, bucket)),
        ],
        "Web Vitals": [  # as it opens: LCP, breakdown by route, the Attribution details (see page_totals)
            ("vital_summary", ROLLUP, lambda: q.vital_summary(client, filters)),
            ("vital_trend", ROLLUP, lambda: q.vital_trend(client, filters, "LCP", bucket)),
            ("vital_histogram", ROLLUP, lambda: q.vital_histogram(client, filters, "LCP")),
            ("vital_breakdown (routes)", ROLLUP, lambda: q.vital_breakdown(client, filters, "LCP", "route", 500)),
            ("vital_attribution", RAW, lambda: q.vital_attribution(client, filters, "LCP")),
        ],
        OTHER_DETAILS: [  # what the Details picker runs instead of the attribution
            ("navigation_timing", RAW, lambda: q.navigation_timing(client, filters)),
            ("slowest_resources", RAW, lambda: q.slowest_resources(client, filters, 15, 3)),
        ],
        "Errors": [
            ("error_groups", ROLLUP, lambda: q.error_groups(client, filters, bucket)),
            ("error_events (top group)", RAW, lambda: q.error_events(client, filters, fingerprint)),
            ("error_tags (top group)", RAW, lambda: q.error_tags(client, filters, fingerprint)),
            ("api_endpoints", ROLLUP, lambda: q.api_endpoints(client, filters)),
            ("api_failures", ROLLUP, lambda: q.api_failures(client, filters)),
        ],
        "Funnels": [
            ("saved_funnels", RAW, lambda: dashboard_state.saved_funnels(client, PROJECT)),
            ("funnel (6 steps)", RAW, lambda: q.funnel(client, filters, SHOP_FUNNEL, timedelta(hours=1))),
        ],
        "Traffic": [
            ("traffic_totals", ROLLUP, lambda: q.traffic_totals(client, filters)),
            ("session_summary", ROLLUP, lambda: q.session_summary(client, filters)),
            ("traffic_trend", ROLLUP, lambda: q.traffic_trend(client, filters, bucket)),
            ("top_pages", ROLLUP, lambda: q.top_pages(client, filters)),
            ("entry_pages", ROLLUP, lambda: q.entry_pages(client, filters)),
            ("exit_pages", ROLLUP, lambda: q.exit_pages(client, filters)),
            ("sources", ROLLUP, lambda: q.sources(client, filters)),
            ("campaigns", ROLLUP, lambda: q.campaigns(client, filters)),
            ("time_on_page", RAW, lambda: q.time_on_page(client, filters)),
            ("top_clicks", RAW, lambda: q.top_clicks(client, filters)),
            ("form_submits", RAW, lambda: q.form_submits(client, filters)),
        ],
    }


OTHER_DETAILS = "Web Vitals, other details"


def page_totals(timings: dict[str, list[tuple[str, str, float]]]) -> dict[str, float]:
    """Seconds per page as a viewer waits for it: the sum of its queries. The Web Vitals page runs
    one of its three details at a time, so it counts three times: as it opens (attribution) and
    with each other choice of its Details picker in place of the attribution."""
    totals: dict[str, float] = {}
    for page, rows in timings.items():
        if page == OTHER_DETAILS:
            continue
        if page != "Web Vitals":
            totals[page] = sum(seconds for _, _, seconds in rows)
            continue
        opening = sum(seconds for name, _, seconds in rows if name != "vital_attribution")
        for name, _, seconds in [*(row for row in rows if row[0] == "vital_attribution"), *timings[OTHER_DETAILS]]:
            totals[f"Web Vitals ({name.replace('vital_', '').replace('_', ' ')})"] = opening + seconds
    return totals


def timed(call: Callable[[], Any], runs: int = 3) -> float:
    call()  # warm: connection, marks cache
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


RANGES = {"1 h": (timedelta(hours=1), 1), "24 h": (timedelta(hours=24), 15), "7 d": (timedelta(days=7), 60)}


def time_pages(client: Any, end: datetime, rounds: int = 1) -> dict[str, dict[str, list[tuple[str, str, float]]]]:
    """Each page's queries per range: (name, source, seconds) — the median of 3 warm runs; with
    ``rounds`` > 1 every query is timed in that many sweeps over all pages and ranges, one after
    the other, and keeps its fastest (on a shared machine a neighbour's burst inflates one sweep's
    numbers, rarely every sweep's)."""
    sweeps = []
    for sweep in range(1, rounds + 1):
        results: dict[str, dict[str, list[tuple[str, str, float]]]] = {}
        for label, (span, bucket) in RANGES.items():
            filters = Filters.last_minutes(PROJECT, span, end)
            results[label] = {}
            for page, calls in page_queries(client, filters, bucket).items():
                results[label][page] = [(name, source, timed(call)) for name, source, call in calls]
                console.print(f"  {sweep}/{rounds} {label:>4}  {page:<11} "
                              + ", ".join(f"{n} {t * 1000:.0f}" for n, _, t in results[label][page]))
        sweeps.append(results)
    fastest = {label: {page: [(name, source, min(s[label][page][index][2] for s in sweeps))
                              for index, (name, source, _) in enumerate(rows)]
                       for page, rows in pages.items()} for label, pages in sweeps[0].items()}
    for label in RANGES:
        console.print(f"  {label:>4}  pages: " + ", ".join(f"{page} {seconds * 1000:.0f} ms" for page, seconds
                                                        in page_totals(fastest[label]).items()))
    return fastest


# ── raw p75 by route: ClickHouse vs polars on Parquet ────────────────────────────────────

P75_BY_ROUTE = """
SELECT path, quantileExactInclusive(0.75)(vital_value) AS p75, count() AS samples
FROM events FINAL
WHERE project_id = {project_id:UInt32} AND type = 'web_vital' AND vital_name = 'LCP'
GROUP BY path
ORDER BY path
"""


def p75_by_route(client: Any, workdir: Path) -> dict[str, float]:
    parquet = workdir / "events.parquet"
    began = time.perf_counter()
    table = client.query_arrow("SELECT project_id, toString(type) AS type, timestamp, event_id, path, "
                               "toString(vital_name) AS vital_name, vital_value FROM events FINAL",
                               settings={"max_block_size": 1_000_000})
    pq.write_table(table, parquet)
    console.print(f"exported {table.num_rows:,} rows to Parquet ({parquet.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - began:.1f} s")
    del table

    def in_clickhouse() -> pl.DataFrame:
        return pl.from_arrow(client.query_arrow(P75_BY_ROUTE, parameters={"project_id": PROJECT}))

    def in_polars() -> pl.DataFrame:
        return (pl.scan_parquet(parquet)
                .filter((pl.col("project_id") == PROJECT) & (pl.col("type") == "web_vital")
                        & (pl.col("vital_name") == "LCP"))
                .group_by("path").agg(pl.col("vital_value").quantile(0.75, interpolation="linear").alias("p75"),
                                      pl.len().alias("samples"))
                .sort("path").collect())

    ours, theirs = in_clickhouse(), in_polars()
    assert ours["path"].to_list() == theirs["path"].to_list()
    assert np.allclose(ours["p75"].to_numpy(), theirs["p75"].to_numpy(), rtol=1e-12)
    clickhouse_s = timed(in_clickhouse, runs=5)
    polars_s = timed(in_polars, runs=5)
    return {"clickhouse_s": clickhouse_s, "polars_s": polars_s, "routes": ours.height,
            "samples": int(ours["samples"].sum())}


# ── the run ──────────────────────────────────────────────────────────────────────────────


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def insert_overhead(client: Any, start: datetime) -> dict[str, float]:
    """What the materialized views cost an insert shaped like the processor's sink (20,000 rows,
    Native format through clickhouse-connect's ``insert``): median seconds per batch into
    ``events`` (every view runs) and into a copy that feeds no view, alternating, 5 each."""
    client.command("DROP TABLE IF EXISTS events_no_views")
    client.command("CREATE TABLE events_no_views AS events")
    table = generate_chunk(np.random.default_rng(7), shop(start), 600, start, 20_000, project_id=PROJECT + 1)
    columns = table.column_names
    batch = table.slice(0, 20_000).to_pylist()
    rows = [[row[name] for name in columns] for row in batch]
    timings: dict[str, list[float]] = {"events": [], "events_no_views": []}
    for _ in range(5):
        for target in timings:
            began = time.perf_counter()
            client.insert(target, rows, column_names=columns)
            timings[target].append(time.perf_counter() - began)
    client.command("DROP TABLE events_no_views")  # (the batches stay in `events` under another project)
    return {target: statistics.median(samples) for target, samples in timings.items()} | {"rows": len(rows)}


def optimize(client: Any, unmerged_only: bool = False) -> float:
    """``OPTIMIZE … FINAL`` every MergeTree table (or only those with more than one part in a
    partition, e.g. a new migration's backfill), as background merges leave them after a while;
    returns the seconds it took."""
    began = time.perf_counter()
    tables = client.query("SELECT table FROM system.parts WHERE database = currentDatabase() AND active "
                          "GROUP BY table HAVING count() > uniqExact(partition) OR NOT {unmerged_only:Bool}",
                          parameters={"unmerged_only": unmerged_only}).result_rows
    for (table,) in tables:  # names from system.parts, not input
        client.command(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - began


def load_lines(facts: dict[str, Any]) -> list[str]:
    """The load and insert-cost bullets, or what a ``--skip-load`` run reused instead."""
    if math.isnan(facts["insert_rate"]):
        return [f"- Data: the warehouse an earlier run loaded (reused, new migrations applied). On disk: {facts['sizes']}."]
    return [f"- Load: {facts['insert_rate']:,.0f} events/s inserted with every materialized view "
            f"(Arrow batches of ~450k events), then `OPTIMIZE … FINAL` on every table ({facts['optimize_s']:.0f} s). "
            f"On disk: {facts['sizes']}.",
            f"- A processor-sink-shaped insert (20,000 rows, Native, clickhouse-connect): "
            f"{facts['sink_with_views'] * 1000:.0f} ms with every view, {facts['sink_without_views'] * 1000:.0f} ms "
            f"into a copy of `events` without views (medians of 5, alternating)."]


def markdown(facts: dict[str, Any], results: dict, ratio: dict[str, float]) -> str:
    lines = [f"Run {facts['date']}: {facts['events']:,} events over 7 days ending at the run; machine: "
             f"{facts['machine']['cores']} cores, {facts['machine']['cpu']}; load average before "
             f"{facts['load_before']}, after {facts['load_after']}.", "",
             *load_lines(facts),
             f"- Closed hours' counts sealed before timing (`audience_hour_seal` refreshed once the last insert "
             f"was {SEAL_MARGIN.seconds} s old, {facts['seal_wait_s']:.0f} s of waiting), as a running warehouse "
             "does within a minute.",
             "", "| page | 1 h | 24 h | 7 d |", "|---|---|---|---|"]
    totals = {label: page_totals(results[label]) for label in RANGES}
    for page in totals["1 h"]:
        cells = []
        for label in RANGES:
            total = totals[label][page]
            mark = "" if total <= PAGE_TARGET_S else " ⚠"
            cells.append(f"{total * 1000:.0f} ms{mark}")
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    pages = list(results["1 h"])
    how = ("median of 3 warm runs" if facts["rounds"] == 1
           else f"median of 3 warm runs, the fastest of {facts['rounds']} sweeps over every page and range")
    lines += ["", f"Each query ({how}, ms; rollup target ≤ 100 ms, raw queries are "
              "drill-downs with no target of their own):", "", "| page | query | source | 1 h | 24 h | 7 d |",
              "|---|---|---|---|---|---|"]
    for page in pages:
        for index, (name, source, _) in enumerate(results["1 h"][page]):
            cells = []
            for label in RANGES:
                seconds = results[label][page][index][2]
                over = source == ROLLUP and seconds > ROLLUP_TARGET_S
                cells.append(f"{seconds * 1000:.0f}{' ⚠' if over else ''}")
            lines.append(f"| {page} | `{name}` | {source} | " + " | ".join(cells) + " |")
    lines += ["", f"Raw-table LCP p75 by route over all {ratio['samples']:,} LCP measurements ({ratio['routes']} "
              f"routes, `FINAL`, exact quantiles): ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars on the "
              f"same rows in Parquet {ratio['polars_s'] * 1000:.0f} ms — ratio ClickHouse/polars "
              f"{ratio['clickhouse_s'] / ratio['polars_s']:.2f} (same run, medians of 5, answers equal)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events to load (default 10,000,000)")
    parser.add_argument("--data-dir", "--keep", dest="keep", type=Path, default=None,
                        help="keep the warehouse's data in this directory; a later run with the same directory "
                             "skips the load and times the queries again")
    parser.add_argument("--rounds", type=int, default=1,
                        help="sweep every page and range this many times and keep each query's fastest median")
    parser.add_argument("--skip-load", action="store_true",
                        help="only time the queries, on the warehouse already loaded in --data-dir (new "
                             "migrations are applied first); no insert-cost measurement")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / ".cache" / "warehouse.md",
                        help="where to write the Markdown summary")
    args = parser.parse_args()
    if args.skip_load and not (args.keep and args.keep.is_dir()):
        parser.error("--skip-load needs --data-dir DIR naming a warehouse an earlier run loaded")
    facts: dict[str, Any] = {"machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    facts["load_before"], facts["rounds"] = facts["machine"]["load"], args.rounds
    console.print(f"machine: {facts['machine']['cores']} cores, {facts['machine']['cpu']}, load {facts['load_before']}")
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    start = end - SPAN
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as scratch:
        data_dir = args.keep or Path(scratch) / "warehouse"
        with ClickHouseServer(data_dir) as server:
            client = server.client(send_receive_timeout=600)
            apply_migrations(client)
            stored = client.command(f"SELECT count() FROM events WHERE project_id = {PROJECT}")
            if args.skip_load and not stored:
                raise SystemExit(f"{data_dir} holds no events of project {PROJECT}: run once without --skip-load")
            if args.skip_load or (args.keep and stored >= args.events):  # a kept warehouse: time it again
                console.print(f"reusing the {stored:,} events kept in {data_dir} (loaded by an earlier run)")
                facts.update(events=stored, insert_rate=float("nan"), optimize_s=optimize(client, unmerged_only=True))
                latest = client.query("SELECT toStartOfMinute(max(timestamp)) FROM events").result_rows[0][0]
                end = latest.replace(tzinfo=timezone.utc) + timedelta(minutes=1)
            else:
                if stored:  # an interrupted earlier load into a kept warehouse: top it up
                    console.print(f"{stored:,} events kept from an earlier run; loading the other {args.events - stored:,}")
                    latest = client.query("SELECT min(timestamp) FROM events").result_rows[0][0]
                    start = latest.replace(tzinfo=timezone.utc).replace(second=0, microsecond=0)
                    end = start + SPAN
                added, insert_s = load(client, args.events - stored, start, seed=42 + stored)
                facts["events"] = stored + added
                facts["insert_rate"] = added / insert_s
                facts["optimize_s"] = optimize(client)
            if args.skip_load:
                facts["sink_with_views"] = facts["sink_without_views"] = float("nan")
            else:
                overhead = insert_overhead(client, start)
                facts["sink_with_views"], facts["sink_without_views"] = overhead["events"], overhead["events_no_views"]
                console.print(f"a sink-shaped insert ({overhead['rows']:,} rows, Native): "
                              f"{overhead['events'] * 1000:.0f} ms with every view, "
                              f"{overhead['events_no_views'] * 1000:.0f} ms without (medians of 5)")
            waited = facts["seal_wait_s"] = seal_now(client)  # what the warehouse's seal view does within a minute
            console.print(f"sealed the closed hours' counts (audience_hour_seal refreshed after waiting {waited:.0f} s "
                          f"for the last insert to be {SEAL_MARGIN.seconds} s old), as a running system would have")
            sizes = client.query("SELECT table, sum(rows), formatReadableSize(sum(bytes_on_disk)) FROM system.parts "
                                 "WHERE database = currentDatabase() AND active GROUP BY table ORDER BY table").result_rows
            facts["sizes"] = ", ".join(f"`{t}` {r:,} rows / {s}" for t, r, s in sizes if r)
            console.print(f"optimized in {facts['optimize_s']:.0f} s; {facts['sizes']}")
            console.print("page queries (ms):")
            results = time_pages(client, end - timedelta(minutes=1), args.rounds)
            ratio = p75_by_route(client, Path(scratch))
            console.print(f"raw LCP p75 by route: ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars/Parquet "
                          f"{ratio['polars_s'] * 1000:.0f} ms, ratio {ratio['clickhouse_s'] / ratio['polars_s']:.2f}")
    facts["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    summary = markdown(facts, results, ratio)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(summary)
    table = Table("page", *RANGES, title="page totals")
    totals = {label: page_totals(results[label]) for label in RANGES}
    for page in totals["1 h"]:
        table.add_row(page, *(f"{totals[label][page] * 1000:.0f} ms" for label in RANGES))
    console.print(table)
    console.print(f"summary written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
