"""A Web Vital sent without its page: the URL of its session's page view.

Sentry's browser SDKs send a page's INP and CLS when the page is hidden, in an envelope of
their own. 8.x–10.x name the route (the collector makes it a URL on the request's origin);
11.x's spans carry no URL at all, only their pageload segment's span id and the trace. The
collector keeps no state between requests — any of its workers, or of several collectors
behind a load balancer, may take any envelope — so it cannot give such a span its page.

The processor can: the Kafka key is the session (for Sentry's events, the trace: one page
load or navigation), so every event of a session reaches one partition, hence one processor,
in the order the collectors sent them. :class:`SessionPages` keeps the URL of each recent
session's latest page view (bounded in entries and characters, the oldest forgotten first),
and a ``web_vital`` without a page URL takes its session's.

A session not in memory — the processor restarted, or the partition moved to another
processor, after the page view — is looked up in the warehouse (:class:`WarehousePages`): the
sink commits an offset only once everything before it is in ClickHouse, and what comes after
the committed offset is read again, so memory and warehouse together hold every earlier page
view. The answer, a URL or none, is remembered (a page view arriving later replaces a none).
When the warehouse cannot answer, the vital keeps no page, the failure is counted and logged,
and the warehouse is not asked again for :data:`RETRY_AFTER_FAILURE` seconds: never a stalled
stream or a dropped event.

A vital may also come *before* any page view of its session: 11.x sends a page's LCP and CLS
when the page is hidden, at once, and its pageload segment (the page view) only when that span
ends, up to seconds later — and nothing in the vital's request names the page (no URL
attribute, no ``transaction`` in the envelope's trace header, a ``Referer`` cut to the origin by
the SDK's ``referrerPolicy: strict-origin``). Such a vital is stored without page and waits
here (bounded: :data:`MAX_WAITING`, the oldest forgotten first); when its session's page view
comes, :meth:`SessionPages.saw_page_view` hands it back and ``put_session_page`` gives it the
page — in place when it is still in the same batch of steps, else as a corrected copy
(:meth:`SessionPages.correct`) that the processor runs through the rest of the steps and stores
after the first: same ``event_id``, type and timestamp, so it replaces the first in
``events FINAL`` (a ``ReplacingMergeTree`` without a version keeps the last row inserted).
"""

from __future__ import annotations

import copy
import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 10.0  # seconds the warehouse is not asked again after it failed
MAX_SESSIONS = 65_536  # sessions remembered
MAX_CHARS = 16 * 1024 * 1024  # characters of URLs remembered (a URL may be 8 KB)
MAX_WAITING = 4_096  # vitals without page remembered until their session's page view comes
# how far before a vital its page view may be (a page left open a day) and after it (clock skew)
LOOK_BACK = timedelta(days=1)
LOOK_AHEAD = timedelta(hours=1)

# (project, session, the vital's time) → the URL of the session's latest page view then, "" for none
PageFetcher = Callable[[int, str, datetime], str]
Event = dict[str, Any]
# a vital without page: the event going on through the steps, and a copy of it as it was then
Waiting = tuple[Event, Event]


class SessionPages:
    """The page URL of recent sessions, from their page views, else from the warehouse."""

    def __init__(self, fetch: PageFetcher | None = None, *, capacity: int = MAX_SESSIONS,
                 max_chars: int = MAX_CHARS, max_waiting: int = MAX_WAITING,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.max_chars = max_chars
        self.max_waiting = max_waiting
        self._waiting: dict[tuple[int, str], list[Waiting]] = {}  # insertion-ordered: the oldest first
        self._waiting_count = 0
        self._corrections: list[Event] = []
        self._fetch = fetch
        self._clock = clock
        self._urls: dict[tuple[int, str], str] = {}  # insertion-ordered: the oldest first
        self._chars = 0
        self._retry_at = 0.0
        # vitals given a page from memory / from the warehouse, left without; warehouse failures;
        # vitals given their page later as a corrected copy; vitals forgotten while waiting for one
        self.counts: Counter[str] = Counter()

    def saw_page_view(self, project_id: int, session_id: str, url: str) -> list[Waiting]:
        """Remember a page view's URL as its session's page (the latest one wins); the session's
        vitals that came without page before it, which it now gives one."""
        key = (project_id, session_id)
        self._remember(key, url)
        waiting = self._waiting.pop(key, [])
        self._waiting_count -= len(waiting)
        return waiting

    def wait(self, event: Event) -> None:
        """Keep a vital that found no page until its session's page view comes (a copy of it as it is now)."""
        key = (event["project_id"], event["session_id"])
        self._waiting.setdefault(key, []).append((event, copy.deepcopy(event)))
        self._waiting_count += 1
        while self._waiting_count > self.max_waiting:
            oldest = self._waiting.pop(next(iter(self._waiting)))
            self._waiting_count -= len(oldest)
            self.counts["forgotten"] += len(oldest)

    def correct(self, event: Event) -> None:
        """A vital stored without page, now with it: for :meth:`take_corrections`."""
        self._corrections.append(event)
        self.counts["corrected"] += 1

    def take_corrections(self) -> list[Event]:
        """The corrected vitals since the last call, in the order they were corrected."""
        corrections, self._corrections = self._corrections, []
        return corrections

    def page_of(self, project_id: int, session_id: str, at: datetime) -> str:
        """The URL of the session's latest page view (before ``at``, when asked of the warehouse); "" if none."""
        key = (project_id, session_id)
        url = self._urls.get(key)
        if url is None:
            url = self._fetched(project_id, session_id, at)
            if url is None:
                self.counts["unknown"] += 1
                return ""
            self._remember(key, url)
            self.counts["warehouse" if url else "unknown"] += 1
        elif url:
            self.counts["memory"] += 1
        else:
            self.counts["unknown"] += 1
        return url

    def _fetched(self, project_id: int, session_id: str, at: datetime) -> str | None:
        """The warehouse's answer, or None when it is not asked (none configured, or failing)."""
        if self._fetch is None or self._clock() < self._retry_at:
            return None
        try:
            return self._fetch(project_id, session_id, at)
        except Exception as exc:  # the warehouse is down or slow: no page for this vital, never a stall
            self.counts["warehouse_failures"] += 1
            self._retry_at = self._clock() + RETRY_AFTER_FAILURE
            log.warning("the page of session %r (project %d) could not be read from the warehouse (%s: %s); "
                        "vitals without a URL keep none for %.0f s", session_id[:64], project_id,
                        type(exc).__name__, str(exc)[:200], RETRY_AFTER_FAILURE)
            return None

    def _remember(self, key: tuple[int, str], url: str) -> None:
        old = self._urls.pop(key, None)  # re-inserted last: the most recent is the last forgotten
        if old is not None:
            self._chars -= len(old)
        self._urls[key] = url
        self._chars += len(url)
        while len(self._urls) > self.capacity or self._chars > self.max_chars:
            oldest = next(iter(self._urls))
            self._chars -= len(self._urls.pop(oldest))


PAGE_QUERY = """
SELECT argMax(url, timestamp)
FROM events
WHERE project_id = {project:UInt32} AND type = 'page_view' AND session_id = {session:String}
  AND timestamp BETWEEN {since:DateTime64(3, 'UTC')} AND {until:DateTime64(3, 'UTC')}
"""


class WarehousePages:
    """Reads a session's page from ClickHouse with short timeouts, connecting on first use (and
    after a failure); the sink keeps its own client for inserts."""

    CONNECT_TIMEOUT_S = 2
    READ_TIMEOUT_S = 5

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._client: Any = None

    def __call__(self, project_id: int, session_id: str, at: datetime) -> str:
        try:
            if self._client is None:
                from pipeline.warehouse.client import connect

                self._client = connect(self._settings, connect_timeout=self.CONNECT_TIMEOUT_S,
                                       send_receive_timeout=self.READ_TIMEOUT_S, query_retries=0)
            rows = self._client.query(PAGE_QUERY, parameters={
                "project": project_id, "session": session_id, "since": at - LOOK_BACK, "until": at + LOOK_AHEAD,
            }).result_rows
        except Exception:
            self._client = None  # reconnect next time: the server may have restarted elsewhere
            raise
        return rows[0][0] if rows and isinstance(rows[0][0], str) else ""
