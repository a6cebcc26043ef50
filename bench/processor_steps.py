"""What each processor step costs: µs per event, measured in a loop over simulator traffic.

    .venv/bin/python bench/processor_steps.py              # 20,000 events, min of 5 passes
    .venv/bin/python bench/processor_steps.py --events 50000 --passes 7
    .venv/bin/python bench/processor_steps.py --geoip GeoLite2-City.mmdb   # put_geo with lookups

No Kafka and no ClickHouse: the messages of ``bench/processor.py`` (the simulator's sessions,
stamped as the collector stamps them) go through the processor's steps (``steps.STEPS``, then ``to_row``) one
step at a time over the whole list, each step's time divided by the events it saw; then the rows'
samples for the signals are packed (``samples.pack``, a step batch at a time). Caches
(user agents, URLs, salts) warm up in the first pass, as they do in a long-running processor;
the minimum over the passes is what the step costs when the machine lets it.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.processor import collector_messages  # noqa: E402
from pipeline.stream import geo, samples, steps, symbolication  # noqa: E402
from pipeline.stream.batches import STEP_BATCH  # noqa: E402
from pipeline.stream.processor import processor_steps, tune_gc  # noqa: E402


def one_pass(messages: list[bytes], processor: tuple[steps.Step, ...]) -> dict[str, float]:
    """Seconds per event of every step (the last one the row mapping) in one pass over ``messages``."""
    spent: dict[str, float] = {}
    values: list = list(messages)
    for step in processor:
        started = time.perf_counter()
        out = [step(value) for value in values]
        elapsed = time.perf_counter() - started
        spent[step.__name__] = elapsed / max(len(values), 1)
        values = [value for value in out if type(value) is not steps.Dropped]
    # what the processor adds per stored row for the signals: its sample, packed a step batch at a time
    started = time.perf_counter()
    for start in range(0, len(values), STEP_BATCH):
        samples.pack(values[start:start + STEP_BATCH])
    spent["samples.pack"] = (time.perf_counter() - started) / max(len(values), 1)
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--geoip", default="", help="a .mmdb for put_geo to look addresses up in (default: none)")
    args = parser.parse_args()
    # symbolicate as for releases without uploaded maps (the simulator's): the per-event cost every
    # processor pays; with maps, an error's frames cost the look-ups tests/unit/test_symbolication.py runs
    no_maps = symbolication.SourceMaps(lambda project_id, release: {}, lambda *key: None)
    processor = processor_steps(steps.Options(locate=geo.open_locator(args.geoip), source_maps=no_maps))
    console = Console()
    with console.status(f"making {args.events:,} simulator events"):
        messages = [value for _key, value in collector_messages(args.events)]
    tune_gc()
    best: dict[str, float] = {}
    for number in range(args.passes):
        with console.status(f"pass {number + 1} of {args.passes}"):
            for name, seconds in one_pass(messages, processor).items():
                best[name] = min(best.get(name, seconds), seconds)
            gc.collect()
    table = Table(title=f"µs per event, min of {args.passes} passes over {args.events:,} events "
                        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    table.add_column("step")
    table.add_column("µs", justify="right")
    for name, seconds in best.items():
        table.add_row(name, f"{seconds * 1e6:.2f}")
    table.add_row("total", f"{sum(best.values()) * 1e6:.2f}", style="bold")
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
