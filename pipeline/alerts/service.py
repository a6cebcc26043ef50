"""``vigil alerts``: evaluate the rules every minute, react to streaming signals, notify.

One loop in one process (run exactly one per deployment: the history is its memory):

- every ``VIGIL_ALERTS_INTERVAL`` seconds (default 60): re-read the alerts file if it
  changed (``VIGIL_ALERTS_FILE``) and sync it into the store, evaluate every rule on the
  warehouse, send what fired or resolved, and touch ``<data_dir>/alerts/heartbeat``;
- in between: consume the processor's ``vigil.signals`` topic and judge the rules a signal
  can measure at once (error spikes reach people within seconds of the minute closing).

If Kafka is away the scheduled evaluation carries on alone; if ClickHouse is away the loop
says so and tries again next minute. SIGTERM / Ctrl-C stop it between two steps.

    vigil alerts                 # the service
    vigil alerts --once          # one evaluation, then exit (cron, debugging)
    vigil alerts --check [FILE]  # validate an alerts file and exit (CI for config as code)
    vigil alerts --healthcheck   # exit 0 if the service evaluated recently (container healthcheck)
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pipeline.alerts.evaluator import Evaluator, Outcome
from pipeline.alerts.signal_rules import parse_signal
from pipeline.broker.topics import SIGNALS_TOPIC
from pipeline.queries.alert_rules import RuleError, load_file
from pipeline.queries.alert_store import AlertStore
from pipeline.settings import Settings

log = logging.getLogger("vigil.alerts")

HEALTHY_INTERVALS = 3  # the heartbeat may be this many intervals old


def heartbeat_path(settings: Settings) -> Path:
    return settings.data_dir / "alerts" / "heartbeat"


class AlertService:
    """The loop behind ``vigil alerts`` (see the module docstring); ``step()`` is one turn of it."""

    def __init__(self, settings: Settings, evaluator: Evaluator) -> None:
        self.settings = settings
        self.evaluator = evaluator
        self.store: AlertStore = evaluator.store
        self._file_stamp: tuple[float, int] | None = None
        self._next_evaluation = time.monotonic()
        self._consumer = None
        self.signals_judged = 0  # signals read from the topic and judged
        self.signals_skipped = 0  # malformed messages skipped

    # ── config as code ───────────────────────────────────────────────────────────────────

    def sync_file(self, *, force: bool = False) -> None:
        """Load the alerts file into the store if it changed since the last sync. A broken file
        raises RuleError on the first sync; later, the problems are logged and the rules already
        stored stay in force until the file is fixed."""
        if not self.settings.alerts_file:
            return
        path = Path(self.settings.alerts_file)
        try:
            stat = path.stat()
            stamp = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._file_stamp and not force:
            return
        first = self._file_stamp is None
        self._file_stamp = stamp
        known = [name for name, channel in self.store.channels().items() if channel.source == "ui"]
        try:
            report = self.store.sync_file(load_file(path, known_channels=known))
        except RuleError as error:
            if first:
                raise
            log.error("%s has problems; the rules stored before stay in force until it is fixed:\n%s", path, error)
            return
        if report:
            log.info("%s: added %s, changed %s, removed %s", path, ", ".join(report.added) or "none",
                     ", ".join(report.changed) or "none", ", ".join(report.removed) or "none")

    # ── the loop ─────────────────────────────────────────────────────────────────────────

    def evaluate(self) -> Outcome:
        self.sync_file()
        outcome = self.evaluator.evaluate()
        report(outcome)
        path = heartbeat_path(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(datetime.now(timezone.utc).isoformat())
        return outcome

    def consumer(self):
        if self._consumer is None:
            from confluent_kafka import Consumer

            from pipeline.broker.connection import kafka_config

            self._consumer = Consumer({
                **kafka_config(self.settings),  # bootstrap list and the cluster's TLS/SASL
                "group.id": self.settings.alerts_group,
                # a signal is only worth acting on while it is fresh; the schedule covers the rest
                "auto.offset.reset": "latest",
                "enable.auto.commit": True,
                "allow.auto.create.topics": False,
                "logger": logging.getLogger("vigil.alerts.kafka"),
            })
            self._consumer.subscribe([SIGNALS_TOPIC])
        return self._consumer

    def step(self, max_wait_s: float = 1.0) -> None:
        """Evaluate if it is time, else wait up to ``max_wait_s`` for a signal and judge it."""
        if time.monotonic() >= self._next_evaluation:
            self._next_evaluation = time.monotonic() + self.settings.alerts_interval_s
            try:
                self.evaluate()
            except Exception as error:  # the warehouse is down, a query failed: say so, try next time
                log.error("evaluation failed: %s; trying again in %.0f s", error, self.settings.alerts_interval_s)
        wait = max(0.0, min(max_wait_s, self._next_evaluation - time.monotonic()))
        message = self.consumer().poll(wait)
        if message is None:
            return
        if message.error():
            log.debug("signals: %s", message.error())
            return
        try:
            signal_ = parse_signal(message.value())
        except ValueError as error:
            self.signals_skipped += 1
            log.warning("skipping a malformed message on %s (offset %s): %s", SIGNALS_TOPIC, message.offset(), error)
            return
        self.signals_judged += 1
        try:
            report(self.evaluator.on_signal(signal_))
        except Exception as error:
            log.error("judging a signal failed: %s", error)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def report(outcome: Outcome) -> None:
    """Log what an evaluation changed and sent."""
    for row in outcome.changes:
        note = f" ({row.note})" if row.note else ""
        log.info("%-9s %s%s: %s%s", row.state, row.rule_id, f" [{row.key}]" if row.key else "", row.summary, note)
    for notification, deliveries in outcome.notifications:
        for delivery in deliveries:
            if delivery.delivered:
                log.info("notified %s of %s %s (attempt %d)", delivery.channel, notification.rule.id,
                         notification.kind, delivery.attempts)
    for rule_id, problem in outcome.problems.items():
        log.warning("rule %s not evaluated: %s", rule_id, problem)


def check(path: str) -> int:
    """``vigil alerts --check``: validate a file and print the verdict."""
    if not path:
        print("vigil alerts --check: no file given and VIGIL_ALERTS_FILE is not set", file=sys.stderr)
        return 2
    try:
        config = load_file(path)
    except RuleError as error:
        print(f"{path}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  ✗ {problem}", file=sys.stderr)
        return 1
    print(f"{path}: OK — {len(config.rules)} rule(s), {len(config.channels)} channel(s)")
    for rule in config.rules.values():
        print(f"  ✓ {rule.id}: {rule.describe()} → {', '.join(rule.channels) or 'no channels'}")
    return 0


def ready_probe(settings: Settings) -> Callable[[], bool]:
    """For a supervisor: true once a service started now has finished its first evaluation."""
    started = time.time()
    path = heartbeat_path(settings)

    def probe() -> bool:
        try:
            return path.stat().st_mtime >= started
        except FileNotFoundError:
            return False

    return probe


def healthcheck(settings: Settings) -> int:
    path = heartbeat_path(settings)
    try:
        beat = datetime.fromisoformat(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        print(f"unhealthy: no evaluation recorded yet ({path})", file=sys.stderr)
        return 1
    age = (datetime.now(timezone.utc) - beat).total_seconds()
    if age > HEALTHY_INTERVALS * settings.alerts_interval_s:
        print(f"unhealthy: the last evaluation was {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0
