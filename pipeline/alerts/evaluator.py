"""The alert state machine: observations in, state changes and notifications out.

Per rule and key (the empty key, or an error group for per-group rules)::

    ok ──breached──▶ pending ──still breached after `for`──▶ firing ──not breached──▶ resolved (ok)
                        └──not breached──▶ cancelled (ok)

With ``for: 0`` a breach fires at once. One incident (``incident_id``) runs from its first
breach to its resolution and notifies **once** when it fires and **once** when it resolves,
however many evaluations — scheduled or from streaming signals — see it in between. The
notification of a firing incident is held back while

- the rule is **muted** (the incident is still tracked and recorded), or
- the rule's **cooldown** since the last firing notification of the same rule and key has not
  passed (a flapping metric does not page every few minutes);

if the incident is still firing when the mute ends or the cooldown passes, it notifies then.
An incident whose firing was never notified resolves quietly.

Signals may start and fire incidents (they are early); only the scheduled evaluation on the
warehouse resolves them (it sees every filter and the full window). Every change is written
to ``alert_history`` before its notification goes out, and the open incidents are rebuilt
from that history on start, so a restarted evaluator neither forgets a firing incident nor
notifies it twice. The clock is injectable: tests step through hours in milliseconds.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.alerts import alert_metrics
from pipeline.alerts.alert_metrics import Observation
from pipeline.alerts.notify import Notification, Sender
from pipeline.alerts.signal_rules import Signal, SignalWindows
from pipeline.queries.alert_rules import Channel, Rule, format_duration
from pipeline.queries.alert_store import AlertStore, Delivery, HistoryRow, Mute, utc_now
from pipeline.warehouse.projects import list_projects

log = logging.getLogger(__name__)

SIGNAL_CONTEXT_TTL_S = 10.0


@dataclass
class AlertState:
    """An open incident of one rule and key."""

    rule_id: str
    key: str
    state: str  # pending | firing
    incident_id: str
    since: datetime
    fired_at: datetime | None = None
    notified: bool = False
    value: float | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one evaluation did."""

    changes: list[HistoryRow] = field(default_factory=list)
    notifications: list[tuple[Notification, list[Delivery]]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # rule id → why it could not be evaluated

    def states(self) -> list[tuple[str, str, str]]:
        """(rule id, key, state) of every change, in order: handy to read in tests and logs."""
        return [(row.rule_id, row.key, row.state) for row in self.changes]


class Evaluator:
    """Judges rules against observations and keeps the incidents (see the module docstring).

    ``clock`` gives "now" for scheduled evaluations; ``lag`` keeps the newest seconds out of
    the window (events still on their way through the pipeline would read as a drop).
    """

    def __init__(self, client: Client, *, sender: Sender | None = None, store: AlertStore | None = None,
                 clock: Callable[[], datetime] = utc_now, lag: timedelta = timedelta(seconds=30)) -> None:
        self.client = client
        self.store = store or AlertStore(client, clock)
        self.sender = sender or Sender()
        self.clock = clock
        self.lag = lag
        self.windows = SignalWindows()
        self._signal_context: tuple[float, tuple] | None = None  # (monotonic time, _context) for signals
        self.states: dict[tuple[str, str], AlertState] = {}
        self.last_notified: dict[tuple[str, str], datetime] = {}
        self.restore()

    def restore(self) -> None:
        """Rebuild the open incidents and cooldowns from the stored history."""
        self.states = {
            (incident.rule_id, incident.key): AlertState(
                incident.rule_id, incident.key, incident.state, incident.incident_id, incident.since,
                incident.fired_at, incident.notified, incident.value, incident.labels)
            for incident in self.store.open_incidents()
        }
        self.last_notified = self.store.last_notified()

    # ── the two ways in ──────────────────────────────────────────────────────────────────

    def evaluate(self, now: datetime | None = None) -> Outcome:
        """Measure every enabled rule on the warehouse for the window ending ``now - lag``, and act."""
        now = now or self.clock()
        outcome = Outcome()
        rules, channels, mutes, project_ids, names = self._context(now, outcome)
        for rule in rules.values():
            if not rule.enabled:
                continue
            project_id = project_ids.get(rule.project)
            if project_id is None:
                outcome.problems[rule.id] = (f"project {rule.project!r} does not exist; create it or fix the rule's "
                                             "project")
                continue
            try:
                observations = alert_metrics.observe(self.client, rule, project_id, now - self.lag)
            except ClickHouseError as error:
                outcome.problems[rule.id] = f"the warehouse refused the rule's query: {str(error).splitlines()[0]}"
                log.warning("rule %s: %s", rule.id, outcome.problems[rule.id])
                continue
            observations = [_at(observation, now) for observation in observations]
            self._judge(rule, observations, now, outcome, mutes, names.get(project_id, rule.project), may_resolve=True)
        # incidents of rules that were deleted or disabled end here, quietly
        for (rule_id, key), state in list(self.states.items()):
            rule = rules.get(rule_id)
            if rule is None or not rule.enabled:
                reason = "the rule was deleted" if rule is None else "the rule was disabled"
                self._close(state, now, "resolved" if state.state == "firing" else "cancelled", outcome,
                            rule=rule, note=reason)
        self._finish(outcome, channels)
        return outcome

    def on_signal(self, signal: Signal) -> Outcome:
        """Judge the rules a streaming signal can measure (see :mod:`pipeline.alerts.signal_rules`)."""
        self.windows.add(signal)
        outcome = Outcome()
        now = signal.window_end
        # every project sends a signal a minute: read rules, channels, mutes and projects at most
        # every few seconds for them (a change on the page reaches the fast path within that)
        cached = self._signal_context
        if cached is None or time.monotonic() - cached[0] > SIGNAL_CONTEXT_TTL_S:
            cached = self._signal_context = (time.monotonic(), self._context(self.clock(), Outcome()))
        rules, channels, mutes, project_ids, names = cached[1]
        for rule in rules.values():
            if not rule.enabled or project_ids.get(rule.project) != signal.project_id:
                continue
            observations = self.windows.observations(rule, signal)
            if observations:
                self._judge(rule, observations, now, outcome, mutes, names.get(signal.project_id, rule.project),
                            may_resolve=False)
        self._finish(outcome, channels)
        return outcome

    # ── the state machine ────────────────────────────────────────────────────────────────

    def _judge(self, rule: Rule, observations: Iterable[Observation], at: datetime, outcome: Outcome,
               mutes: dict[str, Mute], project: str, *, may_resolve: bool) -> None:
        seen: set[str] = set()
        for observation in observations:
            seen.add(observation.key)
            if rule.breached(observation.value):
                self._breached(rule, observation, at, outcome, mutes, project)
            elif may_resolve:
                self._cleared(rule, observation.key, observation, at, outcome, mutes, project)
        if may_resolve:
            for rule_id, key in list(self.states):
                if rule_id == rule.id and key not in seen:
                    self._cleared(rule, key, Observation(key, None, at), at, outcome, mutes, project)

    def _breached(self, rule: Rule, observation: Observation, at: datetime, outcome: Outcome,
                  mutes: dict[str, Mute], project: str) -> None:
        slot = (rule.id, observation.key)
        state = self.states.get(slot)
        if state is None:
            state = AlertState(rule.id, observation.key, "pending", uuid.uuid4().hex, since=at)
            self.states[slot] = state
            if rule.for_:
                state.value, state.labels = observation.value, observation.labels
                outcome.changes.append(self._row(rule, state, at, observation.origin, notified=False))
                return
        state.value, state.labels = observation.value, observation.labels or state.labels
        if state.state == "pending":
            if at - state.since < rule.for_:
                return
            state.state, state.fired_at = "firing", at
            self._fire(rule, state, at, observation.origin, outcome, mutes, project, first=True)
        elif not state.notified:
            self._fire(rule, state, at, observation.origin, outcome, mutes, project, first=False)

    def _fire(self, rule: Rule, state: AlertState, at: datetime, origin: str, outcome: Outcome,
              mutes: dict[str, Mute], project: str, *, first: bool) -> None:
        held = self._held_back(rule, state, at, mutes)
        if held and not first:
            return  # still held back; the firing row is already in the history
        state.notified = not held
        if state.notified:
            self.last_notified[(rule.id, state.key)] = at
        note = held or ("" if first else "notified late: the mute or cooldown that held it back is over")
        outcome.changes.append(self._row(rule, state, at, origin, notified=state.notified, note=note))
        if state.notified:
            outcome.notifications.append((self._notification("firing", rule, state, project), []))

    def _held_back(self, rule: Rule, state: AlertState, at: datetime, mutes: dict[str, Mute]) -> str:
        """Why the firing notification must wait ("" if it may go now)."""
        mute = mutes.get(rule.id)
        if mute is not None and mute.active(at):
            return f"muted until {mute.until:%Y-%m-%d %H:%M} UTC" + (f" ({mute.reason})" if mute.reason else "")
        last = self.last_notified.get((rule.id, state.key))
        if last is not None and at - last < rule.cooldown:
            return (f"cooldown: notified at {last:%H:%M:%S} UTC, {format_duration(rule.cooldown)} cooldown until "
                    f"{last + rule.cooldown:%H:%M:%S} UTC")
        if not rule.channels:
            return "the rule has no channels"
        return ""

    def _cleared(self, rule: Rule, key: str, observation: Observation, at: datetime, outcome: Outcome,
                 mutes: dict[str, Mute], project: str) -> None:
        state = self.states.get((rule.id, key))
        if state is None:
            return
        state.value = observation.value
        if state.state == "pending":
            self._close(state, at, "cancelled", outcome, rule=rule, origin=observation.origin)
            return
        mute = mutes.get(rule.id)
        notify = state.notified and not (mute is not None and mute.active(at))
        note = "" if notify else ("muted" if state.notified else "its firing was never notified")
        self._close(state, at, "resolved", outcome, rule=rule, origin=observation.origin, notified=notify, note=note)
        if notify:
            outcome.notifications.append((self._notification("resolved", rule, state, project, resolved_at=at), []))

    def _close(self, state: AlertState, at: datetime, final: str, outcome: Outcome, *, rule: Rule | None,
               origin: str = "schedule", notified: bool = False, note: str = "") -> None:
        del self.states[(state.rule_id, state.key)]
        if rule is None:  # deleted: keep what the history knows of it
            outcome.changes.append(HistoryRow(at, state.rule_id, state.rule_id, state.incident_id, state.key, final,
                                              "", state.value, 0.0, "", note, state.labels, origin, False, note))
            return
        outcome.changes.append(self._row(rule, state, at, origin, notified=notified, note=note, state_name=final))

    # ── writing it down, sending it out ──────────────────────────────────────────────────

    def _row(self, rule: Rule, state: AlertState, at: datetime, origin: str, *, notified: bool, note: str = "",
             state_name: str | None = None) -> HistoryRow:
        value = "no data" if state.value is None else f"{state.value:g}"
        summary = f"{rule.describe()}: {value}"
        if state.labels.get("message"):
            summary += f" — {state.labels.get('type', '')}: {state.labels['message']}"
        return HistoryRow(at, rule.id, rule.name, state.incident_id, state.key, state_name or state.state,
                          rule.severity, state.value, rule.threshold, rule.comparator, summary, dict(state.labels),
                          origin, notified, note)

    def _notification(self, kind: str, rule: Rule, state: AlertState, project: str,
                      resolved_at: datetime | None = None) -> Notification:
        return Notification(kind, rule, project, state.incident_id, state.key, state.value, dict(state.labels),
                            started_at=state.since, fired_at=state.fired_at, resolved_at=resolved_at)

    def _finish(self, outcome: Outcome, channels: dict[str, Channel]) -> None:
        """History first, then notifications (each recorded with how its deliveries went)."""
        self.store.record(outcome.changes)
        for index, (notification, _) in enumerate(outcome.notifications):
            targets = [channels[name] for name in notification.rule.channels if name in channels]
            missing = [name for name in notification.rule.channels if name not in channels]
            deliveries = self.sender.send_all(targets, notification)
            deliveries += [Delivery(name, "", False, 0, f"channel {name!r} does not exist; create it or fix the rule")
                           for name in missing]
            for delivery in deliveries:
                if not delivery.delivered:
                    log.error("rule %s: %s notification to %s failed: %s", notification.rule.id, notification.kind,
                              delivery.channel, delivery.error)
            self.store.record_deliveries(notification.rule.id, notification.incident_id, notification.kind, deliveries)
            outcome.notifications[index] = (notification, deliveries)

    def _context(self, now: datetime, outcome: Outcome) -> tuple[dict[str, Rule], dict[str, Channel],
                                                                  dict[str, Mute], dict[str, int], dict[int, str]]:
        rules, broken = self.store.rules_and_problems()
        outcome.problems.update(broken)
        project_ids: dict[str, int] = {}
        names: dict[int, str] = {}
        for project in list_projects(self.client):
            names[project.id] = project.name
            project_ids.setdefault(project.name, project.id)
            project_ids[str(project.id)] = project.id
        return rules, self.store.channels(), self.store.mutes(now), project_ids, names


def _at(observation: Observation, now: datetime) -> Observation:
    """Scheduled observations are judged at the evaluation's time (the window itself ends ``lag`` earlier)."""
    if observation.at == now:
        return observation
    return Observation(observation.key, observation.value, now, observation.samples, observation.labels,
                       observation.origin)

