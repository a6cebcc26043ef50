"""Warehouse and dashboards: load N events over D days, then time every page's queries.

    .venv/bin/python bench/warehouse.py                    # 10,000,000 events over 7 days
    .venv/bin/python bench/warehouse.py --events 1000000   # a quicker look
    .venv/bin/python bench/warehouse.py --events 100000000 --days 30   # 100× the shop (issue 16)
    .venv/bin/python bench/warehouse.py --data-dir DIR     # keep the loaded warehouse in DIR
    .venv/bin/python bench/warehouse.py --data-dir DIR --skip-load   # only time the queries on it again

Starts a scratch embedded ClickHouse (``vigil clickhouse`` on a free port, throw-away data,
the real migrations with their materialized views), then:

1. **load** — generates the shop's traffic with numpy/polars (``bench/warehouse_traffic.py``:
   the distributions of ``pipeline.simulation``) over the ``--days`` ending now, in time
   order: chunks of ~450k events, each the sessions that start in the next slice of the span,
   each inserted as one Arrow batch, so every rollup's view runs as in production and memory
   holds one chunk whatever the size; prints progress (events/s, ETA, memory) every 30 s and
   the insert rate *with* the views, and a processor-sized batch into a table without them;
   then seals the closed hours' counts (``pipeline.warehouse.sealing.seal_now``: what the
   warehouse's own refreshable view does within a minute of the last insert);
2. **storage** — rows, compressed, uncompressed and on-disk bytes per table from
   ``system.parts``, and the rollups (the tables the materialized views write) together as a
   share of the ``events`` table (target ≤ 20 %);
3. **pages** — for the ranges 1 h, 24 h, 7 d, and 30 d and 90 d when the data reaches them,
   runs each dashboard page's queries the way the page does (``pipeline.queries``, over HTTP
   with clickhouse-connect) and reports each query's median of 3 warm runs, whether it reads
   a rollup or raw events, and the page's total against the targets (page ≤ 1 s, rollup
   query ≤ 150 ms), ⚠ where missed;
4. **raw p75 by route vs polars** — LCP p75 per route over all events straight from the
   raw table (``FINAL``, exact quantiles) against polars on the same rows exported to
   Parquet (a day at a time), in the same run, as a ratio.

Prints the machine (cores, CPU model, load average before and after: the machine may be
shared) and writes a Markdown summary to ``--out`` (default bench/.cache/warehouse.md).
"""

from __future__ import annotations

import argparse
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
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.time_ranges import TIME_RANGES  # noqa: E402
from pipeline import queries  # noqa: E402
from pipeline.queries import Filters, FunnelStep  # noqa: E402
from pipeline.queries import dashboard_state  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from pipeline.warehouse.sealing import SEAL_MARGIN, seal_now  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from warehouse_report import (  # noqa: E402  (bench/warehouse_report.py)
    OTHER_DETAILS, PAGE_TARGET_S, RAW, ROLLUP, ROLLUP_SHARE_TARGET, ROLLUP_TARGET_S, load_average, machine, markdown,
    Storage, misses, page_totals, size, storage,
)
from warehouse_traffic import PROJECT, SPAN, generate_chunk, shop  # noqa: E402  (bench/warehouse_traffic.py)

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)  # logs: wide tables
CHUNK_SESSIONS = 10_000  # ≈ 450k events per insert
PILOT_SESSIONS = 2_000  # to estimate the events per session before the first slice is cut
PROGRESS_EVERY_S = 30.0


def memory(pid: int | str = "self") -> tuple[int, int]:
    """(resident, peak resident) bytes of a process, from ``/proc/<pid>/status``."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def load(client: Any, events: int, start: datetime, seed: int = 42, project_id: int = PROJECT,
         span: timedelta = SPAN, already: int = 0, server_pid: int | None = None) -> tuple[int, float]:
    """Generate and insert ``events`` events over the ``span`` from ``start``, in time order, as a
    live system inserts them: each chunk (~450k events, one insert) is the sessions that start in
    the next slice of the span, sized so the events spread evenly, and only one chunk is in memory
    at a time. ``already`` events of the same load are in the warehouse (an interrupted run with
    ``--data-dir``): the slices go on after theirs. Prints progress every 30 s (with the resident
    memory of the bench and, given ``server_pid``, of the ClickHouse server); returns (events
    inserted, seconds spent inserting)."""
    rng = np.random.default_rng(seed)
    model = shop(start, span)
    total = already + events
    visitors = max(1000, int(total / 40 * 0.7))  # ≈ 40 events per session, 1.4 sessions per visitor
    inserted, insert_seconds, generate_seconds, chunks = 0, 0.0, 0.0, 0
    # events per session, refined as chunks come; a first estimate from a pilot chunk that is not
    # inserted, so the first slice is not sized by a guess (that left a gap of a day at 30 days)
    pilot = generate_chunk(np.random.default_rng(seed + 1), model, PILOT_SESSIONS, start, visitors, project_id, span)
    per_session = pilot.num_rows / PILOT_SESSIONS
    del pilot
    began_load = reported = time.perf_counter()
    while inserted < events:
        began = time.perf_counter()
        remaining = events - inserted
        sessions = min(CHUNK_SESSIONS, max(100, int(remaining / per_session * 1.02)))
        done = (already + inserted) / total
        width = 1 - done if sessions * per_session >= remaining else sessions * per_session / total
        table = generate_chunk(rng, model, sessions, start + span * done, visitors, project_id, span * width)
        per_session = table.num_rows / sessions
        if table.num_rows > remaining:  # the last chunk: leave out a random few of its events
            keep = np.sort(rng.choice(table.num_rows, size=remaining, replace=False))
            table = table.take(pa.array(keep))
        generated = time.perf_counter()
        client.insert_arrow("events", table)
        insert_seconds += time.perf_counter() - generated
        generate_seconds += generated - began
        inserted += table.num_rows
        chunks += 1
        if chunks == 1 or inserted >= events or time.perf_counter() - reported >= PROGRESS_EVERY_S:
            reported = time.perf_counter()
            overall = inserted / (reported - began_load)
            server = f", ClickHouse server {size(memory(server_pid)[0])}" if server_pid else ""
            console.print(f"  {already + inserted:>13,} of {total:,} events ({(already + inserted) / total:6.1%})  "
                          f"{inserted / insert_seconds:,.0f}/s inserting, {overall:,.0f}/s with the generation, "
                          f"ETA {(events - inserted) / overall / 60:.1f} min; resident: bench "
                          f"{size(memory()[0])}{server}")
    console.print(f"generated {inserted:,} events in {generate_seconds:.1f} s; inserted in {insert_seconds:.1f} s "
                  f"({inserted / insert_seconds:,.0f} events/s with every materialized view)")
    return inserted, insert_seconds


# ── what each page asks ──────────────────────────────────────────────────────────────────

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
            # the p75 change: exact up to 24 hours, from the previous period's histograms beyond (≈)
            ("vital_summary (previous, p75 change ≈)", ROLLUP, lambda: q.vital_summary(client, before))
            if q.estimated(filters, "p75_change") else
            ("vital_p75_change (both periods, exact)", RAW, lambda: q.vital_p75_change(client, filters)),
            ("events_by_type", ROLLUP, lambda: q.events_by_type(client, filters, bucket)),
        ],
        "Web Vitals": [  # as it opens: LCP, breakdown by route, the Attribution details (see page_totals)
            ("vital_summary", ROLLUP, lambda: q.vital_summary(client, filters)),
            ("vital_trend", ROLLUP, lambda: q.vital_trend(client, filters, "LCP", bucket)),
            ("vital_histogram", ROLLUP, lambda: q.vital_histogram(client, filters, "LCP")),
            ("vital_breakdown (routes)", ROLLUP, lambda: q.vital_breakdown(client, filters, "LCP", "route", 500)),
            ("vital_attribution", ROLLUP, lambda: q.vital_attribution(client, filters, "LCP")),
        ],
        OTHER_DETAILS: [  # what the Details picker runs instead of the attribution
            ("navigation_timing", ROLLUP, lambda: q.navigation_timing(client, filters)),
            ("slowest_resources", ROLLUP, lambda: q.slowest_resources(client, filters, 15, 3)),
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
            ("session_breakdowns (entry, exit, sources, campaigns)", ROLLUP,
             lambda: q.session_breakdowns(client, filters)),
            ("time_on_page", ROLLUP, lambda: q.time_on_page(client, filters)),
            ("top_clicks", ROLLUP, lambda: q.top_clicks(client, filters)),
            ("form_submits", RAW, lambda: q.form_submits(client, filters)),
        ],
    }


def timed(call: Callable[[], Any], runs: int = 3) -> float:
    call()  # warm: connection, marks cache
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


# label → (span, bucket minutes): the picker's ranges and bar widths as the pages use them
# (app/time_ranges.py); RANGES are what the A/B scripts use
RANGES = {f"{key[:-1]} {key[-1]}": (TIME_RANGES[key].span, TIME_RANGES[key].bucket_minutes) for key in ("1h", "24h", "7d")}
LONG_RANGES = {f"{key[:-1]} {key[-1]}": (TIME_RANGES[key].span, TIME_RANGES[key].bucket_minutes) for key in ("30d", "90d")}


def ranges_for(days: int) -> dict[str, tuple[timedelta, int]]:
    """:data:`RANGES`, and the :data:`LONG_RANGES` that ``days`` of data reach."""
    return RANGES | {label: (span, bucket) for label, (span, bucket) in LONG_RANGES.items() if span.days <= days}


def time_pages(client: Any, end: datetime, rounds: int = 1,
               ranges: dict[str, tuple[timedelta, int]] = RANGES) -> dict[str, dict[str, list[tuple[str, str, float]]]]:
    """Each page's queries per range: (name, source, seconds) — the median of 3 warm runs; with
    ``rounds`` > 1 every query is timed in that many sweeps over all pages and ranges, one after
    the other, and keeps its fastest (on a shared machine a neighbour's burst inflates one sweep's
    numbers, rarely every sweep's)."""
    sweeps = []
    for sweep in range(1, rounds + 1):
        results: dict[str, dict[str, list[tuple[str, str, float]]]] = {}
        for label, (span, bucket) in ranges.items():
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
    for label in ranges:
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


EXPORT_DAY = """
SELECT project_id, toString(type) AS type, timestamp, event_id, path, toString(vital_name) AS vital_name, vital_value
FROM events FINAL
WHERE timestamp >= {day:Date} AND timestamp < {day:Date} + 1
"""


def export_events(client: Any, parquet: Path) -> int:
    """The raw events (``FINAL``) into one Parquet file, a day at a time so that neither the
    server nor the bench holds more than a day's rows (the sorting key has the timestamp, so
    ``FINAL`` per day is ``FINAL`` overall); returns the rows written."""
    days = client.query("SELECT DISTINCT toDate(timestamp) AS day FROM events ORDER BY day").result_rows
    rows, writer = 0, None
    try:
        for (day,) in days:
            table = client.query_arrow(EXPORT_DAY, parameters={"day": day}, settings={"max_block_size": 1_000_000})
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer:
            writer.close()
    return rows


def p75_by_route(client: Any, workdir: Path) -> dict[str, float]:
    parquet = workdir / "events.parquet"
    began = time.perf_counter()
    rows = export_events(client, parquet)
    console.print(f"exported {rows:,} rows to Parquet ({parquet.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - began:.1f} s")

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


def data_days(client: Any) -> tuple[datetime, int]:
    """A loaded warehouse's end (the minute after its newest event) and how many days its events span."""
    first, latest = client.query("SELECT min(timestamp), toStartOfMinute(max(timestamp)) FROM events "
                                 "WHERE project_id = {project:UInt32}", parameters={"project": PROJECT}).result_rows[0]
    end = latest.replace(tzinfo=timezone.utc) + timedelta(minutes=1)
    return end, max(1, round((end - first.replace(tzinfo=timezone.utc)) / timedelta(days=1)))


def fill(client: Any, server: ClickHouseServer, args: argparse.Namespace, facts: dict[str, Any]) -> datetime:
    """Load the events (or reuse a kept warehouse's), merge them and seal the closed hours;
    records what it measured in ``facts`` and returns the end of the data (the minute after it)."""
    span = timedelta(days=args.days)
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    start = end - span
    stored = client.command("SELECT count() FROM events WHERE project_id = {project:UInt32}",
                            parameters={"project": PROJECT})
    if args.skip_load and not stored:
        raise SystemExit(f"{server.data_dir} holds no events of project {PROJECT}: run once without --skip-load")
    if args.skip_load or (args.keep and stored >= args.events):  # a kept warehouse: time it again
        console.print(f"reusing the {stored:,} events kept in {server.data_dir} (loaded by an earlier run)")
        facts.update(events=stored, insert_rate=float("nan"), optimize_s=optimize(client, unmerged_only=True))
        end, facts["days"] = data_days(client)
    else:
        if stored:  # an interrupted earlier load into a kept warehouse: go on where it stopped
            console.print(f"{stored:,} events kept from an earlier run; loading the other {args.events - stored:,}")
            first = client.query("SELECT min(timestamp) FROM events WHERE project_id = {project:UInt32}",
                                 parameters={"project": PROJECT}).result_rows[0][0]
            start = first.replace(tzinfo=timezone.utc).replace(second=0, microsecond=0)
            end = start + span
        began = time.perf_counter()
        added, insert_s = load(client, args.events - stored, start, seed=42 + stored, span=span, already=stored,
                               server_pid=server.process.pid if server.process else None)
        facts.update(events=stored + added, events_loaded=added, insert_rate=added / insert_s, days=args.days,
                     load_s=time.perf_counter() - began, bench_peak=memory()[1],
                     server_peak=memory(server.process.pid)[1] if server.process else float("nan"))
        facts["optimize_s"] = optimize(client)
        console.print(f"merged every table (OPTIMIZE … FINAL) in {facts['optimize_s']:.0f} s")
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
    return end


def show(store: Storage, results: dict[str, Any]) -> None:
    """The storage and the page totals as tables on the console, ⚠ where a target is missed."""
    table = Table("table", "rows", "compressed", "uncompressed", "on disk", "/ events", title="storage")
    for t in store.tables:
        table.add_row(t.table + (" (rollup)" if t.rollup else ""), f"{t.rows:,}", size(t.compressed),
                      size(t.uncompressed), size(t.on_disk), f"{t.on_disk / max(1, store.events.on_disk):.1%}")
    console.print(table)
    share = store.rollup_share()
    console.print(f"rollups together: {share:.0%} of `events` on disk (target ≤ {ROLLUP_SHARE_TARGET:.0%})"
                  + (" ⚠" if share > ROLLUP_SHARE_TARGET else ""))
    table = Table("page", *results, title=f"page totals (target ≤ {PAGE_TARGET_S:.0f} s; rollup queries ≤ "
                                          f"{ROLLUP_TARGET_S * 1000:.0f} ms)")
    totals = {label: page_totals(pages) for label, pages in results.items()}
    for page in next(iter(totals.values())):
        table.add_row(page, *(f"{totals[label][page] * 1000:.0f} ms" + (" ⚠" if totals[label][page] > PAGE_TARGET_S
                                                                       else "") for label in results))
    console.print(table)
    for miss in misses(results):
        console.print(f"  over a target: {miss}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events to load (default 10,000,000)")
    parser.add_argument("--days", type=int, default=7,
                        help="spread the events over this many days ending now (default 7); 30 and 90 d ranges "
                             "are timed when the data reaches them")
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
    if args.events < 1 or args.days < 1 or args.rounds < 1:
        parser.error("--events, --days and --rounds must be at least 1")
    facts: dict[str, Any] = {"machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    facts["load_before"], facts["rounds"] = facts["machine"]["load"], args.rounds
    console.print(f"machine: {facts['machine']['cores']} cores, {facts['machine']['cpu']}, load {facts['load_before']}")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as scratch:
        with ClickHouseServer(args.keep or Path(scratch) / "warehouse") as server:
            client = server.client(send_receive_timeout=3600)
            apply_migrations(client)
            end = fill(client, server, args, facts)
            store = storage(client)
            console.print("page queries (ms):")
            results = time_pages(client, end - timedelta(minutes=1), args.rounds, ranges_for(facts["days"]))
            ratio = p75_by_route(client, Path(scratch))
            console.print(f"raw LCP p75 by route: ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars/Parquet "
                          f"{ratio['polars_s'] * 1000:.0f} ms, ratio {ratio['clickhouse_s'] / ratio['polars_s']:.2f}")
    facts["load_after"] = load_average()
    show(store, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(facts, store, results, ratio, SEAL_MARGIN.seconds))
    console.print(f"summary written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
