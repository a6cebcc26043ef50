"""A Web Vital sent without its page (Sentry's late INP and CLS spans) gets its session's page
view URL in the processor: from memory, else from the warehouse, never stalling the stream.

The end-to-end proof with two collector workers and the real SDKs is
``tests/e2e/test_sentry_workers.py``; the warehouse query against the real engine is
``tests/integration/test_session_pages.py``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from pipeline.contract import merge_context, sentry
from pipeline.stream import batches, session_pages, steps
from pipeline.stream.processor import processor_steps
from pipeline.stream.rows import COLUMNS
from pipeline.stream.session_pages import SessionPages
from pipeline.stream.steps import Options
from tests.unit.test_contract_sentry import NOW, fixture
from tests.unit.test_processor_steps import CHROME_WINDOWS

SECRET = b"s" * 32
AT = datetime(2026, 11, 26, 22, 52, 35, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Warehouse:
    """Answers like :class:`session_pages.WarehousePages`, from a dict; counts what it was asked."""

    def __init__(self, pages: dict[tuple[int, str], str], failing: bool = False) -> None:
        self.pages, self.failing, self.asked = pages, failing, []

    def __call__(self, project_id: int, session_id: str, at: datetime) -> str:
        self.asked.append((project_id, session_id, at))
        if self.failing:
            raise ConnectionError("Connection refused")
        return self.pages.get((project_id, session_id), "")


@pytest.fixture
def pages():
    """A memory-only SessionPages, in the options the processor's steps get."""
    return SessionPages()


def process_many(messages: list[bytes], pages: SessionPages) -> list:
    """The processor's steps over one batch, with a known secret and ``pages``."""
    return batches.process_many(messages, processor_steps(Options(secret=SECRET, session_pages=pages)))


def collector_messages(envelope: str) -> list[bytes]:
    """A captured @sentry/browser 11.12 envelope, mapped and stamped as the collector writes it to Kafka."""
    document = sentry.to_events(sentry.parse_envelope(fixture(envelope)), NOW).envelope()
    stamp = {"project_id": 7, "received_at": "2026-11-26T22:52:36.000Z",
             "client": {"ip": "203.0.113.9", "user_agent": CHROME_WINDOWS}}
    return [orjson.dumps({**event, **stamp}) for event in merge_context(document)]


def vitals(outcomes: list) -> dict[str, tuple]:
    rows = [outcome.row for outcome in outcomes]
    assert all(row is not None for row in rows), outcomes
    named = [dict(zip(COLUMNS, row)) for row in rows]
    return {row["vital_name"]: (row["url"], row["path"]) for row in named if row["type"] == "web_vital"}


def test_late_spans_in_a_later_batch_get_their_trace_s_page_view_url(pages):
    # the pageload's spans (page view, LCP, FCP, TTFB) in one batch, the page-hide spans (INP and
    # CLS, no URL) in a later one, as two collector workers would have produced them
    first = vitals(process_many(collector_messages("pageload_spans"), pages))
    late = vitals(process_many(collector_messages("interaction_spans"), pages))
    assert set(first) >= {"LCP", "FCP", "TTFB"}
    assert late == {"INP": ("http://127.0.0.1:35377/", "/"), "CLS": ("http://127.0.0.1:35377/", "/")}
    assert pages.counts["memory"] == 2


def test_late_spans_of_an_unknown_session_keep_no_page(pages):
    late = vitals(process_many(collector_messages("interaction_spans"), pages))
    assert late == {"INP": ("", ""), "CLS": ("", "")}
    assert pages.counts["unknown"] == 2


def test_a_vital_with_its_own_url_and_other_types_are_left_alone(pages):
    pages.saw_page_view(7, "s1", "https://shop.example.com/")
    own = {"type": "web_vital", "project_id": 7, "session_id": "s1", "timestamp": AT,
           "page": {"url": "https://shop.example.com/cart"}}
    error = {"type": "error", "project_id": 7, "session_id": "s1", "timestamp": AT, "page": {}}
    assert steps.put_session_page(dict(own), Options(session_pages=pages))["page"] == {"url": "https://shop.example.com/cart"}
    assert steps.put_session_page(dict(error), Options(session_pages=pages))["page"] == {}
    without_page = steps.put_session_page({"type": "web_vital", "project_id": 7, "session_id": "s1", "timestamp": AT},
                                         Options(session_pages=pages))
    assert without_page["page"] == {"url": "https://shop.example.com/"}
    assert pages.page_of(8, "s1", AT) == ""  # another project's session of the same id


def test_the_latest_page_view_of_a_session_wins():
    index = SessionPages()
    index.saw_page_view(7, "s1", "https://shop.example.com/")
    index.saw_page_view(7, "s1", "https://shop.example.com/cart")
    assert index.page_of(7, "s1", AT) == "https://shop.example.com/cart"


def test_memory_is_bounded_by_sessions_and_characters():
    index = SessionPages(capacity=2)
    for session in ("s1", "s2", "s3"):
        index.saw_page_view(7, session, f"https://shop.example.com/{session}")
    assert [index.page_of(7, s, AT) for s in ("s1", "s2", "s3")] == ["", "https://shop.example.com/s2",
                                                                    "https://shop.example.com/s3"]
    index = SessionPages(max_chars=20)
    index.saw_page_view(7, "s1", "https://a.example/1")  # 19 characters
    index.saw_page_view(7, "s2", "https://b.example/2")
    assert (index.page_of(7, "s1", AT), index.page_of(7, "s2", AT)) == ("", "https://b.example/2")


def test_a_session_not_in_memory_is_asked_of_the_warehouse_once():
    warehouse = Warehouse({(7, "s1"): "https://shop.example.com/checkout"})
    index = SessionPages(warehouse)
    assert index.page_of(7, "s1", AT) == "https://shop.example.com/checkout"
    assert index.page_of(7, "s1", AT) == "https://shop.example.com/checkout"
    assert index.page_of(7, "s2", AT) == "" and index.page_of(7, "s2", AT) == ""  # none, remembered too
    assert warehouse.asked == [(7, "s1", AT), (7, "s2", AT)]
    index.saw_page_view(7, "s2", "https://shop.example.com/late")  # a page view after all: it wins
    assert index.page_of(7, "s2", AT) == "https://shop.example.com/late"
    assert (index.counts["warehouse"], index.counts["memory"], index.counts["unknown"]) == (1, 2, 2)


def test_a_failing_warehouse_leaves_the_vital_without_page_and_is_not_asked_again_for_a_while(caplog):
    clock = Clock()
    warehouse = Warehouse({(7, "s1"): "https://shop.example.com/"}, failing=True)
    index = SessionPages(warehouse, clock=clock)
    assert index.page_of(7, "s1", AT) == "" and index.page_of(7, "s2", AT) == ""
    assert len(warehouse.asked) == 1 and index.counts["warehouse_failures"] == 1
    assert "could not be read from the warehouse (ConnectionError: Connection refused)" in caplog.text
    clock.now += session_pages.RETRY_AFTER_FAILURE
    warehouse.failing = False
    assert index.page_of(7, "s1", AT) == "https://shop.example.com/"  # not remembered as none before


# ── vitals that come before their session's page view (11.x: a page hidden before its pageload ended)


def rows_of(rows: list) -> list[dict]:
    return [dict(zip(COLUMNS, row)) for row in rows]


def test_vitals_before_their_page_view_in_an_earlier_batch_are_stored_again_with_the_page(pages):
    # the page-hide spans (INP and CLS, no URL) processed before the pageload segment's page view,
    # as when 11.x sends a hidden page's vitals at once and its pageload segment when the span ends
    steps_ = processor_steps(Options(secret=SECRET, session_pages=pages))
    early = [outcome.row for outcome in batches.process_many(collector_messages("interaction_spans"), steps_)]
    assert {row["vital_name"]: (row["url"], row["path"]) for row in rows_of(early)} == {"INP": ("", ""), "CLS": ("", "")}
    assert batches.corrected_rows(pages, steps_) == []  # no page view yet: nothing to correct
    later = batches.process_many(collector_messages("pageload_spans"), steps_)
    assert vitals(later)["LCP"] == ("http://127.0.0.1:35377/", "/")
    corrected = rows_of(batches.corrected_rows(pages, steps_))
    assert [(row["vital_name"], row["url"], row["path"]) for row in corrected] == [
        ("INP", "http://127.0.0.1:35377/", "/"), ("CLS", "http://127.0.0.1:35377/", "/")]
    # the same event as stored first (what ReplacingMergeTree replaces by), the page its only change
    for first, again in zip(rows_of(early), corrected):
        assert {k: v for k, v in first.items() if k not in ("url", "path")} == \
            {k: v for k, v in again.items() if k not in ("url", "path")}
    assert batches.corrected_rows(pages, steps_) == []  # handed out once
    assert pages.counts["corrected"] == 2


def test_vitals_before_their_page_view_in_the_same_batch_get_the_page_in_place(pages):
    steps_ = processor_steps(Options(secret=SECRET, session_pages=pages))
    outcomes = batches.process_many(collector_messages("interaction_spans") + collector_messages("pageload_spans"), steps_)
    assert {name: page for name, page in vitals(outcomes).items() if name in ("INP", "CLS")} == {
        "INP": ("http://127.0.0.1:35377/", "/"), "CLS": ("http://127.0.0.1:35377/", "/")}
    assert batches.corrected_rows(pages, steps_) == []  # one row each, no copy


def test_the_step_batches_store_corrections_after_the_rows_and_do_not_sample_them(pages):
    from tests.unit.test_step_batches import DeadLetters, Rows

    sampled: list = []

    class Samples:
        def send(self, rows: list) -> None:
            sampled.extend(rows)

    stage = batches.StepBatches(processor_steps(Options(secret=SECRET, session_pages=pages)), rows=Rows([]),
                                dead_letters=DeadLetters([]), samples=Samples(), session_pages=pages)  # type: ignore[arg-type]
    for batch in ("interaction_spans", "pageload_spans"):
        for offset, message in enumerate(collector_messages(batch)):
            stage.add(message, b"trace", 0, (), "vigil.events", 0, offset)
        stage.flush()
    stored = rows_of(stage.rows.rows)
    assert [(row["vital_name"], row["url"]) for row in stored if row["vital_name"] in ("INP", "CLS")] == [
        ("INP", ""), ("CLS", ""), ("INP", "http://127.0.0.1:35377/"), ("CLS", "http://127.0.0.1:35377/")]
    assert len(sampled) == len(stored) - 2  # each stored event sampled once


def test_waiting_vitals_are_bounded_the_oldest_forgotten_first():
    index = SessionPages(max_waiting=2)
    for session in ("s1", "s2", "s3"):
        index.wait({"type": "web_vital", "project_id": 7, "session_id": session, "timestamp": AT, "page": {}})
    assert index.saw_page_view(7, "s1", "https://shop.example.com/") == []
    assert [copied["session_id"] for _live, copied in index.saw_page_view(7, "s3", "https://shop.example.com/")] == ["s3"]
    assert index.counts["forgotten"] == 1
