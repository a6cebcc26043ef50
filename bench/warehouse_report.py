"""What ``bench/warehouse.py`` measured, as numbers and as Markdown: the machine, storage per
table (rows, compressed and uncompressed bytes, bytes on disk, from ``system.parts``), the
rollups' share of the ``events`` table, and every page's query times against the targets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machine_facts import load_average, machine  # noqa: F401  (bench/machine_facts.py; warehouse.py takes them from here)

PAGE_TARGET_S = 1.0  # a page's queries together
ROLLUP_TARGET_S = 0.15  # one query that reads a rollup (issue 16: ≤ 150 ms at 30 d)
ROLLUP_SHARE_TARGET = 0.20  # the rollups together against the `events` table's bytes on disk (issue 16)
RAW, ROLLUP = "raw", "rollup"
OTHER_DETAILS = "Web Vitals, other details"  # the Web Vitals Details picker's other choices
OVER = " ⚠"

Timings = dict[str, dict[str, list[tuple[str, str, float]]]]  # range → page → (query, source, seconds)


# ── storage ──────────────────────────────────────────────────────────────────────────────

STORAGE = """
SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(bytes_on_disk)
FROM system.parts
WHERE database = currentDatabase() AND active
GROUP BY table
ORDER BY table
"""
VIEWS = """
SELECT create_table_query FROM system.tables
WHERE database = currentDatabase() AND engine = 'MaterializedView'
"""
VIEW_TARGET = re.compile(r"\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?")


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    compressed: int  # the columns' data, compressed
    uncompressed: int
    on_disk: int  # everything the active parts hold: data, marks, indexes
    rollup: bool  # written by a materialized view (fed from `events`), not by a client


@dataclass(frozen=True)
class Storage:
    tables: list[TableSize]

    @property
    def events(self) -> TableSize:
        return next(t for t in self.tables if t.table == "events")

    @property
    def rollups(self) -> list[TableSize]:
        return [t for t in self.tables if t.rollup]

    def rollup_share(self) -> float:
        """The rollups' bytes on disk together, as a share of `events`' bytes on disk."""
        return sum(t.on_disk for t in self.rollups) / max(1, self.events.on_disk)


def storage(client: Any) -> Storage:
    """Every table that holds rows, with the tables the materialized views write marked as rollups."""
    targets = {match.group(1) for (query,) in client.query(VIEWS).result_rows
               if (match := VIEW_TARGET.search(query))}
    rows = client.query(STORAGE).result_rows
    return Storage([TableSize(table, int(n), int(c), int(u), int(d), table in targets)
                    for table, n, c, u, d in rows if n])


def size(count: float) -> str:
    """Bytes in binary units, as ClickHouse's formatReadableSize writes them."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.2f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def storage_lines(store: Storage) -> list[str]:
    share = store.rollup_share()
    rollups = store.rollups
    lines = ["| table | rows | compressed | uncompressed | on disk | on disk / `events` |", "|---|---|---|---|---|---|"]
    for t in store.tables:
        name = f"`{t.table}`" + (" (rollup)" if t.rollup else "")
        lines.append(f"| {name} | {t.rows:,} | {size(t.compressed)} | {size(t.uncompressed)} | {size(t.on_disk)} | "
                     f"{t.on_disk / max(1, store.events.on_disk):.1%} |")
    mark = OVER if share > ROLLUP_SHARE_TARGET else ""
    lines += ["", f"The {len(rollups)} rollups together: {sum(t.rows for t in rollups):,} rows, "
              f"{size(sum(t.on_disk for t in rollups))} on disk = **{share:.0%}** of `events`' "
              f"{size(store.events.on_disk)}{mark} (target ≤ {ROLLUP_SHARE_TARGET:.0%}); compressed data "
              f"{sum(t.compressed for t in rollups) / max(1, store.events.compressed):.0%}, uncompressed "
              f"{sum(t.uncompressed for t in rollups) / max(1, store.events.uncompressed):.0%} of `events`'."]
    return lines


# ── pages ────────────────────────────────────────────────────────────────────────────────


def page_totals(timings: dict[str, list[tuple[str, str, float]]]) -> dict[str, float]:
    """Seconds per page as a viewer waits for it: the sum of its queries. The Web Vitals page runs
    one of its three details at a time, so it counts three times: as it opens (attribution) and
    with each other choice of its Details picker (:data:`OTHER_DETAILS`) in place of the attribution."""
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


def page_lines(results: Timings, how: str) -> list[str]:
    """The pages' totals per range, then every query's time per range, ⚠ where a target is missed."""
    labels = list(results)
    first = labels[0]
    totals = {label: page_totals(results[label]) for label in labels}
    lines = [f"| page | {' | '.join(labels)} |", "|---" * (len(labels) + 1) + "|"]
    for page in totals[first]:
        cells = [f"{totals[label][page] * 1000:.0f} ms{OVER if totals[label][page] > PAGE_TARGET_S else ''}"
                 for label in labels]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    lines += ["", f"Each query ({how}, ms; rollup target ≤ {ROLLUP_TARGET_S * 1000:.0f} ms, raw queries are "
              "drill-downs with no target of their own):", "",
              f"| page | query | source | {' | '.join(labels)} |", "|---" * (len(labels) + 3) + "|"]
    for page, rows in results[first].items():
        for index, (name, source, _) in enumerate(rows):
            cells = []
            for label in labels:
                seconds = results[label][page][index][2]
                cells.append(f"{seconds * 1000:.0f}{OVER if source == ROLLUP and seconds > ROLLUP_TARGET_S else ''}")
            lines.append(f"| {page} | `{name}` | {source} | " + " | ".join(cells) + " |")
    return lines


def misses(results: Timings) -> list[str]:
    """Every page total over 1 s and every rollup query over 150 ms, as "range page (query) ms"."""
    found = []
    for label, pages in results.items():
        found += [f"{label} {page} {seconds * 1000:.0f} ms" for page, seconds
                  in page_totals(pages).items() if seconds > PAGE_TARGET_S]
        found += [f"{label} {page} `{name}` {seconds * 1000:.0f} ms" for page, rows in pages.items()
                  for name, source, seconds in rows if source == ROLLUP and seconds > ROLLUP_TARGET_S]
    return found


# ── the summary ──────────────────────────────────────────────────────────────────────────


def load_lines(facts: dict[str, Any]) -> list[str]:
    """The load and insert-cost bullets, or what a ``--skip-load`` run reused instead."""
    if math.isnan(facts["insert_rate"]):
        return ["- Data: the warehouse an earlier run loaded (reused, new migrations applied)."]
    return [f"- Load: {facts['insert_rate']:,.0f} events/s inserted with every materialized view "
            f"(Arrow batches of ~450k events in time order, {facts['load_s'] / 60:.1f} min with the generation: "
            f"{facts['events_loaded'] / facts['load_s']:,.0f} events/s overall; peak memory of the bench "
            f"{size(facts['bench_peak'])}, of the ClickHouse server {size(facts['server_peak'])}), then "
            f"`OPTIMIZE … FINAL` on every table ({facts['optimize_s']:.0f} s).",
            f"- A processor-sink-shaped insert (20,000 rows, Native, clickhouse-connect): "
            f"{facts['sink_with_views'] * 1000:.0f} ms with every view, {facts['sink_without_views'] * 1000:.0f} ms "
            f"into a copy of `events` without views (medians of 5, alternating)."]


def markdown(facts: dict[str, Any], store: Storage, results: Timings, ratio: dict[str, float],
             seal_margin_s: int) -> str:
    how = ("median of 3 warm runs" if facts["rounds"] == 1
           else f"median of 3 warm runs, the fastest of {facts['rounds']} sweeps over every page and range")
    missed = misses(results)
    lines = [f"Run {facts['date']}: {facts['events']:,} events over {facts['days']} days ending at the run; "
             f"machine: {facts['machine']['cores']} cores, {facts['machine']['cpu']}; load average before "
             f"{facts['load_before']}, after {facts['load_after']}.", "",
             *load_lines(facts),
             f"- Closed hours' counts sealed before timing (`audience_hour_seal` refreshed once the last insert "
             f"was {seal_margin_s} s old, {facts['seal_wait_s']:.0f} s of waiting), as a running warehouse "
             "does within a minute.",
             "", "Storage (active parts, after the merges):", "", *storage_lines(store),
             "", f"Pages (sum of their queries; target ≤ {PAGE_TARGET_S:.0f} s, {how}):", "",
             *page_lines(results, how),
             "", ("Over a target: " + "; ".join(missed) + ".") if missed else "Every target met.",
             "", f"Raw-table LCP p75 by route over all {ratio['samples']:,} LCP measurements ({ratio['routes']} "
             f"routes, `FINAL`, exact quantiles): ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars on the "
             f"same rows in Parquet {ratio['polars_s'] * 1000:.0f} ms — ratio ClickHouse/polars "
             f"{ratio['clickhouse_s'] / ratio['polars_s']:.2f} (same run, medians of 5, answers equal)."]
    return "\n".join(lines) + "\n"
