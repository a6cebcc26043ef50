"""Alert rules, channels, mutes, history and test requests, kept in ClickHouse (``020_alerts.sql``,
``081_alert_test_requests.sql``).

The warehouse is the one store every Vigil process already shares, so the Alerts page (the
dashboard process) and ``vigil alerts`` (the evaluator) meet here: the page writes rules,
channels and mutes; the evaluator reads them every minute and writes the history. It lives in
the query layer because the page, which may import nothing else of Vigil, writes through it
(as it writes saved funnels through :mod:`.dashboard_state`); ``pipeline.alerts`` uses it from
above.

Rules and channels are versioned rows (``ReplacingMergeTree(version)``, read with
``FINAL``): a save is a new version, a delete is a last version marked deleted. Rules from
the YAML file are *owned by the file* (``source = 'file'``): :meth:`AlertStore.sync_file`
makes the stored ones match it, and the page may only mute them.

Test notifications are *asked of* ``vigil alerts``, which owns delivery: the page records a
request (:meth:`AlertStore.request_test`) and waits for its answer
(:meth:`AlertStore.await_test`); the service picks up the open requests every second or so
(:meth:`AlertStore.open_test_requests`), sends, and records each delivery with the request id
as its ``incident_id``. A request nobody answered within its wait is not sent later.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.queries.alert_rules import AlertConfig, Channel, Rule, RuleError, parse_channel, parse_rule

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
UTC_MS = pl.Datetime("ms", "UTC")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Mute:
    rule_id: str
    until: datetime
    reason: str = ""
    by: str = ""

    def active(self, at: datetime) -> bool:
        return at < self.until


@dataclass(frozen=True)
class HistoryRow:
    """One state change of one alert (a row of ``alert_history``)."""

    at: datetime
    rule_id: str
    rule_name: str
    incident_id: str
    key: str
    state: str  # pending | firing | resolved | cancelled
    severity: str
    value: float | None
    threshold: float
    comparator: str
    summary: str
    labels: dict[str, str]
    origin: str  # schedule | signal
    notified: bool
    note: str = ""


@dataclass(frozen=True)
class OpenIncident:
    """An incident still pending or firing, as the history left it (for an evaluator restart)."""

    rule_id: str
    key: str
    incident_id: str
    state: str
    since: datetime
    fired_at: datetime | None
    notified: bool
    value: float | None
    labels: dict[str, str]


@dataclass(frozen=True)
class Delivery:
    """How sending one notification to one channel went (a row of ``alert_deliveries``)."""

    channel: str
    channel_type: str
    delivered: bool
    attempts: int
    error: str = ""


@dataclass(frozen=True)
class TestRequest:
    """Someone on the Alerts page asked for a test notification (a row of ``alert_test_requests``):
    about ``rule_id`` (empty: a sample rule on ``project``) to ``channels``."""

    __test__ = False  # not a pytest test class, whatever its name

    request_id: str
    channels: tuple[str, ...]
    rule_id: str = ""
    project: str = ""
    requested_by: str = ""


@dataclass(frozen=True)
class SyncReport:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


_RULES = "SELECT id, definition, source FROM alert_rules FINAL WHERE deleted = 0 ORDER BY id"
_CHANNELS = "SELECT name, definition, source FROM alert_channels FINAL WHERE deleted = 0 ORDER BY name"
_MUTES = "SELECT rule_id, muted_until, reason, muted_by FROM alert_mutes FINAL WHERE muted_until > {at:DateTime64(3, 'UTC')}"
_RULE_COLUMNS = ["id", "definition", "source", "deleted", "updated_at", "updated_by", "version"]
_CHANNEL_COLUMNS = ["name", "definition", "source", "deleted", "updated_at", "updated_by", "version"]
_HISTORY_COLUMNS = ["at", "rule_id", "rule_name", "incident_id", "key", "state", "severity", "value", "threshold",
                    "comparator", "summary", "labels", "origin", "notified", "note"]
_DELIVERY_COLUMNS = ["at", "rule_id", "incident_id", "kind", "channel", "channel_type", "attempts", "delivered", "error"]

# the latest incident of every (rule, key), if it is still open
_OPEN_INCIDENTS = """
SELECT rule_id, key, incident_id,
       argMax(state, at) AS current_state,
       min(at) AS since,
       minIf(at, state = 'firing') AS fired_at,
       maxIf(notified, state = 'firing') AS was_notified,
       argMax(value, at) AS last_value,
       argMax(labels, at) AS last_labels
FROM alert_history
WHERE (rule_id, key, incident_id) IN (
    SELECT rule_id, key, argMax(incident_id, at) FROM alert_history GROUP BY rule_id, key
)
GROUP BY rule_id, key, incident_id
HAVING current_state IN ('pending', 'firing')
"""
# when each (rule, key) last sent a firing notification: the cooldown starts there
_LAST_NOTIFIED = """
SELECT rule_id, key, max(at) FROM alert_history
WHERE state = 'firing' AND notified = 1
GROUP BY rule_id, key
"""
_HISTORY = """
SELECT at, rule_id, rule_name, incident_id, key, state, severity, value, threshold, comparator, summary,
       origin, notified, note
FROM alert_history
WHERE ({rule_id:String} = '' OR rule_id = {rule_id:String})
ORDER BY at DESC, state DESC
LIMIT {limit:UInt32}
"""
_DELIVERIES = """
SELECT at, rule_id, incident_id, kind, channel, channel_type, attempts, delivered, error
FROM alert_deliveries
WHERE ({rule_id:String} = '' OR rule_id = {rule_id:String})
ORDER BY at DESC
LIMIT {limit:UInt32}
"""
_TEST_REQUEST_COLUMNS = ["request_id", "rule_id", "channels", "project", "requested_by", "wait_ms"]
# requests still awaited (asked less than their wait ago); the server's clock judges, so the
# page's and the service's clocks need not agree
_AWAITED_TEST_REQUESTS = """
SELECT request_id, rule_id, channels, project, requested_by
FROM alert_test_requests
WHERE requested_at > now64(3) - INTERVAL 1 HOUR
  AND requested_at + toIntervalMillisecond(wait_ms) > now64(3)
ORDER BY requested_at
"""
# which of them have an answer already (two plain reads: no subquery over two Distributed tables)
_ANSWERED_TEST_REQUESTS = """
SELECT DISTINCT incident_id
FROM alert_deliveries
WHERE kind = 'test' AND at > now64(3) - INTERVAL 1 HOUR AND has({request_ids:Array(String)}, incident_id)
"""
_TEST_DELIVERIES = """
SELECT channel, channel_type, delivered, attempts, error
FROM alert_deliveries
WHERE kind = 'test' AND incident_id = {request_id:String} AND at > now64(3) - INTERVAL 1 HOUR
ORDER BY at, channel
"""
HISTORY_SCHEMA = {
    "at": UTC_MS, "rule_id": pl.String, "rule_name": pl.String, "incident_id": pl.String, "key": pl.String,
    "state": pl.String, "severity": pl.String, "value": pl.Float64, "threshold": pl.Float64,
    "comparator": pl.String, "summary": pl.String, "origin": pl.String, "notified": pl.Boolean, "note": pl.String,
}
DELIVERY_SCHEMA = {
    "at": UTC_MS, "rule_id": pl.String, "incident_id": pl.String, "kind": pl.String, "channel": pl.String,
    "channel_type": pl.String, "attempts": pl.UInt8, "delivered": pl.Boolean, "error": pl.String,
}


class AlertStore:
    """Reads and writes the alert tables through one ``clickhouse-connect`` client."""

    def __init__(self, client: Client, clock: Callable[[], datetime] = utc_now) -> None:
        self.client = client
        self.clock = clock

    # ── rules ────────────────────────────────────────────────────────────────────────────

    def rules(self) -> dict[str, Rule]:
        """Every stored rule by id. A stored definition that no longer passes the checks (a
        rule made by an older Vigil) is left out; :meth:`rules_and_problems` says why."""
        rules, _ = self.rules_and_problems()
        return rules

    def rules_and_problems(self) -> tuple[dict[str, Rule], dict[str, str]]:
        """The usable rules by id, and the stored ones failing today's checks: id → the problems."""
        rules: dict[str, Rule] = {}
        broken: dict[str, str] = {}
        for rule_id, definition, source in self.client.query(_RULES).result_rows:
            try:
                rules[rule_id] = parse_rule(json.loads(definition), source=source, where=f"stored rule {rule_id!r}")
            except (RuleError, ValueError) as error:
                broken[rule_id] = str(error)
        return rules, broken

    def save_rule(self, rule: Rule, *, by: str = "") -> None:
        """Store ``rule`` as its newest version (the evaluator picks it up on its next run)."""
        self._write_rule(rule.id, json.dumps(rule.as_dict()), rule.source, deleted=False, by=by)

    def delete_rule(self, rule_id: str, *, by: str = "") -> None:
        """Remove a rule made on the page. File rules are removed from the file instead."""
        current = self.rules().get(rule_id)
        if current is not None and current.source == "file":
            raise RuleError([f"rule {rule_id!r} is defined in the alerts file; remove it there "
                             "(`vigil alerts` syncs the file)"])
        self._write_rule(rule_id, "{}", "ui", deleted=True, by=by)

    def _write_rule(self, rule_id: str, definition: str, source: str, *, deleted: bool, by: str) -> None:
        self.client.insert("alert_rules", [[rule_id, definition, source, int(deleted), self.clock(), by,
                                            time.time_ns()]], column_names=_RULE_COLUMNS)

    # ── channels ─────────────────────────────────────────────────────────────────────────

    def channels(self) -> dict[str, Channel]:
        channels: dict[str, Channel] = {}
        for name, definition, source in self.client.query(_CHANNELS).result_rows:
            try:
                channels[name] = parse_channel(name, json.loads(definition), source=source)
            except (RuleError, ValueError):
                continue
        return channels

    def save_channel(self, channel: Channel, *, by: str = "") -> None:
        self._write_channel(channel.name, json.dumps(channel.as_dict()), channel.source, deleted=False, by=by)

    def delete_channel(self, name: str, *, by: str = "") -> None:
        users = sorted(rule.id for rule in self.rules().values() if name in rule.channels)
        if users:
            raise RuleError([f"channel {name!r} is used by the rule(s) {', '.join(users)}; take it out of them first"])
        current = self.channels().get(name)
        if current is not None and current.source == "file":
            raise RuleError([f"channel {name!r} is defined in the alerts file; remove it there"])
        self._write_channel(name, "{}", "ui", deleted=True, by=by)

    def _write_channel(self, name: str, definition: str, source: str, *, deleted: bool, by: str) -> None:
        self.client.insert("alert_channels", [[name, definition, source, int(deleted), self.clock(), by,
                                               time.time_ns()]], column_names=_CHANNEL_COLUMNS)

    # ── the YAML file ────────────────────────────────────────────────────────────────────

    def sync_file(self, config: AlertConfig, *, by: str = "alerts file") -> SyncReport:
        """Make the stored file-owned rules and channels equal ``config``: add, change, remove.

        Raises :class:`RuleError` if the file uses an id that a rule or channel made on the page
        already has (rename one of them); nothing is written then.
        """
        stored_rules, stored_channels = self.rules(), self.channels()
        clashes = [f"rule {rule_id!r} is in the alerts file and was also made on the Alerts page; "
                   "rename the one in the file, or delete the page's" for rule_id in config.rules
                   if rule_id in stored_rules and stored_rules[rule_id].source != "file"]
        clashes += [f"channel {name!r} is in the alerts file and was also made on the Alerts page; "
                    "rename the one in the file, or delete the page's" for name in config.channels
                    if name in stored_channels and stored_channels[name].source != "file"]
        if clashes:
            raise RuleError(clashes)
        added, changed, removed = [], [], []
        for name, channel in config.channels.items():
            if name not in stored_channels:
                added.append(f"channel {name}")
            elif stored_channels[name] != channel:
                changed.append(f"channel {name}")
            else:
                continue
            self.save_channel(channel, by=by)
        for rule_id, rule in config.rules.items():
            if rule_id not in stored_rules:
                added.append(rule_id)
            elif stored_rules[rule_id] != rule:
                changed.append(rule_id)
            else:
                continue
            self.save_rule(rule, by=by)
        for rule_id, rule in stored_rules.items():
            if rule.source == "file" and rule_id not in config.rules:
                self._write_rule(rule_id, "{}", "file", deleted=True, by=by)
                removed.append(rule_id)
        for name, channel in stored_channels.items():
            if channel.source == "file" and name not in config.channels:
                self._write_channel(name, "{}", "file", deleted=True, by=by)
                removed.append(f"channel {name}")
        return SyncReport(tuple(added), tuple(changed), tuple(removed))

    # ── mutes ────────────────────────────────────────────────────────────────────────────

    def mutes(self, at: datetime | None = None) -> dict[str, Mute]:
        """The mutes in force at ``at`` (default: now), by rule id."""
        rows = self.client.query(_MUTES, parameters={"at": _clickhouse_time(at or self.clock())}).result_rows
        return {rule_id: Mute(rule_id, until.replace(tzinfo=timezone.utc) if until.tzinfo is None else until,
                              reason, by) for rule_id, until, reason, by in rows}

    def mute(self, rule_id: str, until: datetime, *, reason: str = "", by: str = "") -> None:
        """Silence ``rule_id``'s notifications until ``until`` (it is still evaluated and recorded)."""
        if until.tzinfo is None:
            raise ValueError("mute until a timezone-aware time, e.g. datetime.now(timezone.utc) + timedelta(hours=1)")
        self.client.insert("alert_mutes", [[rule_id, until, reason, by, self.clock(), time.time_ns()]],
                           column_names=["rule_id", "muted_until", "reason", "muted_by", "updated_at", "version"])

    def unmute(self, rule_id: str, *, by: str = "") -> None:
        self.mute(rule_id, EPOCH, reason="unmuted", by=by)

    # ── history ──────────────────────────────────────────────────────────────────────────

    def record(self, rows: list[HistoryRow]) -> None:
        if not rows:
            return
        self.client.insert("alert_history", [[getattr(row, column) if column != "notified" else int(row.notified)
                                              for column in _HISTORY_COLUMNS] for row in rows],
                           column_names=_HISTORY_COLUMNS)

    def record_deliveries(self, rule_id: str, incident_id: str, kind: str, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        at = self.clock()
        self.client.insert("alert_deliveries", [
            [at, rule_id, incident_id, kind, d.channel, d.channel_type, d.attempts, int(d.delivered), d.error]
            for d in deliveries], column_names=_DELIVERY_COLUMNS)

    # ── test notifications, asked of `vigil alerts` ─────────────────────────────────────

    def request_test(self, channels: Sequence[str], *, rule_id: str = "", project: str = "", by: str = "",
                     wait_s: float = 20.0) -> TestRequest:
        """Ask ``vigil alerts`` to send a test notification about ``rule_id`` (or a sample rule on
        ``project``) to ``channels``; it is answered only within ``wait_s`` seconds."""
        if not channels:
            raise RuleError(["a test notification needs at least one channel; add one to the rule first"])
        request = TestRequest(f"test-{uuid.uuid4().hex}", tuple(channels), rule_id, project, by)
        self.client.insert("alert_test_requests", [[request.request_id, rule_id, list(channels), project, by,
                                                    round(wait_s * 1000)]], column_names=_TEST_REQUEST_COLUMNS)
        return request

    def open_test_requests(self) -> list[TestRequest]:
        """The requests waiting for ``vigil alerts``: asked within their wait, not answered yet."""
        awaited = [TestRequest(request_id, tuple(channels), rule_id, project, by) for
                   request_id, rule_id, channels, project, by in self.client.query(_AWAITED_TEST_REQUESTS).result_rows]
        if not awaited:
            return []
        answered = {request_id for (request_id,) in self.client.query(
            _ANSWERED_TEST_REQUESTS, parameters={"request_ids": [r.request_id for r in awaited]}).result_rows}
        return [request for request in awaited if request.request_id not in answered]

    def test_deliveries(self, request_id: str) -> list[Delivery]:
        """What ``vigil alerts`` recorded for one test request so far, one delivery per channel."""
        return [Delivery(channel, channel_type, bool(delivered), attempts, error)
                for channel, channel_type, delivered, attempts, error in
                self.client.query(_TEST_DELIVERIES, parameters={"request_id": request_id}).result_rows]

    def await_test(self, request: TestRequest, wait_s: float, poll_s: float = 0.25) -> list[Delivery]:
        """The deliveries of ``request``, once every channel has one or ``wait_s`` seconds have
        passed (then what came so far: empty if no ``vigil alerts`` answered)."""
        deadline = time.monotonic() + wait_s
        while True:
            deliveries = self.test_deliveries(request.request_id)
            if len(deliveries) >= len(request.channels) or time.monotonic() >= deadline:
                return deliveries
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))

    # ── what the evaluator remembers ─────────────────────────────────────────────────────

    def open_incidents(self) -> list[OpenIncident]:
        """Incidents pending or firing according to the history (the evaluator's state after a restart)."""
        out = []
        for rule_id, key, incident_id, state, since, fired_at, notified, value, labels in \
                self.client.query(_OPEN_INCIDENTS).result_rows:
            out.append(OpenIncident(rule_id, key, incident_id, state, _utc(since),
                                    _utc(fired_at) if state == "firing" else None, bool(notified), value,
                                    dict(labels)))
        return out

    def last_notified(self) -> dict[tuple[str, str], datetime]:
        """(rule id, key) → when its last firing notification went out."""
        return {(rule_id, key): _utc(at) for rule_id, key, at in self.client.query(_LAST_NOTIFIED).result_rows}

    def history(self, rule_id: str = "", limit: int = 200) -> pl.DataFrame:
        """The latest state changes, newest first (of one rule, or all)."""
        return _frame(self.client.query_arrow(_HISTORY, parameters={"rule_id": rule_id, "limit": limit}),
                      HISTORY_SCHEMA)

    def deliveries(self, rule_id: str = "", limit: int = 200) -> pl.DataFrame:
        """The latest notifications sent, newest first, with attempts and errors."""
        return _frame(self.client.query_arrow(_DELIVERIES, parameters={"rule_id": rule_id, "limit": limit}),
                      DELIVERY_SCHEMA)


def _clickhouse_time(when: datetime) -> str:
    """An aware datetime as a DateTime64(3, 'UTC') parameter, exact to the millisecond."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _frame(table: Any, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
