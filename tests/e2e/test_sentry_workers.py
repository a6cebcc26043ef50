"""A page's late Web Vitals keep their page when its envelopes reach different collector workers.

Sentry's browser SDKs send a page's INP (8.x–11.x) and CLS (11.x) when the page is hidden, in
an envelope of their own and without the page's URL (11.x: only the pageload segment's span id
and the trace). ``vigil collect`` runs as the compose file runs it, with two worker processes
(``VIGIL_COLLECTOR_WORKERS=2``), and the test makes the split deterministic: the browser's
requests to the collector are forwarded (Playwright's routing) over connections pinned to one
worker each (``tests/support/workers.py`` finds which worker accepted a connection), everything
up to the pageload's vitals to one worker and what the hidden page sends to the other — and for
the second page load of each major the other way round. Through the real Kafka, ``vigil
process`` and ClickHouse, every Web Vital, the late ones included, is stored once, in its
page load's session (the trace), with its page's URL and path.

What was sent is read off the wire (``tests/support/sentry_wire.py``: each vital with its
trace), and each page load waits for its own requests: the page is hidden only once that
load's pageload vitals were forwarded, so its pageload segment (the page view) is never
held back until the page is closed.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pipeline.warehouse import projects
from tests.e2e.test_sentry_browser import ENVIRONMENT, HIDE, RELEASE, wait_until
from tests.support import processes
from tests.support.sdk_site import CHROMIUM, CHROMIUM_ARGS
from tests.support.sentry_site import MAJORS, SentrySite, build_app
from tests.support.sentry_wire import sent_vitals
from tests.support.workers import PinnedConnections

pytestmark = pytest.mark.e2e

LOADS = 2  # page loads per major: the segment to worker A and the late spans to B, then the other way round
ARRIVAL_TIMEOUT_S = 45.0
# headers the forwarder sets itself (the connection's own) or that do not travel between hops
HOP_HEADERS = frozenset({"host", "connection", "content-length", "keep-alive", "transfer-encoding"})


@dataclass
class Forwarded:
    """One request of the page's SDK, the worker it was sent to, and the vitals in it (name, trace)."""

    worker: int
    late: bool
    vitals: list[tuple[str, str]]
    status: int
    answer: bytes

    @property
    def names(self) -> set[str]:
        return {name for name, _trace in self.vitals}


@dataclass
class Stack:
    collector_url: str
    collector: processes.VigilProcess
    processor: processes.VigilProcess
    warehouse: Any
    browser: Any
    workers: PinnedConnections
    forwarded: dict[str, list[Forwarded]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(kafka, clickhouse, tmp_path_factory) -> Iterator[Stack]:
    from playwright.sync_api import sync_playwright

    build_app()  # the bundles of every major; says how to install the app's packages if they are missing
    logs = tmp_path_factory.mktemp("sentry-workers")
    env = {**processes.pipeline_env(kafka.bootstrap, clickhouse.url, logs / "vigil", "workers"),
           "VIGIL_COLLECTOR_WORKERS": "2"}  # as docker-compose.yml runs it
    collector, url = processes.collector(env, logs / "collector.log")
    processor = processes.VigilProcess(["process"], env, logs / "processor.log").start()
    host, port = url.removeprefix("http://").split(":")
    workers = PinnedConnections(host, int(port), collector.process.pid)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield Stack(url, collector, processor, clickhouse.client(), browser, workers)
        browser.close()
    workers.close()
    collector.stop()
    processor.stop()


def visit(stack: Stack, site: SentrySite, first: int, then: int) -> list[Forwarded]:
    """One page load whose requests go to worker ``first`` until the pageload's vitals are sent,
    and to worker ``then`` once the page is hidden (INP, and 11.x's CLS); what it forwarded.

    Every wait looks at this load's requests only: were it to see an earlier load's, the page
    would be hidden before its own pageload ended, and the SDK would hold the pageload segment
    (FCP, TTFB and the page view) until the page is closed — sent then, or never."""
    from playwright.sync_api import Route

    log: list[Forwarded] = []
    phase = {"worker": first, "late": False}

    def forward(route: Route) -> None:
        request = route.request
        worker, late = phase["worker"], phase["late"]
        headers = {name: value for name, value in request.all_headers().items()
                   if name.lower() not in HOP_HEADERS and not name.startswith(":")}
        path = request.url.removeprefix(stack.collector_url)
        status, answer_headers, answer = stack.workers.request(worker, request.method, path,
                                                               request.post_data_buffer, headers)
        log.append(Forwarded(worker, late, sent_vitals(request.post_data_buffer), status, answer))
        route.fulfill(status=status, body=answer,
                      headers={k: v for k, v in answer_headers.items() if k not in HOP_HEADERS})

    context = stack.browser.new_context()
    context.route(f"{stack.collector_url}/**", forward)
    page = context.new_page()
    page.goto(site.url + "/", wait_until="load")
    page.wait_for_function("() => !!window.__SENTRY__")
    page.wait_for_timeout(500)  # past the first paint, so the click is an interaction for INP
    for button in ("#add", "#recommend", "#checkout", "#add"):  # interactions for INP (and errors)
        page.click(button)
        page.wait_for_timeout(200)
    # the pageload ends when the page has been idle a while; its vitals are sent then
    wait_until(page, lambda: {"LCP", "FCP"} <= set().union(*(f.names for f in log)),
               f"the pageload's Web Vitals; forwarded: {log}")
    page.wait_for_timeout(300)
    phase.update(worker=then, late=True)
    page.evaluate(HIDE)  # as when the visitor switches tabs: the SDK sends INP (and CLS) now
    wait_until(page, lambda: any("INP" in f.names for f in log if f.late),
               f"the INP reported when the page is hidden; forwarded: {log}")
    page.wait_for_timeout(500)
    context.close()
    return log


@pytest.fixture(scope="module", params=MAJORS, ids=[f"sentry{major}" for major in MAJORS])
def visited(request, stack: Stack) -> Iterator[tuple[projects.Project, SentrySite, list[Forwarded]]]:
    major = request.param
    site = SentrySite(major)
    project = projects.create(stack.warehouse, f"sentry{major}-workers-{uuid.uuid4().hex[:8]}", origins=[site.url])
    site.configure(f"http://{project.key}@{stack.collector_url.removeprefix('http://')}/{project.id}",
                   RELEASE, ENVIRONMENT)
    log: list[Forwarded] = []
    a, b = stack.workers.pids
    for load in range(LOADS):
        log += visit(stack, site, *((a, b) if load % 2 == 0 else (b, a)))
    yield project, site, log
    site.stop()


def stored_vitals(stack: Stack, project: projects.Project, expected: int) -> list[tuple[str, str, str, str]]:
    """(vital, url, path, session) of the project's Web Vitals, once ``expected`` of them are in ClickHouse."""
    query = ("SELECT vital_name, url, path, session_id FROM events FINAL WHERE project_id = {p:UInt32} "
             "AND type = 'web_vital' ORDER BY timestamp")
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        rows = stack.warehouse.query(query, parameters={"p": project.id}).result_rows
        if len(rows) >= expected:
            return rows
        for process in (stack.collector, stack.processor):
            assert process.alive, f"`vigil {' '.join(process.args)}` died:\n{process.log_tail()}"
        assert time.monotonic() < deadline, (f"{len(rows)} of {expected} vitals in ClickHouse after "
                                             f"{ARRIVAL_TIMEOUT_S:.0f}s: {rows}\n{stack.processor.log_tail(15)}")
        time.sleep(0.3)


def test_the_late_spans_went_to_the_other_worker(stack: Stack, visited):
    _project, _site, log = visited
    early = {f.worker for f in log if not f.late}
    late = {f.worker for f in log if f.late}
    assert early == late == set(stack.workers.pids)  # both workers got page loads and late spans
    assert sum("INP" in f.names for f in log if f.late) == LOADS  # every load's INP was sent late
    # each load's pageload segment (FCP, TTFB: the page view) went to the first worker, before the hide
    assert [f.vitals for f in log if f.late and f.names & {"FCP", "TTFB"}] == []
    assert sum("FCP" in f.names for f in log if not f.late) == LOADS
    assert [(f.status, f.answer) for f in log if f.status != 200] == []


def test_every_late_vital_is_stored_with_its_page(stack: Stack, visited):
    project, site, log = visited
    sent = Counter(vital for f in log for vital in f.vitals)  # (name, trace): the trace is the session
    rows = stored_vitals(stack, project, sum(sent.values()))
    assert Counter((name, session) for name, _url, _path, session in rows) == sent, (rows, log)
    for name, url, path, session in rows:
        assert (url, path) == (site.url + "/", "/"), (name, url, path, session)
    assert len({session for *_, session in rows}) == LOADS  # each load's vitals: its own trace
