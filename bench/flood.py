"""One address floods the collector at full speed; does another address still get its service?

    .venv/bin/python bench/flood.py                        # own Kafka + ClickHouse, ~2 minutes
    .venv/bin/python bench/flood.py --duration 20 --flood-connections 8

What runs (the helpers of ``bench/collector.py``: real Kafka broker, embedded ClickHouse,
``vigil collect`` as users run it, ``wrk``):

1. ``vigil collect`` with its default rate limits (one worker unless ``--workers``);
2. a normal client from its own loopback address (127.0.0.3; all of 127.0.0.0/8 is
   loopback) sends one-event envelopes of the simulator's shop, one every ``--interval`` ms
   on one keep-alive connection, and times each answer;
3. first alone (its idle latency), then while ``wrk`` floods from 127.0.0.1 at full speed
   over ``--flood-connections`` connections, with the project's real key (it is public in
   every page) and bodies the collector refuses anyway: invalid JSON, and 3 KB batches of
   1,000 empty events (each refused by the contract, the costliest body per byte).

Idle and flooded phases take turns, ``--rounds`` times. Prints, per phase, the normal
client's p50/p99/max, its p99 against the median idle p99 (target ≤ 2× for the median
flooded p99), its statuses, what the flood got (requests/s, share of 429s) and the collector's
CPU. Performance is printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from statistics import median, quantiles

import httpx
import orjson
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.collector import (  # noqa: E402
    _settings_from, console, cpu_seconds, machine, run_wrk, single_event_bodies, start_collector, stop, write_bodies,
)
from pipeline.warehouse import projects  # noqa: E402
from pipeline.broker.topics import ensure_topics  # noqa: E402
from pipeline.warehouse.client import connect  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from tests.support.kafka import KafkaBroker  # noqa: E402

NORMAL_ADDRESS = "127.0.0.3"
TARGET_RATIO = 2.0
FLOODS = {
    "invalid JSON": b'{"version": 1, "events": [',
    "1,000 empty events": orjson.dumps({"version": 1, "sdk": {"name": "flood", "version": "1"}, "events": [{}] * 1000}),
}


@dataclasses.dataclass
class Phase:
    name: str
    latencies_ms: list[float]
    statuses: dict[int, int]
    flood_requests_per_s: float = 0.0
    flood_refused_share: float = 0.0  # non-2xx answers the flood got (429 once its budget is spent)
    cpu_share: float = 0.0  # collector CPU seconds per second of the phase

    def percentile(self, p: int) -> float:
        return quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


def normal_client(url: str, headers: dict[str, str], bodies: list[tuple[str, bytes]], seconds: float,
                  interval_s: float) -> tuple[list[float], dict[int, int]]:
    """One client at a steady pace from its own address: (latencies in ms, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    transport = httpx.HTTPTransport(local_address=NORMAL_ADDRESS)
    with httpx.Client(transport=transport, timeout=30) as client:
        client.post(url, content=bodies[0][1], headers={**headers, "user-agent": bodies[0][0]})  # connect
        deadline = time.monotonic() + seconds
        next_at = time.monotonic()
        index = 0
        while time.monotonic() < deadline:
            user_agent, body = bodies[index % len(bodies)]
            index += 1
            started = time.perf_counter()
            status = client.post(url, content=body, headers={**headers, "user-agent": user_agent}).status_code
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            next_at += interval_s
            time.sleep(max(0.0, next_at - time.monotonic()))
    return latencies, statuses


def run_phase(name: str, url: str, headers: dict[str, str], bodies: list[tuple[str, bytes]], pid: int,
              args: argparse.Namespace, flood: Path | None, scratch: Path) -> Phase:
    with console.status(f"{name}: {args.duration:g} s"):
        before = cpu_seconds([pid])
        started = time.monotonic()
        result: dict[str, object] = {}
        if flood is None:
            latencies, statuses = normal_client(url, headers, bodies, args.duration, args.interval / 1000)
            summary = None
        else:
            def flood_it() -> None:
                result["summary"] = run_wrk(url, flood, headers, args.duration, args.flood_connections,
                                            scratch / "wrk.json")
            flooder = threading.Thread(target=flood_it)
            flooder.start()
            time.sleep(0.5)  # the flood is at full speed before the first measured request
            latencies, statuses = normal_client(url, headers, bodies, args.duration - 1, args.interval / 1000)
            flooder.join()
            summary = result["summary"]
        elapsed = time.monotonic() - started
        phase = Phase(name, latencies, statuses, cpu_share=(cpu_seconds([pid]) - before) / elapsed)
        if summary is not None:
            seconds = summary["duration_us"] / 1e6
            phase.flood_requests_per_s = summary["requests"] / seconds
            phase.flood_refused_share = summary["errors"]["status"] / max(summary["requests"], 1)
    return phase


def report(phases: list[Phase]) -> list[str]:
    idle_p99 = median(p.percentile(99) for p in phases if p.name == "idle")
    table = Table(title=f"normal client from {NORMAL_ADDRESS}; p99 against the median idle p99 ({idle_p99:.1f} ms)")
    for column in ("phase", "requests", "statuses", "p50 ms", "p99 ms", "max ms", "p99 / idle p99",
                   "flood requests/s", "flood refused", "collector CPU"):
        table.add_column(column, justify="left" if column in ("phase", "statuses") else "right")
    lines = []
    for p in phases:
        ratio = p.percentile(99) / idle_p99
        table.add_row(p.name, str(len(p.latencies_ms)), " ".join(f"{s}×{n}" for s, n in sorted(p.statuses.items())),
                      f"{p.percentile(50):.1f}", f"{p.percentile(99):.1f}", f"{max(p.latencies_ms):.1f}",
                      f"{ratio:.2f}×", f"{p.flood_requests_per_s:,.0f}" if p.flood_requests_per_s else "-",
                      f"{p.flood_refused_share:.1%}" if p.flood_requests_per_s else "-", f"{p.cpu_share:.0%}")
        lines.append(f"| {p.name} | {len(p.latencies_ms)} | {' '.join(f'{s}×{n}' for s, n in sorted(p.statuses.items()))} "
                     f"| {p.percentile(50):.1f} | {p.percentile(99):.1f} | {max(p.latencies_ms):.1f} | {ratio:.2f}× | "
                     + (f"{p.flood_requests_per_s:,.0f} | {p.flood_refused_share:.1%}" if p.flood_requests_per_s
                        else "- | -") + f" | {p.cpu_share:.0%} |")
    console.print(table)
    for name in FLOODS:
        p99 = median(p.percentile(99) for p in phases if p.name == f"flood: {name}")
        ratio = p99 / idle_p99
        verdict = (f"{'PASS' if ratio <= TARGET_RATIO else 'MISS'}  flood of {name}: median p99 {p99:.1f} ms = "
                   f"{ratio:.2f}× the median idle p99 {idle_p99:.1f} ms (target ≤ {TARGET_RATIO:g}×)")
        console.print(verdict)
        lines.append(f"\n{verdict}")
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default 10)")
    parser.add_argument("--interval", type=float, default=20.0,
                        help="ms between the normal client's requests (default 20: 50 requests/s)")
    parser.add_argument("--flood-connections", type=int, default=8, help="wrk's connections (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="collector worker processes (default 1)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of idle/flood phases (default 2); the verdicts use medians")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    info = machine()
    console.print(f"[bold]machine[/]: {info['cores']} cores, {info['cpu']}, {info['memory']}, load {info['load']}")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-bench-flood-")))
        with console.status("starting Kafka and ClickHouse"):
            broker = stack.enter_context(KafkaBroker(scratch / "kafka"))
            server = stack.enter_context(ClickHouseServer(scratch / "clickhouse"))
        env = {**server.env, "VIGIL_KAFKA_BROKERS": broker.bootstrap}
        settings = _settings_from(env)
        client = connect(settings)
        apply_migrations(client)
        project = projects.ensure(client, "bench")
        client.close()
        ensure_topics(broker.bootstrap, {settings.events_topic: settings.topic_partitions})
        collector, base = start_collector(env, args.workers, scratch / "collector.log", rate_limits=True)
        stack.callback(stop, collector)
        url = f"{base}/api/{project.id}/events"
        headers = {"Content-Type": "application/json", "X-Vigil-Key": project.key}
        bodies = single_event_bodies(256)
        floods = {name: write_bodies(scratch / f"flood-{i}.tsv", [("flood/1.0", body)])
                  for i, (name, body) in enumerate(FLOODS.items())}
        phases = []
        for _ in range(args.rounds):  # idle and flooded phases take turns, so both meet the same machine
            for name, flood in floods.items():
                phases.append(run_phase("idle", url, headers, bodies, collector.pid, args, None, scratch))
                phases.append(run_phase(f"flood: {name}", url, headers, bodies, collector.pid, args, flood, scratch))
    lines = report(phases)
    console.print("\nmarkdown rows:\n" + "\n".join(lines))
    console.print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
