"""Collector throughput and latency — and the write-up's NestJS receiver under the same load.

    .venv/bin/python bench/collector.py                    # own Kafka + ClickHouse, ~3 minutes
    .venv/bin/python bench/collector.py --duration 30 --write-docs
    .venv/bin/python bench/collector.py --kafka 127.0.0.1:9092 --clickhouse http://127.0.0.1:8123

What runs, in one go, on this machine:

1. a real Kafka broker and the embedded ClickHouse (the test helpers: free ports,
   throw-away data) unless ``--kafka`` / ``--clickhouse`` name running ones; a ``bench``
   project to send to;
2. ``vigil collect`` as users run it, with ``--workers`` processes (default: one per core)
   and the rate limits off (the whole load comes from one address with one key);
3. load from ``wrk`` (a C load generator, Debian's ``wrk`` package) in a separate process
   on loopback: closed loop, ``--connections`` keep-alive connections, one thread. Bodies
   are realistic traffic from :mod:`pipeline.simulation` (the simulator's shop): single-event
   envelopes, then 50-event batches; every answer must be 202, and the topic must have
   grown by at least the events acknowledged;
4. the same single-event load against ``../shared/peers/seed-nest-collector`` (NestJS +
   kafkajs, copied to a temp dir, ``npm install && npm run build``) producing to the same
   broker, and once more against a one-worker collector, so the ratio is shown both
   per machine and per process.

Prints requests/s, events/s, p50/p99 latency and CPU per event for every run, the ratios
against the targets (≥ 4× NestJS requests/s with a p99 no worse; ≥ 40,000 events/s in
50-event batches), and the machine — including its load average, because a shared machine
is part of the result. ``--write-docs`` puts all of it under ``## Collector`` in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from statistics import median
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
from confluent_kafka import Consumer, TopicPartition
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import contract, projects  # noqa: E402
from pipeline.simulation import shop_sessions  # noqa: E402
from pipeline.broker.topics import ensure_topics  # noqa: E402
from pipeline.warehouse.client import connect  # noqa: E402
from pipeline.warehouse.migrate import apply_migrations  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402
from tests.support.kafka import KafkaBroker, free_ports  # noqa: E402

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)  # logs get the whole table

LUA = Path(__file__).resolve().parent / "collector.lua"
NEST_SOURCE = REPO.parent / "shared" / "peers" / "seed-nest-collector"
NEST_TOPIC = "seed.monitoring-events"
DOCS = REPO / "docs" / "benchmarks.md"
BATCH_SIZE = 50

# single: one event per request; batch50: 50 per request; single-1w: single on one worker;
# nest: single against the NestJS receiver
RUNS = ("single", "batch50", "single-1w", "nest")

TARGET_RATIO = 4.0
TARGET_BATCH_EVENTS = 40_000


# ── payloads: the simulator's shop, as single events and as 50-event batches ───────────


def synthetic_traffic(count: int, seed: int = 11) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``count`` events as (user agent, envelope minus events, event), timestamps around now."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    while len(out) < count:
        session = shop_sessions.generate_session(rng, now - timedelta(minutes=10))
        for batch in session.batches:
            batch = shop_sessions.restamped(batch, now - timedelta(seconds=rng.uniform(0, 30)))
            shell = {key: value for key, value in batch.envelope.items() if key != "events"}
            out.extend((batch.user_agent, shell, event) for event in batch.events)
    return out[:count]


def single_event_bodies(count: int) -> list[tuple[str, bytes]]:
    """One event per envelope, with its page's context: what a SDK flushing at once sends."""
    return [(ua, orjson.dumps({**shell, "events": [event]})) for ua, shell, event in synthetic_traffic(count)]


def batch_bodies(count: int) -> list[tuple[str, bytes]]:
    """50-event envelopes; each event carries its own context (merged), so pages may differ."""
    traffic = synthetic_traffic(count * BATCH_SIZE, seed=12)
    bodies = []
    for start in range(0, len(traffic), BATCH_SIZE):
        chunk = traffic[start:start + BATCH_SIZE]
        ua, shell, _ = chunk[0]
        events = [next(iter(contract.merge_context({**s, "events": [e]}))) for _, s, e in chunk]
        bodies.append((ua, orjson.dumps({"version": 1, "sdk": shell["sdk"], "events": events})))
    return bodies


def write_bodies(path: Path, bodies: list[tuple[str, bytes]]) -> Path:
    with open(path, "wb") as out:
        for user_agent, body in bodies:
            assert b"\n" not in body and "\t" not in user_agent
            out.write(user_agent.encode() + b"\t" + body + b"\n")
    return path


# ── processes ──────────────────────────────────────────────────────────────────────────


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants so far."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in descendants(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def descendants(pids: list[int]) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], list(pids)
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


def wait_for_http(url: str, process: subprocess.Popen, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode}:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not answer {url} within {timeout:g}s:\n{tail(log)}")
        time.sleep(0.2)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_collector(env: dict[str, str], workers: int, log: Path,
                    rate_limits: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_ports(1)[0]
    # one address, one key: the throughput runs measure the collector, not its limits
    limits = {} if rate_limits else {"VIGIL_RATE_LIMIT_PER_KEY": "0", "VIGIL_RATE_LIMIT_PER_IP": "0"}
    process_env = {**os.environ, **env, "VIGIL_COLLECTOR_HOST": "127.0.0.1", "VIGIL_COLLECTOR_PORT": str(port),
                   "VIGIL_COLLECTOR_WORKERS": str(workers), **limits}
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "collect"], cwd=REPO, env=process_env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    healthy_in_a_row = 0
    # healthy = Kafka reachable and projects loaded; ask often enough (a fresh connection each
    # time) that every worker process has likely answered
    while healthy_in_a_row < 5 * workers:
        wait_for_http(f"{url}/healthz", process, "vigil collect", log)
        healthy_in_a_row = healthy_in_a_row + 1 if httpx.get(f"{url}/healthz").status_code == 200 else 0
        if time.monotonic() > deadline:
            raise SystemExit(f"vigil collect never became healthy:\n{tail(log)}")
        time.sleep(0.1)
    return process, url


def build_nest(workdir: Path) -> Path:
    """Copy the NestJS receiver into ``workdir`` and build it there (the peers folder stays untouched)."""
    if not NEST_SOURCE.is_dir():
        raise SystemExit(f"the NestJS baseline is not at {NEST_SOURCE}; pass --no-nest to skip it")
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"`{tool}` is not installed; install Node.js (Debian: apt-get install nodejs npm) "
                             "or pass --no-nest")
    target = workdir / "seed-nest-collector"
    shutil.copytree(NEST_SOURCE, target, ignore=shutil.ignore_patterns("node_modules", "dist"))
    with console.status("NestJS baseline: npm install && npm run build"):
        for command in (["npm", "install", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
            result = subprocess.run(command, cwd=target, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed in {target}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return target


def start_nest(directory: Path, bootstrap: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_ports(1)[0]
    env = {**os.environ, "SEED_KAFKA_BROKERS": bootstrap, "PORT": str(port), "SEED_TOPIC": NEST_TOPIC,
           "NODE_ENV": "production"}
    with open(log, "ab") as out:
        process = subprocess.Popen(["node", "dist/main.js"], cwd=directory, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/monitoring", process, "the NestJS receiver", log)  # GET → 404: it is up
    return process, url


# ── the load ───────────────────────────────────────────────────────────────────────────


@dataclasses.dataclass
class Result:
    name: str
    round: int
    load: float  # 1-minute load average when the run started
    server: str  # "vigil" or "nest"
    workers: int
    events_per_request: int
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    cpu_seconds: float  # the server's processes (all workers), during the measured run
    kafka_cpu_seconds: float
    topic_growth: int  # messages the topic gained during the run

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.requests * self.events_per_request / self.seconds

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / max(self.requests * self.events_per_request, 1) * 1e6

    @property
    def kafka_us_per_event(self) -> float:
        return self.kafka_cpu_seconds / max(self.requests * self.events_per_request, 1) * 1e6


class TopicSize:
    """Messages in a topic (sum of the partitions' end offsets)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "vigil-bench-collector"})

    def __call__(self, topic: str) -> int:
        metadata = self.consumer.list_topics(topic, timeout=15)
        return sum(self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1]
                   for p in metadata.topics[topic].partitions)

    def close(self) -> None:
        self.consumer.close()


def run_wrk(url: str, bodies: Path, headers: dict[str, str], seconds: float, connections: int,
            out: Path) -> dict[str, Any]:
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_OUT": str(out),
           "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items())}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA), url]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    summary = json.loads(out.read_text())
    out.unlink()
    return summary


@dataclasses.dataclass
class Target:
    """One server under one kind of load."""

    name: str
    server: str  # "vigil" or "nest"
    url: str
    pids: list[int]
    topic: str
    bodies: Path
    events_per_request: int
    headers: dict[str, str]
    workers: int


def measure(target: Target, round_: int, kafka_pids: list[int], topic_size: TopicSize,
            args: argparse.Namespace, scratch: Path) -> Result:
    label = f"{target.name} (round {round_})"
    with console.status(f"{label}: warming up ({args.warmup:g} s)"):
        run_wrk(target.url, target.bodies, target.headers, args.warmup, args.connections, scratch / "wrk.json")
    load = os.getloadavg()[0]
    with console.status(f"{label}: measuring ({args.duration:g} s, {args.connections} connections)"):
        before_topic = topic_size(target.topic)
        before_cpu, before_kafka = cpu_seconds(target.pids), cpu_seconds(kafka_pids)
        summary = run_wrk(target.url, target.bodies, target.headers, args.duration, args.connections,
                          scratch / "wrk.json")
        cpu, kafka_cpu = cpu_seconds(target.pids) - before_cpu, cpu_seconds(kafka_pids) - before_kafka
        time.sleep(0.5)  # requests in flight when wrk stopped are still answered; let them land
        growth = topic_size(target.topic) - before_topic
    errors = summary["errors"]
    if errors["status"] or errors["connect"] or errors["timeout"]:
        raise SystemExit(f"{label}: {errors['status']} non-2xx answers, {errors['connect']} connect errors, "
                         f"{errors['timeout']} timeouts — the run is not valid")
    latency = summary["latency_us"]
    result = Result(target.name, round_, load, target.server, target.workers, target.events_per_request,
                    args.connections, summary["requests"], summary["duration_us"] / 1e6, latency["p50"] / 1000,
                    latency["p99"] / 1000, latency["p999"] / 1000, cpu, kafka_cpu, growth)
    acknowledged = result.requests * target.events_per_request
    if result.topic_growth < acknowledged:
        raise SystemExit(f"{label}: {acknowledged} events were acknowledged but the topic grew by only "
                         f"{result.topic_growth}")
    console.print(f"  {label}: {result.requests_per_s:,.0f} requests/s, {result.events_per_s:,.0f} events/s, "
                  f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms (load {load:.1f})")
    return result


@dataclasses.dataclass
class Summary:
    """One run over all rounds: the median of each figure."""

    name: str
    workers: int
    events_per_request: int
    rounds: int
    load: float
    requests_per_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_event: float
    kafka_us_per_event: float


def summarise(results: list[Result]) -> list[Summary]:
    out = []
    for name in dict.fromkeys(r.name for r in results):
        rounds = [r for r in results if r.name == name]
        out.append(Summary(
            name, rounds[0].workers, rounds[0].events_per_request, len(rounds),
            median(r.load for r in rounds), median(r.requests_per_s for r in rounds),
            median(r.events_per_s for r in rounds), median(r.p50_ms for r in rounds),
            median(r.p99_ms for r in rounds), median(r.cpu_us_per_event for r in rounds),
            median(r.kafka_us_per_event for r in rounds)))
    return out


def ratios(results: list[Result], name: str) -> list[tuple[float, float, float]]:
    """Per round: (requests/s ratio, vigil p99, nest p99) of ``name`` against nest-single."""
    nest = {r.round: r for r in results if r.name == "nest-single"}
    return [(r.requests_per_s / nest[r.round].requests_per_s, r.p99_ms, nest[r.round].p99_ms)
            for r in results if r.name == name and r.round in nest]


# ── report ─────────────────────────────────────────────────────────────────────────────


def machine() -> dict[str, str]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which("node") else "-"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "wrk": (wrk.stdout or wrk.stderr).split("[")[0].strip(),
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def verdicts(results: list[Result]) -> list[str]:
    """PASS/MISS against the issue's targets, from the medians over the rounds."""
    lines = []
    for name in ("vigil-single", "vigil-single-1w"):
        per_round = ratios(results, name)
        if per_round:
            ratio = median(r for r, _, _ in per_round)
            vigil_p99, nest_p99 = median(v for _, v, _ in per_round), median(n for _, _, n in per_round)
            ok = ratio >= TARGET_RATIO and vigil_p99 <= nest_p99
            lines.append(f"{'PASS' if ok else 'MISS'}  {name} vs nest-single: {ratio:.1f}× the requests/s "
                         f"(median of {len(per_round)} round(s); per round "
                         f"{', '.join(f'{r:.1f}×' for r, _, _ in per_round)}; target ≥ {TARGET_RATIO:g}×), "
                         f"p99 {vigil_p99:.1f} ms vs {nest_p99:.1f} ms (target: no worse)")
    batches = [r.events_per_s for r in results if r.name == "vigil-batch50"]
    if batches:
        events = median(batches)
        lines.append(f"{'PASS' if events >= TARGET_BATCH_EVENTS else 'MISS'}  vigil-batch50: {events:,.0f} events/s "
                     f"(median of {len(batches)} round(s), best {max(batches):,.0f}; "
                     f"target ≥ {TARGET_BATCH_EVENTS:,})")
    return lines


def rounds_table(results: list[Result]) -> Table:
    out = Table(title="every run")
    for column in ("run", "round", "load", "workers", "events/req", "requests/s", "events/s", "p50 ms", "p99 ms",
                   "p99.9 ms", "server CPU µs/event", "Kafka CPU µs/event"):
        out.add_column(column, justify="left" if column == "run" else "right")
    for r in results:
        out.add_row(r.name, str(r.round), f"{r.load:.1f}", str(r.workers), str(r.events_per_request),
                    f"{r.requests_per_s:,.0f}", f"{r.events_per_s:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
                    f"{r.p999_ms:.1f}", f"{r.cpu_us_per_event:.0f}", f"{r.kafka_us_per_event:.0f}")
    return out


def summary_table(summaries: list[Summary]) -> Table:
    out = Table(title="medians over the rounds")
    for column in ("run", "workers", "events/req", "requests/s", "events/s", "p50 ms", "p99 ms",
                   "server CPU µs/event", "Kafka CPU µs/event"):
        out.add_column(column, justify="left" if column == "run" else "right")
    for m in summaries:
        out.add_row(m.name, str(m.workers), str(m.events_per_request), f"{m.requests_per_s:,.0f}",
                    f"{m.events_per_s:,.0f}", f"{m.p50_ms:.1f}", f"{m.p99_ms:.1f}", f"{m.cpu_us_per_event:.0f}",
                    f"{m.kafka_us_per_event:.0f}")
    return out


def markdown(results: list[Result], info: dict[str, str], args: argparse.Namespace) -> str:
    summaries = summarise(results)
    medians = "\n".join(
        f"| {m.name} | {m.workers} | {m.events_per_request} | {m.requests_per_s:,.0f} | {m.events_per_s:,.0f} | "
        f"{m.p50_ms:.1f} | {m.p99_ms:.1f} | {m.cpu_us_per_event:.0f} | {m.kafka_us_per_event:.0f} |"
        for m in summaries)
    every = "\n".join(
        f"| {r.name} | {r.round} | {r.load:.1f} | {r.requests_per_s:,.0f} | {r.events_per_s:,.0f} | "
        f"{r.p50_ms:.1f} | {r.p99_ms:.1f} |" for r in results)
    checks = "\n".join(f"- {line}" for line in verdicts(results))
    per_cpu = "; ".join(f"{m.name} {1e6 / m.cpu_us_per_event:,.0f}" for m in summaries if m.cpu_us_per_event > 0)
    budget = ""
    batch = next((m for m in summaries if m.name == "vigil-batch50"), None)
    if batch is not None:
        collector_cores = TARGET_BATCH_EVENTS * batch.cpu_us_per_event / 1e6
        kafka_cores = TARGET_BATCH_EVENTS * batch.kafka_us_per_event / 1e6
        budget = (f"At the CPU per event measured here, {TARGET_BATCH_EVENTS:,} events/s in 50-event batches takes "
                  f"{collector_cores:.2f} cores of collector and {kafka_cores:.2f} of Kafka, "
                  f"{collector_cores + kafka_cores:.2f} of the machine's {info['cores']} cores (the 1-minute load "
                  f"average during the batch runs: {batch.load:.1f}, median).")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    end_load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"""## Collector

`bench/collector.py` ({when}): `wrk` (one thread, {args.connections} keep-alive connections,
closed loop, {args.duration:g} s after {args.warmup:g} s of warm-up) on loopback against `vigil collect`
and against the write-up's NestJS + kafkajs receiver (`../shared/peers/seed-nest-collector`), both
producing to the same single-node Kafka broker (`acks=all`). Bodies are the simulator's shop
traffic (`pipeline.simulation`): one event per request, or 50 per request. All servers stay up
for the whole bench and the runs take turns, {args.rounds} round(s) of every run, so Vigil and
NestJS meet the same machine; figures are medians over the rounds. Every run's answers were
all 2xx, and the topic grew by at least the number of events acknowledged.

Machine: {info['cores']} cores ({info['cpu']}), {info['memory']}, Linux {info['kernel']},
Python {info['python']}, Node {info['node']}, {info['wrk']}. Load average when the bench
started: {info['load']}, when it ended: {end_load} — Kafka, the servers under test and `wrk` share
the {info['cores']} cores with each other and, on this shared development machine, with other
sessions' test suites and brokers.

| run | workers | events/request | requests/s | events/s | p50 ms | p99 ms | server CPU µs/event | Kafka CPU µs/event |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{medians}

{checks}

Events per CPU-second of the server's own processes (a second view, less dependent on how
much of the machine the servers got — though contention inflates CPU per event too): {per_cpu}. {budget}

<details><summary>every round</summary>

| run | round | load (1 min) | requests/s | events/s | p50 ms | p99 ms |
|---|---:|---:|---:|---:|---:|---:|
{every}

</details>

Reading it: `workers` is `VIGIL_COLLECTOR_WORKERS` (uvicorn processes, one Kafka producer
each); the NestJS receiver is one Node process, as the write-up has it, so `vigil-single-1w`
compares process with process. "server CPU" is the server's processes only (not Kafka, not
`wrk`). Rate limits are off (all load comes from one address with one key). Re-run with
`.venv/bin/python bench/collector.py --write-docs`.
"""


def write_docs(section: str, heading: str = "## Collector") -> None:
    """Replace (or add) the ``heading`` section of docs/benchmarks.md, leaving the others alone."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\nMeasured on the machine each section names.\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = "".join(lines[:start]) + section + ("\n" if end < len(lines) else "") + "".join(lines[end:])
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


# ── main ───────────────────────────────────────────────────────────────────────────────


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of all runs, taking turns (default 3); figures are medians")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before each run (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (default 64)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="collector worker processes (default: one per core)")
    parser.add_argument("--kafka", help="use this running broker (host:port) instead of starting one")
    parser.add_argument("--clickhouse", help="use this ClickHouse (http://host:port) instead of starting one")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help=f"comma-separated runs to do, in this order (default: all of {', '.join(RUNS)})")
    parser.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    runs = [run.strip() for run in args.runs.split(",") if run.strip()]
    if unknown := set(runs) - set(RUNS):
        raise SystemExit(f"unknown run(s) {sorted(unknown)}; choose from {', '.join(RUNS)}")
    if shutil.which("wrk") is None:
        raise SystemExit("the load generator `wrk` is not installed; on Debian: apt-get install wrk")
    info = machine()
    console.print(f"[bold]machine[/]: {info['cores']} cores, {info['cpu']}, {info['memory']}, "
                  f"load average {info['load']}")
    results: list[Result] = []
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-bench-collector-")))
        if args.kafka:
            bootstrap, kafka_pids = args.kafka, []
        else:
            with console.status("starting Kafka"):
                broker = stack.enter_context(KafkaBroker(scratch / "kafka"))
            bootstrap, kafka_pids = broker.bootstrap, [broker.process.pid]
        if args.clickhouse:
            clickhouse_env = {"VIGIL_CLICKHOUSE_URL": args.clickhouse}
        else:
            with console.status("starting ClickHouse"):
                server = stack.enter_context(ClickHouseServer(scratch / "clickhouse"))
            clickhouse_env = server.env
        env = {**clickhouse_env, "VIGIL_KAFKA_BROKERS": bootstrap}
        settings = _settings_from(env)
        client = connect(settings)
        apply_migrations(client)
        project = projects.ensure(client, "bench")
        client.close()
        ensure_topics(bootstrap, {settings.events_topic: settings.topic_partitions,
                                  NEST_TOPIC: settings.topic_partitions})
        topic_size = TopicSize(bootstrap)
        stack.callback(topic_size.close)

        with console.status("generating traffic (the simulator's shop)"):
            singles = write_bodies(scratch / "single.tsv", single_event_bodies(512))
            batches = write_bodies(scratch / "batch50.tsv", batch_bodies(64))
        vigil_headers = {"Content-Type": "application/json", "X-Vigil-Key": project.key}
        events_url = f"/api/{project.id}/events"

        nest_dir = build_nest(scratch) if "nest" in runs else None
        targets: dict[str, Target] = {}
        if "single" in runs or "batch50" in runs:
            collector, url = start_collector(env, args.workers, scratch / "collector.log")
            stack.callback(stop, collector)
            targets["single"] = Target("vigil-single", "vigil", url + events_url, [collector.pid],
                                       settings.events_topic, singles, 1, vigil_headers, args.workers)
            targets["batch50"] = Target("vigil-batch50", "vigil", url + events_url, [collector.pid],
                                        settings.events_topic, batches, BATCH_SIZE, vigil_headers, args.workers)
        if "single-1w" in runs:
            collector, url = start_collector(env, 1, scratch / "collector-1w.log")
            stack.callback(stop, collector)
            targets["single-1w"] = Target("vigil-single-1w", "vigil", url + events_url, [collector.pid],
                                          settings.events_topic, singles, 1, vigil_headers, 1)
        if nest_dir is not None:
            nest, nest_url = start_nest(nest_dir, bootstrap, scratch / "nest.log")
            stack.callback(stop, nest)
            targets["nest"] = Target("nest-single", "nest", nest_url + "/monitoring", [nest.pid], NEST_TOPIC,
                                     singles, 1, {"Content-Type": "application/json"}, 1)

        for round_ in range(1, args.rounds + 1):
            for run in runs:
                results.append(measure(targets[run], round_, kafka_pids, topic_size, args, scratch))

    console.print(rounds_table(results))
    console.print(summary_table(summarise(results)))
    for line in verdicts(results):
        console.print(("[green]" if line.startswith("PASS") else "[red]") + line)
    if args.write_docs:
        write_docs(markdown(results, info, args))
        console.print(f"written to {DOCS.relative_to(REPO)}")
    return 0


def _settings_from(env: dict[str, str]):
    """Settings as the collector will see them (the same VIGIL_* variables)."""
    from pipeline import settings as settings_module

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return settings_module.load()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


if __name__ == "__main__":
    sys.exit(main())
