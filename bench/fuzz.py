"""Fuzz the collector at volume: hostile requests to every endpoint, by the hundred thousand.

    .venv/bin/python bench/fuzz.py                         # own Kafka + ClickHouse, 100,000 requests
    .venv/bin/python bench/fuzz.py --requests 20000 --concurrency 32 --seed 7
    .venv/bin/python bench/fuzz.py --write-docs            # the run into docs/benchmarks.md

The requests are the fuzz test's (:mod:`tests.support.fuzz`, hypothesis strategies: hurt
envelopes, unified documents, Sentry envelopes and store events, pixels, WebSocket messages,
preflights, health checks and paths next to the real ones), drawn in ``--generators`` child
processes and sent over ``--concurrency`` keep-alive connections to ``vigil collect``
(started as ``bench/collector.py`` starts it, rate limits off, with a real Kafka broker and
the embedded ClickHouse unless ``--kafka``/``--clickhouse`` name running ones). Every answer
is checked as the test checks it (:mod:`tests.support.fuzz_checks`): never a 5xx, never a
hang, every refusal a 4xx with its reason, every 2xx's counts adding up to the events sent.

Prints the status counts per endpoint, p50/p99 latency, and the first violations found; exits
1 if there was any violation (a 5xx and a hang among them), else 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.collector import _settings_from, machine, start_collector, stop, write_docs  # noqa: E402
from pipeline.warehouse import projects  # noqa: E402
from pipeline.broker.topics import ensure_topics  # noqa: E402
from pipeline.warehouse.client import connect  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from tests.support.fuzz import ENDPOINTS, FuzzRequest, Target  # noqa: E402
from tests.support.fuzz_checks import Answer, send, violations  # noqa: E402
from tests.support.kafka import KafkaBroker  # noqa: E402

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

HEADING = "## Fuzzing the collector"
BATCH = 2_000  # examples per hypothesis run in a generator (a run's memory grows with its examples)
CHUNK = 50  # requests per message from a generator process


# ── generating: hypothesis in child processes ──────────────────────────────────────────


def generate(target: Target, seed: int, count: int, out: multiprocessing.Queue) -> None:
    """Draw ``count`` requests (every endpoint about equally often) into ``out``, in chunks; then None."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from tests.support.fuzz import any_request

    strategy = any_request(target)
    chunk: list[FuzzRequest] = []
    made = 0
    run = 0
    while made < count:
        examples = min(BATCH, count - made)

        @hypothesis_seed(seed * 1_000_003 + run)
        @settings(max_examples=examples, phases=[Phase.generate], database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def draw(request: FuzzRequest) -> None:
            nonlocal made
            if made < count:
                chunk.append(request)
                made += 1
                if len(chunk) == CHUNK:
                    out.put(list(chunk))
                    chunk.clear()

        draw()
        run += 1
    if chunk:
        out.put(chunk)
    out.put(None)


# ── sending and checking ───────────────────────────────────────────────────────────────


@dataclass
class Tally:
    """Everything the senders saw, by endpoint."""

    labels: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    violations: Counter = field(default_factory=Counter)  # by kind
    examples: list[str] = field(default_factory=list)  # the first few, in full
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: FuzzRequest, answer: Answer, found: list[str]) -> None:
        with self.lock:
            self.sent += 1
            self.labels[request.endpoint].update(answer.labels)
            self.latency_ms[request.endpoint].append(answer.seconds * 1000)
            for violation in found:
                self.violations[f"{request.endpoint}: {violation.split(':', 1)[0][:60]}"] += 1
            if found and len(self.examples) < 10:
                self.examples.append(f"{request!r:.500}\n  → {found!r:.300}")


def sender(requests: queue.Queue, base_url: str, timeout: float, tally: Tally) -> None:
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        while (request := requests.get()) is not None:
            answer = send(request, base_url, http, timeout)
            tally.add(request, answer, violations(request, answer))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# ── report ─────────────────────────────────────────────────────────────────────────────


def status_table(tally: Tally) -> Table:
    statuses = sorted({label for counts in tally.labels.values() for label in counts})
    table = Table(title="answers per endpoint (WebSocket: the handshake, then ws:<status> per message)")
    for column in ("endpoint", "requests", *statuses, "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for endpoint in ENDPOINTS:
        latencies = tally.latency_ms.get(endpoint, [])
        counts = tally.labels.get(endpoint, Counter())
        table.add_row(endpoint, f"{len(latencies):,}", *(f"{counts[s]:,}" if counts[s] else "" for s in statuses),
                      f"{percentile(latencies, 0.5):.1f}", f"{percentile(latencies, 0.99):.1f}")
    every = [ms for values in tally.latency_ms.values() for ms in values]
    total = Counter()
    for counts in tally.labels.values():
        total.update(counts)
    table.add_row("all", f"{tally.sent:,}", *(f"{total[s]:,}" for s in statuses),
                  f"{percentile(every, 0.5):.1f}", f"{percentile(every, 0.99):.1f}", style="bold")
    return table


def markdown(tally: Tally, info: dict[str, str], args: argparse.Namespace, seconds: float, commit: str) -> str:
    statuses = sorted({label for counts in tally.labels.values() for label in counts})
    rows = []
    for endpoint in [*ENDPOINTS, "all"]:
        if endpoint == "all":
            counts = Counter()
            for per in tally.labels.values():
                counts.update(per)
            latencies = [ms for values in tally.latency_ms.values() for ms in values]
        else:
            counts, latencies = tally.labels.get(endpoint, Counter()), tally.latency_ms.get(endpoint, [])
        cells = " | ".join(f"{counts[s]:,}" if counts[s] else "" for s in statuses)
        rows.append(f"| {endpoint} | {len(latencies):,} | {cells} | {percentile(latencies, 0.5):.1f} | "
                    f"{percentile(latencies, 0.99):.1f} |")
    found = "\n".join(f"- {count:,} × {kind}" for kind, count in tally.violations.most_common()) or "- none"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""{HEADING}

`bench/fuzz.py` ({when}, commit `{commit}`): {tally.sent:,} hostile requests drawn from the fuzz
test's hypothesis strategies (`tests/support/fuzz.py`, seed {args.seed}) over {args.concurrency}
keep-alive connections to `vigil collect` ({args.workers} worker(s), rate limits off) with a real
Kafka broker and the embedded ClickHouse, in {seconds:,.0f} s. Every answer checked as the test
checks it (`tests/support/fuzz_checks.py`).

Machine: {info['cores']} cores ({info['cpu']}), {info['memory']}, Linux {info['kernel']},
Python {info['python']}; load average at the start {info['load']} (a shared development
machine: other sessions' tests and brokers ran at the same time).

| endpoint | requests | {' | '.join(statuses)} | p50 ms | p99 ms |
|---|---:|{'---:|' * len(statuses)}---:|---:|
{chr(10).join(rows)}

Violations (kind: count):

{found}

`ws` counts the handshake (`101` accepted) and then `ws:<status>` for each message's reply
(`ws-close:1009`: a message over the size limit closes the socket, as designed);
`hang` is no answer within {args.timeout:g} s, `dropped` a connection closed without an answer.
Re-run with `.venv/bin/python bench/fuzz.py --write-docs`.
"""


def commit_of(repo: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                           text=True).stdout.strip()
    return result.stdout.strip() + (" + uncommitted changes" if dirty else "")


# ── main ───────────────────────────────────────────────────────────────────────────────


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests to send (default 100,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--generators", type=int, default=2, help="processes drawing requests (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="collector worker processes (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed (default 1)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds without an answer = a hang (default 15)")
    parser.add_argument("--kafka", help="use this running broker (host:port) instead of starting one")
    parser.add_argument("--clickhouse", help="use this ClickHouse (http://host:port) instead of starting one")
    parser.add_argument("--write-docs", action="store_true", help=f"write the run under '{HEADING}' in docs/benchmarks.md")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    info = machine()
    commit = commit_of(REPO)
    console.print(f"[bold]machine[/]: {info['cores']} cores, {info['cpu']}, load average {info['load']}; commit {commit}")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-bench-fuzz-")))
        if args.kafka:
            bootstrap = args.kafka
        else:
            with console.status("starting Kafka"):
                bootstrap = stack.enter_context(KafkaBroker(scratch / "kafka")).bootstrap
        if args.clickhouse:
            clickhouse_env = {"VIGIL_CLICKHOUSE_URL": args.clickhouse}
        else:
            with console.status("starting ClickHouse"):
                clickhouse_env = stack.enter_context(ClickHouseServer(scratch / "clickhouse")).env
        env = {**clickhouse_env, "VIGIL_KAFKA_BROKERS": bootstrap, "VIGIL_EVENTS_TOPIC": "vigil.fuzz"}
        settings = _settings_from(env)
        client = connect(settings)
        apply_migrations(client)
        fuzzed, other = projects.ensure(client, "fuzz"), projects.ensure(client, "fuzz-other")
        client.close()
        ensure_topics(bootstrap, {"vigil.fuzz": settings.topic_partitions})
        target = Target(fuzzed.id, fuzzed.key, other.key)
        with console.status("starting vigil collect"):
            collector, url = start_collector(env, args.workers, scratch / "collector.log")
        stack.callback(stop, collector)

        drawn: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue(maxsize=64)
        shares = [args.requests // args.generators + (i < args.requests % args.generators) for i in range(args.generators)]
        generators = [multiprocessing.get_context("spawn").Process(target=generate, args=(target, args.seed + i, n, drawn),
                                                                   daemon=True) for i, n in enumerate(shares)]
        for process in generators:
            process.start()
        requests: queue.Queue = queue.Queue(maxsize=args.concurrency * 4)
        tally = Tally()
        senders = [threading.Thread(target=sender, args=(requests, url, args.timeout, tally), daemon=True)
                   for _ in range(args.concurrency)]
        for thread in senders:
            thread.start()
        started = time.monotonic()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), TextColumn("{task.fields[found]}"))
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("fuzzing", total=args.requests, found="")
            finished = 0
            while finished < len(generators):
                try:
                    chunk = drawn.get(timeout=1)
                except queue.Empty:
                    chunk = []
                    if not any(process.is_alive() for process in generators):
                        raise SystemExit("a generator process died; see its traceback above")
                if chunk is None:
                    finished += 1
                    continue
                for request in chunk:
                    requests.put(request)
                progress.update(task, completed=tally.sent,
                                found=f"{sum(tally.violations.values()):,} violation(s)" if tally.violations else "")
            for _ in senders:
                requests.put(None)
            for thread in senders:
                thread.join()
            progress.update(task, completed=tally.sent)
        seconds = time.monotonic() - started

    console.print(status_table(tally))
    console.print(f"{tally.sent:,} requests in {seconds:,.0f} s ({tally.sent / seconds:,.0f}/s)")
    if tally.violations:
        console.print(f"[red]{sum(tally.violations.values()):,} violation(s):[/]")
        for kind, count in tally.violations.most_common():
            console.print(f"  {count:,} × {kind}")
        console.print("first examples:")
        for example in tally.examples:
            console.print(example, markup=False)
    else:
        console.print("[green]no violations: no 5xx, no hang, every refusal a 4xx with its reason, every 2xx adds up[/]")
    if args.write_docs:
        write_docs(markdown(tally, info, args, seconds, commit), HEADING)
        console.print("written to docs/benchmarks.md")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
