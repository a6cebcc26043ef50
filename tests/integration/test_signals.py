"""``vigil signals`` on the real Kafka broker and ClickHouse: three minutes of two projects'
events in, exactly the expected 1-minute signals out — on ``vigil.signals``, in
``signals_minute``, and readable by the alerts' consumer — and a late event counted, not folded in.

The events topic has one partition so the event-time order the test produces is the order
the app reads (with several partitions a lagging one's events can fall behind the grace).
A second test stops the app mid-window and deletes its state directory: the windows come
back from the changelog topic and the signals are still exactly right.
"""

from __future__ import annotations

import random
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.queries.alert_rules import parse_rule
from pipeline.alerts.signal_rules import SignalWindows, parse_signal
from pipeline.broker.topics import SIGNALS_TOPIC, ensure_topics
from pipeline.stream.signal_windows import COLUMNS, SIGNAL_VITALS
from tests.support.processes import VigilProcess

pytestmark = pytest.mark.integration

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
GRACE_S = 5
VITAL_VALUES = {"LCP": (900.0, 6000.0), "INP": (40.0, 700.0), "CLS": (0.0, 0.5), "FCP": (500.0, 3500.0),
                "TTFB": (80.0, 2000.0)}


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stamped(project_id: int, at: datetime, n: int, event_type: str, data: dict[str, Any],
            user_agent: str = UA) -> dict[str, Any]:
    """An event as the collector hands it to Kafka, received two seconds after it happened."""
    return {"event_id": f"signal-event-{project_id}-{n:05d}", "timestamp": iso(at), "type": event_type, "data": data,
            "session_id": f"session-{project_id}-{n % 7}", "visitor_id": f"visitor-{project_id}-{n % 5}",
            "page": {"url": "https://shop.example.com/checkout"}, "project_id": project_id,
            "received_at": iso(at + timedelta(seconds=2)), "client": {"ip": "203.0.113.4", "user_agent": user_agent}}


def minute_of_traffic(rng: random.Random, project_id: int, start: datetime, first: int) -> tuple[list[dict], dict]:
    """About 40 events of every kind in the minute from ``start``, and what they must add up to."""
    events, errors, calls, failures = [], 0, 0, 0
    vitals: dict[str, list[float]] = {}
    for n in range(first, first + rng.randint(30, 50)):
        at = start + timedelta(seconds=rng.uniform(0.5, 59.5))
        kind = rng.choice(["page_view", "error", "api_call", "web_vital", "web_vital", "click"])
        if kind == "error":
            data = {"kind": "js", "type": "TypeError", "message": "cart is undefined"}
            errors += 1
        elif kind == "api_call":
            status = rng.choice([200, 200, 204, 404, 500, None])
            data = {"method": "POST", "url": "https://shop.example.com/api/cart", "duration": 31.5}
            if status is not None:
                data["status"] = status
            calls += 1
            failures += status is None or status >= 400
        elif kind == "web_vital":
            name = rng.choice(SIGNAL_VITALS)
            low, high = VITAL_VALUES[name]
            value = round(rng.uniform(low, high), 3 if name == "CLS" else 1)
            data = {"name": name, "value": value, "rating": "good"}
            vitals.setdefault(name, []).append(value)
        elif kind == "page_view":
            data = {"navigation_type": "navigate"}
        else:
            data = {"selector": "button#pay"}
        events.append(stamped(project_id, at, n, kind, data))
    expected = {
        "project_id": project_id, "window_start": iso(start).replace(".000Z", "Z"),
        "window_end": iso(start + timedelta(minutes=1)).replace(".000Z", "Z"),
        "events": len(events), "errors": errors, "error_rate": errors / len(events),
        "api_calls": calls, "api_failures": failures, "api_failure_rate": failures / calls if calls else None,
        "p75": {name: float(np.percentile(vitals[name], 75)) for name in SIGNAL_VITALS if name in vitals},
        "samples": {name: len(vitals[name]) for name in SIGNAL_VITALS if name in vitals},
    }
    return events, expected


def produce(bootstrap: str, topic: str, events: list[dict[str, Any]], extra: list[bytes] = ()) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for event in events:
        producer.produce(topic, orjson.dumps(event), key=event["session_id"].encode())
    for value in extra:
        producer.produce(topic, value, key=b"broken")
    assert producer.flush(30) == 0, "Kafka did not acknowledge every event"


def read_signals(bootstrap: str, projects: set[int], count: int, timeout: float = 45.0) -> list[dict[str, Any]]:
    """The signals on vigil.signals for ``projects`` (the topic is shared by tests), one per window,
    once ``count`` windows are there. A window sent twice (a replay after a crash) must be sent
    the same both times: the alerts keep the last one per window."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-signals-reader-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([SIGNALS_TOPIC])
    found: dict[tuple[int, str], dict[str, Any]] = {}
    keys = {str(project).encode() for project in projects}  # the signals app keys by project id
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.key() not in keys:  # other tests' messages, some deliberately not JSON
                continue
            value = orjson.loads(message.value())
            assert message.key() == str(value["project_id"]).encode()
            window = (value["project_id"], value["window_start"])
            assert found.setdefault(window, value) == value, "a replayed window came out different"
    finally:
        consumer.close()
    return list(found.values())


def rows(client, projects: set[int]) -> list[dict[str, Any]]:
    result = client.query("SELECT * EXCEPT emitted_at FROM signals_minute FINAL "
                          "WHERE has({projects:Array(UInt32)}, project_id) ORDER BY project_id, minute",
                          parameters={"projects": sorted(projects)})
    return [dict(zip(result.column_names, row)) for row in result.result_rows]


def as_row(expected: dict[str, Any]) -> dict[str, Any]:
    """The expected signal as a signals_minute row (without emitted_at)."""
    row = {name: expected[name] for name in ("project_id", "events", "errors", "error_rate", "api_calls",
                                              "api_failures", "api_failure_rate")}
    row["minute"] = datetime.fromisoformat(expected["window_start"]).replace(tzinfo=None)  # DateTime('UTC') reads naive
    for name in SIGNAL_VITALS:
        row[f"p75_{name.lower()}"] = expected["p75"].get(name)
        row[f"samples_{name.lower()}"] = expected["samples"].get(name, 0)
    floats = {"error_rate", "api_failure_rate", *(f"p75_{name.lower()}" for name in SIGNAL_VITALS)}
    return {column: pytest.approx(row[column]) if column in floats and row[column] is not None else row[column]
            for column in COLUMNS if column != "emitted_at"}


def expected_signals(signals: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    signals = sorted(signals, key=lambda signal: (signal["project_id"], signal["window_start"]))
    assert signals == [{**answer, "error_rate": pytest.approx(answer["error_rate"]),
                        "p75": pytest.approx(answer["p75"])} for answer in expected]


def stored_rows(client, projects: set[int], count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(found := rows(client, projects)) < count and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


@dataclass
class Scenario:
    """Two projects' three minutes of traffic (two hours ago), sorted by time, and their answers."""

    run: str
    events_topic: str
    projects: set[int]
    base: datetime
    events: list[dict[str, Any]]
    expected: list[dict[str, Any]]

    @property
    def closer(self) -> dict[str, Any]:
        """One later event of one project: it moves the partition's clock past minute 2 + grace,
        so every project's windows up to it close (closing strategy "partition")."""
        return stamped(max(self.projects), self.base + timedelta(minutes=3, seconds=GRACE_S + 5), 99_002,
                       "page_view", {"navigation_type": "navigate"})

    def app(self, vigil_env: dict[str, str], tmp_path: Path) -> VigilProcess:
        return VigilProcess(["signals"], {**vigil_env, "VIGIL_EVENTS_TOPIC": self.events_topic,
                                          "VIGIL_SIGNALS_GROUP": f"test-signals-{self.run}",
                                          "VIGIL_SIGNALS_GRACE": str(GRACE_S), "VIGIL_COMMIT_INTERVAL": "0.5"},
                            tmp_path / "signals.log")


def scenario(kafka) -> Scenario:
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    events_topic = f"test.signals-events.{run}"
    ensure_topics(kafka.bootstrap, {events_topic: 1})
    projects = {rng.randint(10**8, 2 * 10**8), rng.randint(2 * 10**8 + 1, 3 * 10**8)}
    base = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    events, expected = [], []
    for project_id in sorted(projects):
        for minute in range(3):
            made, answer = minute_of_traffic(rng, project_id, base + timedelta(minutes=minute), 1000 * minute)
            events += made
            expected.append(answer)
    events.sort(key=lambda event: event["timestamp"])
    return Scenario(run, events_topic, projects, base, events, expected)


def test_three_minutes_of_two_projects_become_exactly_their_signals(kafka, clickhouse, vigil_env, tmp_path):
    case = scenario(kafka)
    projects, expected = case.projects, case.expected
    bot = stamped(min(projects), case.base + timedelta(seconds=30), 99_001, "page_view",
                  {"navigation_type": "navigate"},
                  user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    events = sorted([*case.events, bot], key=lambda event: event["timestamp"])
    produce(kafka.bootstrap, case.events_topic, [*events, case.closer], extra=[b"{not json"])

    app = case.app(vigil_env, tmp_path)
    app.start()
    try:
        signals = read_signals(kafka.bootstrap, projects, len(expected))
        assert len(signals) == len(expected), app.log_tail()
        expected_signals(signals, expected)
        stored = stored_rows(clickhouse.client(), projects, len(expected))
        assert stored == [as_row(answer) for answer in expected], app.log_tail()

        # the alerts' consumer reads them, and sums a 3-minute error rate from them
        windows, rule = SignalWindows(), parse_rule({"id": "errors", "metric": "error_rate", "threshold": 1,
                                                     "project": min(projects), "window": "3m"})
        observations = []
        for signal in sorted(signals, key=lambda signal: signal["window_start"]):
            parsed = parse_signal(orjson.dumps(signal))
            windows.add(parsed)
            if parsed.project_id == min(projects):
                observations = windows.observations(rule, parsed)
        mine = [answer for answer in expected if answer["project_id"] == min(projects)]
        (observation,) = observations
        assert observation.value == round(sum(a["errors"] for a in mine) / sum(a["events"] for a in mine) * 100, 4)

        # an event for minute 0, long closed: counted and logged as late, in no signal
        produce(kafka.bootstrap, case.events_topic, [stamped(min(projects), case.base + timedelta(seconds=20), 99_003,
                                                             "error", {"kind": "js", "message": "late"})])
        deadline = time.monotonic() + 20
        while "counted as late" not in app.log_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert f"an event of project {min(projects)} is" in app.log_file.read_text(), app.log_tail()
    finally:
        app.stop()
    summary = [line for line in app.log_file.read_text().splitlines() if "· signals" in line][-1]
    assert "late 1" in summary and f"signals {len(expected)}" in summary, summary
    assert "dropped 2 (" in summary and "bot=1" in summary and "invalid_json=1" in summary, summary
    assert rows(clickhouse.client(), projects) == stored  # the late event changed no minute


def changelog_messages(bootstrap: str, group: str) -> int:
    """How many messages the app's window-state changelog topics hold (Quix names them changelog__<group>…)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{group}-watermarks"})
    try:
        topics = [name for name in consumer.list_topics(timeout=10).topics if name.startswith(f"changelog__{group}")]
        return sum(consumer.get_watermark_offsets(TopicPartition(name, 0), 10)[1] for name in topics)
    finally:
        consumer.close()


def test_a_restart_without_the_state_directory_rebuilds_the_open_windows_from_the_changelog(
        kafka, clickhouse, vigil_env, tmp_path):
    case = scenario(kafka)
    middle = iso(case.base + timedelta(minutes=1, seconds=30))
    first, second = ([e for e in case.events if e["timestamp"] < middle],
                     [e for e in case.events if e["timestamp"] >= middle])
    produce(kafka.bootstrap, case.events_topic, first)
    app = case.app(vigil_env, tmp_path)
    app.start()
    group = f"test-signals-{case.run}"
    deadline = time.monotonic() + 30
    # a checkpoint wrote window state to the changelog (minute 0 may be out already, minute 1 is
    # half full); wherever the stop lands after that, the restart must come back to the same answers
    while changelog_messages(kafka.bootstrap, group) == 0:
        assert time.monotonic() < deadline, app.log_tail()
        time.sleep(0.5)
    # SIGTERM, so the group hands the partition over at once (after a SIGKILL Kafka waits out the
    # dead member's 45 s session first; the recovery is the same), then lose the local state, as
    # a new container or machine would
    app.stop()
    shutil.rmtree(Path(vigil_env["VIGIL_DATA_DIR"]) / "signals-state")

    produce(kafka.bootstrap, case.events_topic, [*second, case.closer])
    app.start()
    try:
        signals = read_signals(kafka.bootstrap, case.projects, len(case.expected))
        expected_signals(signals, case.expected)
        stored = stored_rows(clickhouse.client(), case.projects, len(case.expected))
        assert stored == [as_row(answer) for answer in case.expected], app.log_tail()
    finally:
        app.stop()
