"""Test notifications, sent on request: ``vigil alerts`` answers the Alerts page's "send test".

The page does not send (it is presentation only, and the secrets of channels — ``${VAR}`` in a
URL or header — belong to the process that delivers): it records a request through the query
layer's store and waits for the answer. :class:`TestRequestDesk` is the service's side: a
thread with its own warehouse client that looks for open requests every ``poll_s`` seconds
(independent of the minute evaluation and of the signals), sends each to its channels and
records every delivery with the request id as its ``incident_id``, which the page reads back.

    desk = TestRequestDesk(AlertStore(connect_reader(settings)), Sender(settings, attempts=2, backoff_s=0.5))
    desk.start()        # a daemon thread
    ...
    desk.stop()
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence

from pipeline.alerts.notify import Notification, Sender
from pipeline.queries.alert_rules import Channel, Rule, parse_rule
from pipeline.queries.alert_store import AlertStore, Delivery, TestRequest

log = logging.getLogger("vigil.alerts.tests")

POLL_S = 1.0  # how often the desk looks for requests: the page hears back within about this
ANSWERED_MEMORY_S = 3600.0  # requests answered by this process, not sent twice even if recording failed


def sample_rule(project: str, channels: Sequence[str]) -> Rule:
    """The rule a channel's test notification is about, when no rule was picked."""
    return parse_rule({"id": "test-notification", "name": "Test notification", "metric": "error_count",
                       "project": project or "demo", "threshold": 0, "channels": list(channels)})


def send_test(store: AlertStore, sender: Sender, channel: Channel, rule: Rule | None = None,
              project: str = "demo") -> Delivery:
    """Send a test notification to ``channel`` (about ``rule``, or a sample rule) and record it."""
    about = rule or sample_rule(project, [channel.name])
    incident_id = f"test-{uuid.uuid4().hex[:12]}"
    (delivery,) = _notify(store, sender, [channel], about, rule.project if rule else project, incident_id)
    store.record_deliveries(about.id, incident_id, "test", [delivery])
    return delivery


def answer(store: AlertStore, sender: Sender, request: TestRequest) -> list[Delivery]:
    """Send the test notification ``request`` asks for and record one delivery per channel
    (a channel or rule that no longer exists is recorded as a failed delivery saying so)."""
    rule: Rule | None = None
    if request.rule_id:
        rule = store.rules().get(request.rule_id)
        if rule is None:
            deliveries = [Delivery(name, "", False, 0, f"the rule {request.rule_id!r} no longer exists")
                          for name in request.channels]
            store.record_deliveries(request.rule_id, request.request_id, "test", deliveries)
            return deliveries
    channels = store.channels()
    targets = [channels[name] for name in request.channels if name in channels]
    about = rule or sample_rule(request.project, request.channels)
    deliveries = _notify(store, sender, targets, about, rule.project if rule else request.project or "demo",
                         request.request_id)
    deliveries += [Delivery(name, "", False, 0, f"channel {name!r} does not exist (deleted since the request?)")
                   for name in request.channels if name not in channels]
    store.record_deliveries(about.id, request.request_id, "test", deliveries)
    return deliveries


def _notify(store: AlertStore, sender: Sender, channels: Sequence[Channel], rule: Rule, project: str,
            incident_id: str) -> list[Delivery]:
    return sender.send_all(channels, Notification("test", rule, project, incident_id, value=0.0,
                                                  started_at=store.clock()))


class TestRequestDesk:
    """Answers the Alerts page's test requests from a thread of ``vigil alerts`` (see the module
    docstring). ``store`` must have a client of its own: the evaluator's is not shared across threads."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, store: AlertStore, sender: Sender, poll_s: float = POLL_S) -> None:
        self.store = store
        self.sender = sender
        self.poll_s = poll_s
        self.answered: dict[str, float] = {}  # request id → when (monotonic)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def answer_open(self) -> int:
        """Answer every open request once; returns how many were answered."""
        now = time.monotonic()
        self.answered = {request_id: at for request_id, at in self.answered.items() if now - at < ANSWERED_MEMORY_S}
        count = 0
        for request in self.store.open_test_requests():
            if request.request_id in self.answered:
                continue
            self.answered[request.request_id] = now
            deliveries = answer(self.store, self.sender, request)
            count += 1
            for delivery in deliveries:
                if delivery.delivered:
                    log.info("test notification delivered to %s (asked by %s)", delivery.channel,
                             request.requested_by or "the Alerts page")
                else:
                    log.warning("test notification to %s failed: %s", delivery.channel, delivery.error)
        return count

    def run(self) -> None:
        """Answer requests every ``poll_s`` seconds until :meth:`stop`; a failure is logged, never fatal."""
        while not self._stop.is_set():
            try:
                self.answer_open()
            except Exception as error:  # the warehouse is away, a query failed: say so, try again
                log.error("answering test notification requests failed: %s", str(error).splitlines()[0])
                self._stop.wait(max(self.poll_s, 5.0))
                continue
            self._stop.wait(self.poll_s)

    def start(self) -> TestRequestDesk:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="vigil-alerts-tests", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
