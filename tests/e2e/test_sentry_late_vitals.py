"""A page hidden before its pageload ended: @sentry/browser 11.x's vitals reach Vigil before the
page view of their trace, and are still stored with their page.

11.x sends a page's LCP and CLS the moment the page is hidden, as spans of their own that name
no page (``sentry.segment.name`` is ``Pageload``, the envelope's trace header has no
``transaction``, and the SDK sends ``Referer`` cut to the origin); the pageload segment — the
page view, with ``url.full`` — goes out only when the pageload span ends, up to seconds later.
Here the page is hidden while a call to its API is still pending (held by the test until the
hidden page's vitals were sent), so its pageload span is still running and every load's LCP
leaves before its segment — the test checks this on the wire: it is the case it is about. (The
same happens, less predictably, with the page's CPU slowed 6× by Chromium's
``Emulation.setCPUThrottlingRate`` and the page hidden soon after its load.) Through the real ``vigil collect``, Kafka,
``vigil process`` and ClickHouse, every vital the SDK sent is stored once, in its trace's
session, with its page's URL and path (``pipeline/stream/session_pages.py``: the vital waits
for its page view and is stored again with the page).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline.warehouse import projects
from tests.e2e.test_sentry_browser import ENVIRONMENT, HIDE, RELEASE, wait_until
from tests.support import processes
from tests.support.sdk_site import CHROMIUM, CHROMIUM_ARGS
from tests.support.sentry_site import SentrySite, build_app
from tests.support.sentry_wire import carries_page_load, sent_vitals

pytestmark = pytest.mark.e2e

LOADS = 3
ARRIVAL_TIMEOUT_S = 45.0
# resolves once the browser has a largest contentful paint for the page
LCP_SEEN = """() => new Promise((resolve) => new PerformanceObserver(() => resolve(true))
  .observe({type: 'largest-contentful-paint', buffered: true}))"""


@dataclass
class Sent:
    """One request of the SDK to the collector: the vitals in it (name, trace), and whether it
    carries the pageload segment (the page view)."""

    vitals: list[tuple[str, str]]
    page_load: bool


@pytest.fixture(scope="module")
def loads(kafka, clickhouse, tmp_path_factory) -> Iterator[tuple[Any, projects.Project, SentrySite, list[list[Sent]]]]:
    """LOADS page loads of the 11.x page, each hidden as soon as it loaded; what each sent."""
    from playwright.sync_api import sync_playwright

    build_app()
    logs = tmp_path_factory.mktemp("sentry-late-vitals")
    env = processes.pipeline_env(kafka.bootstrap, clickhouse.url, logs / "vigil", "latevitals")
    collector, url = processes.collector(env, logs / "collector.log")
    processor = processes.VigilProcess(["process"], env, logs / "processor.log").start()
    warehouse = clickhouse.client()
    site = SentrySite("11")
    project = projects.create(warehouse, f"sentry11-late-{uuid.uuid4().hex[:8]}", origins=[site.url])
    site.configure(f"http://{project.key}@{url.removeprefix('http://')}/{project.id}", RELEASE, ENVIRONMENT)
    sent: list[list[Sent]] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _load in range(LOADS):
                sent.append(hidden_early(browser, site, url))
            browser.close()
        yield warehouse, project, site, sent
    finally:
        site.stop()
        collector.stop()
        processor.stop()


def hidden_early(browser: Any, site: SentrySite, collector_url: str) -> list[Sent]:
    """One page load hidden while its pageload span still runs; the requests it made, once its
    pageload segment was sent too.

    The page's call to its API is held until the hidden page's vitals were sent: the pageload
    span (an idle span) ends only a second after its last child span, the call's, ended — a slow
    API or a slow CPU, as a visitor who switches tabs at once meets them."""
    log: list[Sent] = []
    held: list[Any] = []

    def request(sent: Any) -> None:
        if sent.url.startswith(collector_url) and sent.method == "POST":
            log.append(Sent(sent_vitals(sent.post_data_buffer), carries_page_load(sent.post_data_buffer)))

    context = browser.new_context()
    context.on("request", request)
    def hold(route: Any) -> None:
        held.append(route)  # answered below, after the hide

    context.route(f"{site.url}/api/slow", hold)
    page = context.new_page()
    page.goto(site.url + "/", wait_until="load")
    page.wait_for_function("() => !!window.__SENTRY__")
    page.evaluate("() => { fetch('/api/slow'); }")  # the SDK traces it: a child span of the pageload
    page.evaluate(LCP_SEEN)  # a page hidden before its first paint has no LCP to send
    page.click("#add")  # the visitor's first input makes the LCP final
    page.evaluate(HIDE)  # the visitor switched tabs: 11.x sends LCP and CLS now
    wait_until(page, lambda: any(s.vitals for s in log), f"the hidden page's vitals; sent: {log}")
    wait_until(page, lambda: len(held) == 1, "the page's API call")
    held[0].fulfill(status=200, content_type="application/json", body="{}")
    wait_until(page, lambda: any(s.page_load for s in log), f"the pageload segment; sent: {log}")
    page.wait_for_timeout(300)
    context.close()
    return log


def stored_vitals(warehouse: Any, project: projects.Project, sent: Counter) -> list[tuple[str, str, str, str]]:
    """(vital, url, path, session) of the project's Web Vitals in ``events FINAL``, once all that were
    seen sent are there and every one has a URL (or the time is up: then as they are)."""
    query = ("SELECT vital_name, url, path, session_id FROM events FINAL WHERE project_id = {p:UInt32} "
             "AND type = 'web_vital' ORDER BY timestamp")
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        rows = warehouse.query(query, parameters={"p": project.id}).result_rows
        if (len(rows) >= sum(sent.values()) and all(url for _name, url, _path, _session in rows)) \
                or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def test_each_load_s_vitals_left_before_its_page_view(loads):
    _warehouse, _project, _site, sent = loads
    for requests in sent:
        first_vitals = next(i for i, s in enumerate(requests) if s.vitals)
        segment = next(i for i, s in enumerate(requests) if s.page_load)
        assert first_vitals < segment, requests  # the case this test is about
        assert "LCP" in {name for name, _trace in requests[first_vitals].vitals}, requests


def test_every_vital_of_a_page_hidden_early_is_stored_with_its_page(loads):
    warehouse, project, site, sent_per_load = loads
    sent = Counter(vital for requests in sent_per_load for s in requests for vital in s.vitals if vital[0] != "INP")
    rows = stored_vitals(warehouse, project, sent)
    # the click's INP goes out as the page is closed, after the segment, in a request the test
    # does not see; every other vital is stored once, as it was sent
    assert Counter((name, session) for name, _url, _path, session in rows if name != "INP") == sent, rows
    assert [row for row in rows if row[1:3] != (site.url + "/", "/")] == []  # the INP too
    assert len({session for *_, session in rows}) == LOADS
