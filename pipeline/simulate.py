"""``vigil simulate``: realistic synthetic traffic, sent through the collector over HTTP.

The traffic itself comes from :mod:`pipeline.simulation` (pure, reusable); this module only
paces it and sends it the way browsers would: one keep-alive HTTP client, a few concurrent
senders, batch envelopes of 1–20 events with each session's own ``User-Agent``. A 429 or
503 is retried after its ``Retry-After`` with the very same body (same event ids, so the
warehouse keeps one copy); a 202's per-event rejections are counted by reason. A progress
bar shows what was sent, accepted and rejected; a summary closes the run.

Every few minutes an *incident* starts for 30 s: sessions on the buggy release then throw a
burst of the same ``TypeError`` on product pages, which is what the error charts and alerts
are for.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline import settings as settings_module
from pipeline.simulation.shop_catalog import VisitorPool
from pipeline.simulation.shop_sessions import LiveTraffic

# an incident (buggy release throwing bursts) starts this long into the run, lasts
# INCIDENT_LENGTH_S, and comes back every INCIDENT_EVERY_S
INCIDENT_FIRST_S = 20.0
INCIDENT_LENGTH_S = 30.0
INCIDENT_EVERY_S = 240.0
# how long to keep retrying a batch the collector refuses with 429/503 before giving it up
GIVE_UP_AFTER_S = 60.0
# at the end, how long in-flight batches get to finish
DRAIN_TIMEOUT_S = 15.0
# with nothing ever answered for this long, the collector is not there
UNREACHABLE_AFTER_S = 15.0
MAX_RETRY_AFTER_S = 30.0
# a project created just before the run (the demo project) may be unknown to a collector for
# up to its refresh interval (VIGIL_PROJECTS_REFRESH); until then 401/403/404 are retried
AUTH_GRACE_S = 20.0


class SimulationError(RuntimeError):
    """The run cannot go on (collector unreachable, wrong project or key)."""


@dataclass
class Tally:
    """What happened to the events handed to the collector."""

    generated: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # rejected events by the collector's reason
    undelivered: Counter[str] = field(default_factory=Counter)  # events given up on, by why
    batches: int = 0
    retries: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))  # the latest requests
    answered: bool = False
    elapsed_s: float = 0.0
    sessions: int = 0
    visitors: int = 0

    @property
    def sent(self) -> int:
        """Events the collector has answered for (accepted or rejected)."""
        return self.accepted + self.rejected

    def record_latency(self, ms: float) -> None:
        self.latencies_ms.append(ms)


def incident_active(elapsed_s: float) -> bool:
    """Whether the buggy release is misbehaving ``elapsed_s`` seconds into the run."""
    if elapsed_s < INCIDENT_FIRST_S:
        return False
    return (elapsed_s - INCIDENT_FIRST_S) % INCIDENT_EVERY_S < INCIDENT_LENGTH_S


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    """The response's ``Retry-After`` (seconds or an HTTP date), bounded to something sane."""
    raw = response.headers.get("retry-after")
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(raw) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return default
    return min(max(seconds, 0.05), MAX_RETRY_AFTER_S)


class Sender:
    """Posts batches to one project's ingest endpoint and keeps the tally."""

    def __init__(self, client: httpx.AsyncClient, url: str, project_id: int, key: str, tally: Tally) -> None:
        self.client = client
        self.endpoint = f"{url.rstrip('/')}/api/{project_id}/events"
        self.key = key
        self.tally = tally
        self.started = time.monotonic()

    async def send(self, body: bytes, events: int, user_agent: str) -> None:
        headers = {"X-Vigil-Key": self.key, "Content-Type": "application/json", "User-Agent": user_agent}
        first_try = time.monotonic()
        backoff = 0.2
        while True:
            began = time.perf_counter()
            try:
                response = await self.client.post(self.endpoint, content=body, headers=headers)
            except httpx.TransportError as error:
                if not self.tally.answered and time.monotonic() - self.started > UNREACHABLE_AFTER_S:
                    raise SimulationError(
                        f"cannot reach the collector at {self.endpoint} ({type(error).__name__}: {error}); "
                        "start it with `vigil collect` (or `vigil up`), or pass --url") from error
                if time.monotonic() - first_try > GIVE_UP_AFTER_S:
                    self.tally.undelivered["collector_unreachable"] += events
                    return
                self.tally.retries += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self.tally.answered = True
            self.tally.record_latency((time.perf_counter() - began) * 1000)
            if response.status_code in (429, 503):
                if time.monotonic() - first_try > GIVE_UP_AFTER_S:
                    self.tally.undelivered[f"still_{response.status_code}_after_{GIVE_UP_AFTER_S:g}s"] += events
                    return
                self.tally.retries += 1
                await asyncio.sleep(retry_after_seconds(response))
                continue
            if not self._count(response, events):
                self.tally.retries += 1
                await asyncio.sleep(1.0)
                continue
            return

    def _count(self, response: httpx.Response, events: int) -> bool:
        """Count the collector's answer; False when the batch should be sent again."""
        tally = self.tally
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if isinstance(answer.get("rejected"), list):  # 202, or 422 when every event was refused
            rejected = answer["rejected"]
            tally.batches += 1
            tally.accepted += int(answer.get("accepted", 0))
            tally.rejected += len(rejected)
            for item in rejected:
                tally.reasons[str(item.get("reason", "unknown")) if isinstance(item, dict) else "unknown"] += 1
            return True
        reason = str(answer.get("error") or f"http_{response.status_code}")
        if response.status_code in (401, 403, 404):
            if time.monotonic() - self.started < AUTH_GRACE_S:
                return False  # a project created a moment ago: the collector learns it within seconds
            raise SimulationError(
                f"the collector refused project/key ({response.status_code} {reason}): "
                f"{answer.get('message', response.text[:200])}. Check --project and --key "
                "(`vigil project list`), or leave both out to use the demo project.")
        tally.batches += 1
        tally.rejected += events
        tally.reasons[reason] += events
        return True


async def simulate(
    *,
    url: str,
    project_id: int,
    key: str,
    rate: float,
    duration: float,
    seed: int | None = None,
    senders: int | None = None,
    console: Console | None = None,
    progress: bool = True,
) -> Tally:
    """Send ``rate`` events/s for ``duration`` s (0 = until stopped) and return the tally."""
    if rate <= 0:
        raise SimulationError(f"--rate must be positive, got {rate}")
    rng = random.Random(seed)
    concurrency = max(4, min(5000, int(rate * 3)))  # ~15 s between a session's batches
    traffic = LiveTraffic(rng, concurrency, VisitorPool(rng))
    senders = senders or max(4, min(16, int(rate // 1000) + 4))
    tally = Tally()
    queue: asyncio.Queue[tuple[bytes, int, str]] = asyncio.Queue(maxsize=senders * 4)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests): Ctrl-C stays default
            pass

    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    failure: list[BaseException] = []
    started = loop.time()

    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as client:
        sender = Sender(client, url, project_id, key, tally)

        async def send_forever() -> None:
            while True:
                body, events, user_agent = await queue.get()
                try:
                    await sender.send(body, events, user_agent)
                except SimulationError as error:
                    failure.append(error)
                    stop.set()
                finally:
                    queue.task_done()

        async def produce() -> None:
            due = loop.time()
            while not stop.is_set():
                now = loop.time()
                if duration and now - started >= duration:
                    return
                if due > now:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=due - now)
                        return
                    except TimeoutError:
                        pass
                batch = traffic.next_batch(datetime.now(timezone.utc), incident=incident_active(now - started))
                events = len(batch.events)
                await queue.put((orjson.dumps(batch.envelope), events, batch.user_agent))
                tally.generated += events
                # a slow collector pushes back through the queue; owe it at most a second of burst
                due = max(due + events / rate, loop.time() - 1.0)

        workers = [asyncio.create_task(send_forever()) for _ in range(senders)]
        with _progress_display(console, progress, duration) as display:
            ticker = asyncio.create_task(_tick(display, tally, traffic, loop, started, stop))
            try:
                await produce()
                if not failure:
                    try:
                        await asyncio.wait_for(queue.join(), timeout=DRAIN_TIMEOUT_S)
                    except TimeoutError:
                        pass
            finally:
                stop.set()
                for task in (*workers, ticker):
                    task.cancel()
                await asyncio.gather(*workers, ticker, return_exceptions=True)
                display.refresh(tally, traffic, loop.time() - started)
    tally.elapsed_s = loop.time() - started
    tally.sessions = traffic.sessions_started
    tally.visitors = traffic.visitors_seen
    if failure:
        raise failure[0]
    return tally


class _Display:
    """The progress bar's one line of numbers (does nothing with --quiet)."""

    def __init__(self, progress: Progress | None, duration: float) -> None:
        self.progress = progress
        self.duration = duration
        self.task_id = progress.add_task("simulate", total=duration or None, stats="starting …") if progress else None

    def refresh(self, tally: Tally, traffic: LiveTraffic, elapsed: float) -> None:
        if self.progress is None:
            return
        rate = tally.sent / elapsed if elapsed > 0 else 0.0
        stats = (f"{tally.sent:>9,} sent  [green]{tally.accepted:,} accepted[/]  "
                 f"[red]{tally.rejected:,} rejected[/]  {rate:,.0f} ev/s  {traffic.sessions_started:,} sessions")
        if tally.retries:
            stats += f"  [yellow]{tally.retries:,} retries[/]"
        completed = min(elapsed, self.duration) if self.duration else elapsed
        self.progress.update(self.task_id, completed=completed, stats=stats)


@contextmanager
def _progress_display(console: Console | None, enabled: bool, duration: float) -> Iterator[_Display]:
    """A rich progress bar over the run's duration (open-ended with --duration 0), or nothing."""
    if not enabled:
        yield _Display(None, duration)
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]simulating[/]"), BarColumn(bar_width=24), TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"), console=console, refresh_per_second=8,
    )
    with progress:
        yield _Display(progress, duration)


async def _tick(display: _Display, tally: Tally, traffic: LiveTraffic, loop, started: float,
                stop: asyncio.Event) -> None:
    while not stop.is_set():
        display.refresh(tally, traffic, loop.time() - started)
        await asyncio.sleep(0.25)


def summary_table(tally: Tally, url: str, project_id: int) -> Table:
    """The end-of-run summary: how much went out, what came back, how fast."""
    elapsed = tally.elapsed_s
    table = Table(title=f"vigil simulate → {url} (project {project_id})", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("duration", f"{elapsed:,.1f} s")
    table.add_row("events sent", f"{tally.sent:,}  ({tally.sent / elapsed if elapsed else 0:,.0f}/s)")
    table.add_row("accepted", f"[green]{tally.accepted:,}[/]")
    table.add_row("rejected", f"[red]{tally.rejected:,}[/]" if tally.rejected else "0")
    for reason, count in tally.reasons.most_common():
        table.add_row(f"  {reason}", f"{count:,}")
    unsent = tally.generated - tally.sent
    if unsent:
        table.add_row("not delivered", f"[yellow]{unsent:,}[/]")
        for why, count in tally.undelivered.most_common():
            table.add_row(f"  {why}", f"{count:,}")
        if unsent > sum(tally.undelivered.values()):
            table.add_row("  in flight when stopped", f"{unsent - sum(tally.undelivered.values()):,}")
    table.add_row("retries (429/503/connection)", f"{tally.retries:,}")
    table.add_row("batches", f"{tally.batches:,}")
    table.add_row("sessions / visitors", f"{tally.sessions:,} / {tally.visitors:,}")
    if tally.latencies_ms:
        ordered = sorted(tally.latencies_ms)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        table.add_row("request latency", f"p50 {p50:,.1f} ms · p99 {p99:,.1f} ms")
    return table


def _target(args, s: settings_module.Settings) -> tuple[int, str]:
    """The project to send to: --project/--key, or the demo project from the warehouse."""
    if (args.project is None) != (args.key is None):
        raise SimulationError("give both --project and --key, or neither to use the demo project")
    if args.project is not None:
        return args.project, args.key
    from pipeline.projects import ensure
    from pipeline.warehouse.client import connect

    try:
        project = ensure(connect(s), "demo")
    except Exception as error:  # noqa: BLE001 - any failure here means the same thing to the user
        raise SimulationError(
            f"could not look up the demo project in ClickHouse at {settings_module.redacted(s.clickhouse_url)} "
            f"({error}); start it with `vigil clickhouse` and `vigil migrate`, or pass --project and --key") from error
    return project.id, project.key


def main(args) -> int:
    s = settings_module.load()
    console = Console(stderr=False, highlight=False)
    url = (args.url or s.collector_url).rstrip("/")
    try:
        project_id, key = _target(args, s)
        tally = asyncio.run(simulate(
            url=url, project_id=project_id, key=key, rate=args.rate, duration=args.duration,
            seed=args.seed, console=console, progress=not args.quiet,
        ))
    except SimulationError as error:
        print(f"vigil simulate: {error}", file=sys.stderr)
        return 1
    console.print(summary_table(tally, url, project_id))
    return 0 if tally.accepted or not tally.generated else 1
