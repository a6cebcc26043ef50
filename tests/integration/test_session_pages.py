"""A Web Vital without a URL (Sentry's late INP/CLS) gets its session's page view URL in a real
``vigil process`` — also when the processor restarted between the page view and the vital, so
the page is known only to the warehouse (``pipeline/stream/session_pages.py``); and one that
came before its page view (11.x's LCP of a page hidden early) is stored again with the page,
which stays the one ``events FINAL`` shows when the topic is read again."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from tests.integration.test_processor import iso, make_processor, produce, project_id, wait_for_rows  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

TRACE_A, TRACE_B, TRACE_C, TRACE_D = "a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16  # Sentry trace ids: the sessions
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"


def event(project: int, event_id: str, session: str, kind: str, seconds_ago: float, url: str | None) -> tuple[bytes, bytes]:
    """A message as the collector writes it for a Sentry SDK's page view or URL-less vital."""
    now = datetime.now(timezone.utc)
    data = {"navigation_type": "navigate"} if kind == "page_view" else {"name": "INP", "value": 48}
    value = {"event_id": event_id, "type": kind, "timestamp": iso(now - timedelta(seconds=seconds_ago)),
             "session_id": session, "visitor_id": "anon_sentry", "page": {"url": url} if url else {},
             "sdk": {"name": "sentry.javascript.browser", "version": "11.17.0"}, "data": data,
             "project_id": project, "received_at": iso(now), "client": {"ip": "198.51.100.7", "user_agent": UA}}
    return session.encode(), orjson.dumps(value)


def vitals(client, project: int) -> dict[str, tuple[str, str]]:
    rows = client.query("SELECT session_id, url, path FROM events FINAL WHERE project_id = {p:UInt32} "
                        "AND type = 'web_vital'", parameters={"p": project}).result_rows
    return {session: (url, path) for session, url, path in rows}


def test_a_late_vital_gets_its_session_s_page_after_a_processor_restart(make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url)
    processor.start()
    client = clickhouse.client()
    produce(kafka.bootstrap, processor.events_topic, [
        event(project, "pageview-old", TRACE_A, "page_view", 30, "https://shop.example.com/"),
        event(project, "pageview-new", TRACE_A, "page_view", 20, "https://shop.example.com/orders/8412?ref=mail"),
        event(project, "pageview-b", TRACE_B, "page_view", 20, "https://shop.example.com/cart"),
        event(project, "inp-of-trace-b", TRACE_B, "web_vital", 10, None),  # same processor: from memory
    ])
    wait_for_rows(client, project, 4, processor)
    processor.stop()  # a new process knows no page view: only the warehouse does
    processor.start()
    produce(kafka.bootstrap, processor.events_topic, [
        event(project, "inp-of-trace-a", TRACE_A, "web_vital", 5, None),
        event(project, "inp-of-trace-c", TRACE_C, "web_vital", 5, None),  # no page view anywhere
    ])
    wait_for_rows(client, project, 6, processor)
    assert vitals(client, project) == {
        TRACE_A: ("https://shop.example.com/orders/8412?ref=mail", "/orders/:id"),  # the latest page view
        TRACE_B: ("https://shop.example.com/cart", "/cart"),
        TRACE_C: ("", ""),
    }


def rows_of_vital(client, project: int) -> list[tuple[str, str]]:
    rows = client.query("SELECT url, path FROM events FINAL WHERE project_id = {p:UInt32} AND type = 'web_vital'",
                        parameters={"p": project}).result_rows
    return [tuple(row) for row in rows]


def wait_until(check, what: str, processor, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert processor.alive, f"the processor exited:\n{processor.log_tail()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{processor.log_tail()}"
        time.sleep(0.25)


def test_a_vital_stored_before_its_page_view_is_replaced_with_the_page_also_after_a_replay(
        make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url)
    processor.start()
    client = clickhouse.client()
    # 11.x's LCP of a page hidden before its pageload ended: stored first, without page
    produce(kafka.bootstrap, processor.events_topic, [event(project, "lcp-of-trace-d", TRACE_D, "web_vital", 20, None)])
    wait_for_rows(client, project, 1, processor)
    assert rows_of_vital(client, project) == [("", "")]
    produce(kafka.bootstrap, processor.events_topic, [
        event(project, "pageview-d", TRACE_D, "page_view", 21, "https://shop.example.com/orders/8412")])
    wait_until(lambda: rows_of_vital(client, project) == [("https://shop.example.com/orders/8412", "/orders/:id")],
               "the vital stored again with its page", processor)
    # a replay: a new consumer group reads the topic again from its start, with nothing in memory;
    # a last message of the trace (its partition) says when the vital and page view were read again
    processor.stop()
    processor.env["VIGIL_PROCESSOR_GROUP"] += "-replay"
    processor.start()
    produce(kafka.bootstrap, processor.events_topic, [
        event(project, "pageview-d-again", TRACE_D, "page_view", 1, "https://shop.example.com/orders/8412")])
    wait_for_rows(client, project, 3, processor)
    processor.stop()
    assert rows_of_vital(client, project) == [("https://shop.example.com/orders/8412", "/orders/:id")]


def test_a_vital_and_its_corrected_copy_in_one_insert_show_the_copy_in_final(clickhouse):
    """The processor's sink may put a vital's first row and its corrected copy into one insert
    (rows of several step batches gather into a chunk): the engine keeps the later row."""
    from pipeline.contract import merge_context, sentry
    from pipeline.stream import batches
    from pipeline.stream.processor import processor_steps
    from pipeline.stream.session_pages import SessionPages
    from pipeline.stream.sink import EVENT_INSERT_SETTINGS, ClickHouseSink
    from pipeline.stream.steps import Options
    from tests.unit.test_contract_sentry import fixture

    project = project_id()
    now = datetime.now(timezone.utc)

    def messages(envelope: str) -> list[bytes]:  # a captured 11.12 envelope as the collector stamps it
        document = sentry.to_events(sentry.parse_envelope(fixture(envelope)), now).envelope()
        stamp = {"project_id": project, "received_at": iso(now), "client": {"ip": "198.51.100.7", "user_agent": UA}}
        return [orjson.dumps({**event, **stamp}) for event in merge_context(document)]

    pages = SessionPages()
    steps = processor_steps(Options(session_pages=pages))
    rows = [outcome.row for outcome in batches.process_many(messages("interaction_spans"), steps)]
    rows += [outcome.row for outcome in batches.process_many(messages("pageload_spans"), steps)]
    rows += batches.corrected_rows(pages, steps)
    sink = ClickHouseSink(clickhouse.settings, chunk_rows=len(rows) + 1, insert_settings=EVENT_INSERT_SETTINGS)
    sink.start()
    try:
        sink.extend(rows)
        sink.flush()  # one insert: the first rows and their corrected copies
    finally:
        sink.close()
    stored = clickhouse.client().query(
        "SELECT vital_name, url, path FROM events FINAL WHERE project_id = {p:UInt32} AND type = 'web_vital' "
        "AND vital_name IN ('INP', 'CLS') ORDER BY vital_name", parameters={"p": project}).result_rows
    assert [tuple(row) for row in stored] == [("CLS", "http://127.0.0.1:35377/", "/"), ("INP", "http://127.0.0.1:35377/", "/")]
