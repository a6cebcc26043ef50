"""Processor throughput: events/s from a pre-filled ``vigil.events`` into ClickHouse.

    .venv/bin/python bench/processor.py              # 600,000 events, own Kafka + ClickHouse
    .venv/bin/python bench/processor.py --events 50000
    .venv/bin/python bench/processor.py --rounds 5     # five baseline + processor pairs, and the median
    .venv/bin/python bench/processor.py --rounds 5 --null-table   # inserts into a Null table: ClickHouse's own cost left out

Starts a real Kafka broker and the embedded ClickHouse (the test helpers, free ports,
throw-away data), fills the topic with realistic traffic (the simulator's sessions, stamped
as the collector stamps them), then in the same run measures:

1. **baseline** — a consume-only Quix Streams application on the same topic: the most any
   Quix Streams processor can do on this machine;
2. **processor** — Vigil's processor (``pipeline.stream.processor.build_app``, every step on)
   draining the topic until ClickHouse has every row (``count() FROM events FINAL``).

Both clocks start at the first consumed message (group join and imports excluded). Prints
events/s for both, their ratio, and the machine (cores, CPU model, load average — the
machine may be shared, so the load is part of the result).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer
from quixstreams import Application
from rich.console import Console
from rich.progress import Progress

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.machine_facts import one_line as machine  # noqa: E402

from pipeline import contract, settings as settings_module  # noqa: E402
from pipeline.simulation import shop_sessions  # noqa: E402
from pipeline.stream import user_agents  # noqa: E402
from pipeline.stream.processor import build_app, tune_gc  # noqa: E402
from pipeline.stream.counters import Counters  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from tests.support.kafka import KafkaBroker  # noqa: E402

console = Console(highlight=False)


def collector_messages(count: int, seed: int = 7, project_id: int = 1) -> list[tuple[bytes, bytes]]:
    """``count`` (key, value) pairs as the collector writes them: simulator traffic, stamped."""
    rng = random.Random(seed)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    messages: list[tuple[bytes, bytes]] = []
    while len(messages) < count:
        session = shop_sessions.generate_session(rng, start + timedelta(seconds=len(messages) / 100))
        for batch in session.batches:
            client = {"ip": f"203.0.113.{rng.randrange(1, 255)}", "user_agent": batch.user_agent}
            received_at = batch.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for event in contract.merge_context(batch.envelope):
                event.update(project_id=project_id, received_at=received_at, client=client)
                messages.append((event["session_id"].encode(), orjson.dumps(event)))
    return messages[:count]


def fill(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Produce the messages the way the collector does (idempotent, acks=all, lz4); seconds taken."""
    producer = Producer({
        "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
        "linger.ms": 20, "compression.type": "lz4", "batch.size": 1_000_000,
    })
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("filling the topic", total=len(messages))
        for index, (key, value) in enumerate(messages):
            while True:
                try:
                    producer.produce(topic, value, key=key)
                    break
                except BufferError:
                    producer.poll(0.05)
            if index % 5000 == 0:
                producer.poll(0)
                progress.update(task, completed=index)
        remaining = producer.flush(60)
    if remaining:
        raise RuntimeError(f"{remaining} messages were not acknowledged by Kafka within 60 s")
    return time.perf_counter() - started


@dataclasses.dataclass
class Run:
    events: int
    seconds: float  # wall clock, first message consumed → last one done
    cpu_seconds: float  # this process's CPU time (all threads) over the same span
    threads: dict[str, float] = dataclasses.field(default_factory=dict)  # CPU seconds by thread, same span
    drained: float = 0.0  # wall clock, first message consumed → last one consumed (0: not measured)
    checkpoints: int = 0  # the processor's checkpoints within the span, and the stream's time in them
    checkpoint_wait_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Events per CPU-second: what one uncontended core would do (the machine may be shared)."""
        return self.events / self.cpu_seconds


def consume_only(bootstrap: str, topic: str, count: int, state_dir: Path) -> Run:
    """A Quix Streams app that only consumes (bytes, no processing): the ceiling."""
    app = Application(broker_address=bootstrap, consumer_group=f"bench-baseline-{uuid.uuid4().hex[:8]}",
                      auto_offset_reset="earliest", commit_interval=1.0, loglevel="WARNING",
                      state_dir=state_dir)
    sdf = app.dataframe(app.topic(topic, value_deserializer="bytes", key_deserializer="bytes"))
    seen = 0
    first = last = cpu_first = cpu_last = 0.0

    def tally(_value: Any) -> None:
        nonlocal seen, first, last, cpu_first, cpu_last
        if seen == 0:
            first, cpu_first = time.perf_counter(), time.process_time()
        seen += 1
        if seen >= count:
            last, cpu_last = time.perf_counter(), time.process_time()
            app.stop()

    sdf.update(tally)
    app.run()
    return Run(seen, last - first, cpu_last - cpu_first)


def processor(settings: settings_module.Settings, count: int) -> Run:
    """Vigil's processor until ClickHouse holds ``count`` rows (all steps, real sink)."""
    counters = Counters(interval=3600)
    user_agents.warm_up()
    tune_gc()
    stream = build_app(settings, counters=counters, consumer_group=f"bench-processor-{uuid.uuid4().hex[:8]}")
    first = last = drained = cpu_first = cpu_last = 0.0
    threads_first: dict[str, float] = {}
    threads_last: dict[str, float] = {}
    # the checkpoints (count, seconds the stream waited in them) when the clock starts and stops
    checkpoints_first = checkpoints_last = (0, 0.0)

    def watch() -> None:
        nonlocal first, last, drained, cpu_first, cpu_last, threads_first, threads_last
        nonlocal checkpoints_first, checkpoints_last
        while counters.consumed == 0:
            time.sleep(0.001)
        first, cpu_first, threads_first = time.perf_counter(), time.process_time(), thread_cpu_seconds()
        checkpoints_first = (counters.checkpoints, counters.checkpoint_wait_s)
        while counters.consumed < count:
            time.sleep(0.005)
        drained = time.perf_counter()
        while counters.inserted < count:
            time.sleep(0.005)
        last, cpu_last, threads_last = time.perf_counter(), time.process_time(), thread_cpu_seconds()
        checkpoints_last = (counters.checkpoints, counters.checkpoint_wait_s)
        stream.stop()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stream.run()
    finally:
        stream.close()
    watcher.join(5)
    if sum(counters.dropped.values()):
        console.print(f"[yellow]drops during the run: {dict(counters.dropped)}[/]")
    threads = {name: seconds - threads_first.get(name, 0.0) for name, seconds in threads_last.items()}
    return Run(counters.inserted, last - first, cpu_last - cpu_first, threads, drained - first,
               checkpoints_last[0] - checkpoints_first[0], checkpoints_last[1] - checkpoints_first[1])


def null_tables(client: Any, settings: settings_module.Settings) -> settings_module.Settings:
    """``--null-table``: a database whose ``events`` is a Null-engine copy (the server reads each
    insert and keeps nothing, no views run) beside a real ``sourcemaps`` for the processor's
    look-ups; the settings pointing the processor at it."""
    database = f"bench_null_{uuid.uuid4().hex[:6]}"  # generated here, no input
    client.command(f"CREATE DATABASE {database}")
    client.command(f"CREATE TABLE {database}.events AS {settings.clickhouse_database}.events ENGINE = Null")
    client.command(f"CREATE TABLE {database}.sourcemaps AS {settings.clickhouse_database}.sourcemaps")
    console.print(f"[yellow]--null-table: rows go to {database}.events (ENGINE = Null): the insert is sent and "
                  "read, nothing is stored and no materialized view runs[/]")
    return dataclasses.replace(settings, clickhouse_database=database)


def thread_cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) of each thread of this process so far, by name (the main thread: "main")."""
    main_id = str(os.getpid())
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = "main" if task.name == main_id else (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def print_cpu_budget(result: Run, clickhouse_cpu: float, kafka_cpu: float) -> None:
    """Where an event's CPU goes across the machine, and the rate the cores allow at that cost.

    The processor's threads are counted from its first consumed message to its last insert;
    the servers' over the whole run (their idle time costs next to nothing).
    """
    threads = result.threads
    per_event = {  # µs of CPU per event
        "processor: stream thread (Quix + steps + sink batching)": threads.get("main", 0.0),
        "processor: insert writer + librdkafka threads": sum(v for k, v in threads.items() if k != "main"),
        "ClickHouse server (insert + materialized views)": clickhouse_cpu,
        "Kafka broker (fetches)": kafka_cpu,
    }
    per_event = {name: seconds * 1e6 / result.events for name, seconds in per_event.items()}
    total = sum(per_event.values())
    cores = os.cpu_count() or 1
    console.print("CPU per event during the processor run (µs):")
    for name, micros in per_event.items():
        console.print(f"  {name:<58} {micros:7.1f}")
    console.print(f"  {'total':<58} {total:7.1f}  → at most {cores * 1e6 / total:,.0f} events/s on {cores} "
                  f"fully busy cores; the stream thread alone allows "
                  f"{1e6 / max(per_event['processor: stream thread (Quix + steps + sink batching)'], 1e-9):,.0f}/s")


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=600_000,
                        help="events to pre-fill and drain (default 600,000: at about 20,000/s a run spans a "
                             "checkpoint, VIGIL_PROCESSOR_COMMIT_INTERVAL = 30 s, as a steady stream does)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="drain the topic this many times, a baseline before each (default 1); prints the median")
    parser.add_argument("--null-table", action="store_true",
                        help="insert into a Null-engine copy of the events table (no views, nothing stored): the "
                             "processor's whole path with the server's work cut to reading the insert")
    args = parser.parse_args()

    console.print(f"machine: {machine()}")
    with KafkaBroker(topics={}) as kafka, ClickHouseServer() as clickhouse:
        settings = dataclasses.replace(
            clickhouse.settings, kafka_brokers=kafka.bootstrap, events_topic=f"bench.events.{uuid.uuid4().hex[:6]}",
            dlq_topic=f"bench.dlq.{uuid.uuid4().hex[:6]}", samples_topic=f"bench.samples.{uuid.uuid4().hex[:6]}",
            data_dir=clickhouse.data_dir / "processor",
        )
        from pipeline.broker.topics import ensure_topics

        ensure_topics(kafka.bootstrap, {settings.events_topic: settings.topic_partitions,
                                        settings.dlq_topic: settings.topic_partitions,
                                        settings.samples_topic: settings.topic_partitions})
        apply_migrations(clickhouse.client())
        if args.null_table:
            settings = null_tables(clickhouse.client(), settings)

        console.print(f"generating {args.events:,} realistic events…")
        messages = collector_messages(args.events)
        size = sum(len(value) for _, value in messages) / len(messages)
        seconds = fill(kafka.bootstrap, settings.events_topic, messages)
        console.print(f"filled {settings.events_topic} ({settings.topic_partitions} partitions) with "
                      f"{len(messages):,} events, {size:.0f} bytes each on average, in {seconds:.1f}s")
        del messages

        clickhouse_pid, kafka_pid = clickhouse.process.pid, kafka.process.pid
        rounds: list[tuple[Run, Run]] = []
        target = "a Null table" if args.null_table else "ClickHouse"
        for number in range(1, args.rounds + 1):
            label = f"round {number}/{args.rounds}: " if args.rounds > 1 else ""
            baseline = consume_only(kafka.bootstrap, settings.events_topic, args.events, settings.data_dir)
            console.print(f"{label}baseline  (Quix Streams, consume only): {baseline.rate:>9,.0f} events/s "
                          f"({baseline.events:,} in {baseline.seconds:.2f}s; {baseline.cpu_rate:,.0f} per CPU-second)")
            clickhouse_cpu, kafka_cpu = process_cpu_seconds(clickhouse_pid), process_cpu_seconds(kafka_pid)
            result = processor(settings, args.events)
            clickhouse_cpu = process_cpu_seconds(clickhouse_pid) - clickhouse_cpu
            kafka_cpu = process_cpu_seconds(kafka_pid) - kafka_cpu
            console.print(f"{label}processor (every step → {target}):   {result.rate:>9,.0f} events/s "
                          f"({result.events:,} in {result.seconds:.2f}s; {result.cpu_rate:,.0f} per CPU-second)")
            console.print(f"  (the stream read the last message after {result.drained:.2f}s; the last rows were "
                          f"in ClickHouse {result.seconds - result.drained:.2f}s later; {result.checkpoints} "
                          f"checkpoint(s) meanwhile, the stream waited {result.checkpoint_wait_s:.2f}s in them)")
            console.print(f"  ratio processor / baseline: {result.rate / baseline.rate:.2f} "
                          f"(per CPU-second: {result.cpu_rate / baseline.cpu_rate:.2f})")
            console.print(f"  ClickHouse server CPU during the processor run: {clickhouse_cpu:.1f}s "
                          f"({result.events / max(clickhouse_cpu, 1e-9):,.0f} events per CPU-second)")
            print_cpu_budget(result, clickhouse_cpu, kafka_cpu)
            rounds.append((baseline, result))
        client = clickhouse.client()
        rows, unique = client.query("SELECT count(), uniqExact(event_id) FROM events FINAL").result_rows[0]
        console.print(f"ClickHouse: {rows:,} rows, {unique:,} distinct event ids"
                      + (" (--null-table: nothing is stored)" if args.null_table else
                         " (every round wrote the same events again; FINAL collapses them)" if args.rounds > 1 else ""))
        if args.rounds > 1:
            rates = sorted(result.rate for _, result in rounds)
            ratios = sorted(result.rate / baseline.rate for baseline, result in rounds)
            console.print(f"processor over {args.rounds} rounds: median {statistics.median(rates):,.0f} events/s "
                          f"(min {rates[0]:,.0f}, max {rates[-1]:,.0f}); ratio to the same round's baseline: "
                          f"median {statistics.median(ratios):.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f})")
        console.print(f"machine after: {machine()}")
        if not args.null_table and (rows != args.events or unique != args.events):
            console.print("[red]row count does not match the events produced[/]")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
