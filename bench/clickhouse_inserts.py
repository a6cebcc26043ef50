"""What one insert of the processor's rows costs the ClickHouse server, by insert size.

    .venv/bin/python bench/clickhouse_inserts.py                          # 200,000 rows in 2k…200k-row inserts
    .venv/bin/python bench/clickhouse_inserts.py --sizes 10000,50000      # only these insert sizes
    .venv/bin/python bench/clickhouse_inserts.py --insert-setting optimize_on_insert=1   # another setting per insert

The processor's sink sends rows in chunks (``VIGIL_SINK_BATCH_SIZE``, or fewer once the oldest
waited ``VIGIL_SINK_MAX_DELAY``); on this two-core machine the embedded ClickHouse shares the
cores with the processor, so the server's CPU per event is part of the processor's ceiling
(``bench/processor.py`` prints it as one line of its CPU budget). This measures it alone:

1. turns realistic traffic (the simulator's sessions, as ``bench/processor.py`` makes them)
   into rows with the processor's own steps, once;
2. starts the embedded ClickHouse (``vigil clickhouse`` on a free port, throw-away data),
   and for each insert size inserts every row into a fresh database with the real
   migrations (the ``events`` table and every materialized view on it), the way the sink
   does (clickhouse-connect, compiled Native codec, one column-oriented insert per chunk, the
   sink's insert settings unless ``--insert-setting`` changes one), and reads the server
   process's CPU time from /proc before and after;
3. fits ``server CPU = fixed × inserts + per-row × rows`` over the sizes: the fixed part is
   what every insert costs however small (a part per table, each view's query per insert).

(Each view's share is not measured: inserting with one view at a time, the views' figures
did not add up to the whole, and a view no insert runs — the refreshable ``audience_hour_seal``
— came out as costly as the others; the differences were within the noise of this machine.)

Prints the machine (cores, CPU model, load average: the machine may be shared).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from processor import collector_messages, machine, process_cpu_seconds  # noqa: E402
from pipeline.processor import rows as processor_rows  # noqa: E402
from pipeline.processor.app import processor_steps  # noqa: E402
from pipeline.processor.batches import process_many  # noqa: E402
from pipeline.processor.sink import EVENT_INSERT_SETTINGS  # noqa: E402
from pipeline.processor.steps import Options  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.warehouse.client import connect  # noqa: E402
from pipeline.warehouse.migrate import apply_migrations  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402

console = Console(highlight=False)
SETTLE_SECONDS = 3.0  # after the last insert: background merges the inserts set off are counted too


@dataclasses.dataclass
class Measure:
    size: int
    inserts: int
    rows: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def micros_per_row(self) -> float:
        return self.cpu_seconds * 1e6 / self.rows


def make_rows(count: int, settings: Settings) -> list[tuple]:
    """The processor's rows (``rows.COLUMNS`` order) for ``count`` realistic events."""
    outcomes = process_many([value for _key, value in collector_messages(count)],
                            processor_steps(Options.from_settings(settings)))
    return [outcome.row for outcome in outcomes if outcome.row is not None]


def fresh_database(server: ClickHouseServer) -> Settings:
    """A new database with every migration applied (the events table and every view on it)."""
    database = f"bench_inserts_{uuid.uuid4().hex[:8]}"  # generated here, no input
    server.client().command(f"CREATE DATABASE {database}")
    settings = dataclasses.replace(server.settings, clickhouse_database=database)
    client = connect(settings)
    apply_migrations(client)
    client.close()
    return settings


def insert_all(server: ClickHouseServer, settings: Settings, rows: list[tuple], size: int,
               insert_settings: dict[str, str], progress: Progress) -> Measure:
    """Every row into ``events`` in inserts of ``size`` rows, as the processor's sink sends them."""
    client = connect(settings, compress=False, native_codec="rust")
    context = client.create_insert_context("events", column_names=list(processor_rows.COLUMNS),
                                           column_oriented=True, settings=insert_settings)
    task = progress.add_task(f"{size:,}-row inserts", total=len(rows))
    pid = server.process.pid
    cpu, started = process_cpu_seconds(pid), time.perf_counter()
    inserts = 0
    for start in range(0, len(rows), size):
        context.data = list(zip(*rows[start:start + size]))
        client.data_insert(context)
        inserts += 1
        progress.update(task, completed=min(start + size, len(rows)))
    wall = time.perf_counter() - started
    time.sleep(SETTLE_SECONDS)
    cpu = process_cpu_seconds(pid) - cpu
    progress.remove_task(task)
    client.close()
    return Measure(size, inserts, len(rows), cpu, wall)


def fit(measures: list[Measure]) -> tuple[float, float]:
    """Least squares ``cpu = fixed × inserts + per_row × rows``: (ms per insert, µs per row)."""
    a11 = sum(m.inserts * m.inserts for m in measures)
    a12 = sum(m.inserts * m.rows for m in measures)
    a22 = sum(m.rows * m.rows for m in measures)
    b1 = sum(m.inserts * m.cpu_seconds for m in measures)
    b2 = sum(m.rows * m.cpu_seconds for m in measures)
    determinant = a11 * a22 - a12 * a12
    fixed = (b1 * a22 - b2 * a12) / determinant
    per_row = (a11 * b2 - a12 * b1) / determinant
    return fixed * 1e3, per_row * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to insert per size (default 200,000)")
    parser.add_argument("--sizes", default="2000,10000,20000,50000,200000",
                        help="rows per insert, comma-separated (default 2000,10000,20000,50000,200000)")
    parser.add_argument("--insert-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a ClickHouse setting for every insert, over the sink's own "
                             f"({', '.join(f'{k}={v}' for k, v in EVENT_INSERT_SETTINGS.items())}); repeatable")
    args = parser.parse_args()
    insert_settings = {name: str(value) for name, value in EVENT_INSERT_SETTINGS.items()}
    for setting in args.insert_setting:
        name, equals, value = setting.partition("=")
        if not equals or not name.strip():
            parser.error(f"--insert-setting wants NAME=VALUE, got {setting!r}")
        insert_settings[name.strip()] = value.strip()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if len(sizes) < 2:
        parser.error("--sizes needs at least two sizes to tell the fixed cost from the per-row cost")

    console.print(f"machine: {machine()} · {platform.python_implementation()}")
    console.print("settings of every insert: " + ", ".join(f"{k}={v}" for k, v in insert_settings.items()))
    with ClickHouseServer() as server:
        apply_migrations(server.client())  # the steps look up source maps in the server's own database
        console.print(f"turning {args.rows:,} events into rows with the processor's steps…")
        rows = make_rows(args.rows, server.settings)
        measures: list[Measure] = []
        with Progress(console=console, transient=True) as progress:
            for size in sizes:
                measure = insert_all(server, fresh_database(server), rows, size, insert_settings, progress)
                measures.append(measure)
                console.print(f"{measure.size:>8,} rows per insert: {measure.inserts:>4} inserts, server CPU "
                              f"{measure.micros_per_row:6.1f} µs/row ({measure.cpu_seconds * 1e3 / measure.inserts:7.1f} "
                              f"ms per insert), {len(rows) / measure.wall_seconds:>9,.0f} rows/s")
            fixed_ms, per_row_us = fit(measures)
            console.print(f"fit: every insert costs the server {fixed_ms:.0f} ms of CPU however small, "
                          f"plus {per_row_us:.1f} µs per row")
    console.print(f"machine after: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
