"""The official @sentry/browser SDK, unmodified, sending to Vigil through the real pipeline —
each supported major: the latest 8.x, 9.x, 10.x and 11.x.

A page (``tests/e2e/sentry_app``: @sentry/browser from npm under the aliases ``sentry8`` …
``sentry11``, bundled once per major and minified by esbuild) is configured as a Sentry user
configures it — a DSN, here ``http://<key>@<collector>/<project>``, a release, an environment,
``browserTracingIntegration`` and ``httpClientIntegration`` — and served from its own origin to
Debian's Chromium. It throws the same error twice (with another error between them, as
Sentry's Dedupe drops an immediate repeat), leaves a promise rejection unhandled, captures an
exception with a user, tags and a breadcrumb, captures a message, gets a 503 from its API and a
fetch that fails, shifts its layout, is hidden (INP), navigates as a single-page app and is left.
Everything travels the real ``vigil collect`` → Kafka → ``vigil process`` → ClickHouse path, and
the tests read the rows back per major: one group for the repeated error with two events, frames
symbolicated from the source map uploaded with ``vigil sourcemaps upload`` (the map itself is
never served), breadcrumbs, release, environment, user and tags, the page views, and every Web
Vital the SDK sent with its page, release, environment and target.

The collector, the processor and Chromium are started once for all majors; each major has a
project of its own. ``VIGIL_SENTRY_CAPTURE=<dir>`` keeps the envelopes each major sent
(``tests/unit/sentry_envelopes/sentry*`` come from there) and ``VIGIL_SENTRY_MATRIX=<file>``
writes docs/sentry.md's compatibility table from what was measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from pipeline.settings import REPO_ROOT
from tests.support import processes, sentry_matrix, sentry_wire
from tests.support.sdk_site import CHROMIUM, CHROMIUM_ARGS
from tests.support.sentry_site import DIST, MAJORS, SentrySite, build_app

pytestmark = pytest.mark.e2e

RELEASE = "shop@1.2.3"
ENVIRONMENT = "staging"
ARRIVAL_TIMEOUT_S = 45.0
COLUMNS = ("type", "event_id", "session_id", "user_id", "release", "environment", "url", "path", "sdk_name", "sdk_version",
           "tags", "error_kind", "error_type", "error_message", "fingerprint", "vital_name", "vital_value", "target",
           "data")
EVENTS = 7  # error envelopes: two thrown, a rejection, a capture, a message, an API failure, a failed fetch
VITALS = ("LCP", "FCP", "TTFB", "CLS", "INP")
HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
SHOW = """() => {
  delete document.visibilityState;
  document.dispatchEvent(new Event('visibilitychange'));
}"""
AMOUNT = "Cannot read properties of undefined (reading 'amount')"


@dataclass
class Stack:
    """Kafka topics, ``vigil collect`` and ``vigil process``, and one Chromium: shared by every major."""

    collector_url: str
    warehouse: Any
    env: dict[str, str]
    processes: list[processes.VigilProcess]
    browser: Any


@dataclass
class Visit:
    """What the page's SDK sent to the collector, and what it was answered."""

    sent: list[str] = field(default_factory=list)  # envelope bodies
    answers: list[tuple[int, str]] = field(default_factory=list)  # (status, body when readable)

    def sent_vitals(self) -> set[str]:
        """The Web Vitals the SDK reported, read off the wire: span attributes (v11) or
        measurements (v8–v10)."""
        return {name for body in self.sent for name, _trace in sentry_wire.sent_vitals(body)}


@dataclass
class Run:
    """One Sentry major's page, in a project of its own, and the visit it had."""

    major: str
    stack: Stack
    site: SentrySite
    project: projects.Project
    visit: Visit

    @property
    def processes(self) -> list[processes.VigilProcess]:
        return self.stack.processes

    def rows(self) -> list[dict[str, Any]]:
        query = (f"SELECT {', '.join(COLUMNS)} FROM events FINAL WHERE project_id = {{p:UInt32}} "
                 "ORDER BY timestamp, event_id")
        rows = [dict(zip(COLUMNS, row)) for row in
                self.stack.warehouse.query(query, parameters={"p": self.project.id}).result_rows]
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows


@pytest.fixture(scope="module")
def stack(kafka, clickhouse, tmp_path_factory) -> Iterator[Stack]:
    from playwright.sync_api import sync_playwright

    try:
        build_app()
    except RuntimeError as error:
        pytest.fail(str(error))
    logs = tmp_path_factory.mktemp("sentry-browser")
    run = uuid.uuid4().hex[:8]
    topics = {"events": f"sentry.{run}.events", "dlq": f"sentry.{run}.dlq"}
    ensure_topics(kafka.bootstrap, {topics["events"]: 2, topics["dlq"]: 1})
    env = {"VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_CLICKHOUSE_URL": clickhouse.url,
           "VIGIL_DATA_DIR": str(logs / "vigil"), "VIGIL_EVENTS_TOPIC": topics["events"],
           "VIGIL_DLQ_TOPIC": topics["dlq"], "VIGIL_PROCESSOR_GROUP": f"sentry-{run}"}
    collector, url = processes.collector(env, logs / "collector.log")
    processor = processes.VigilProcess(["process"], env, logs / "processor.log").start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield Stack(url, clickhouse.client(), env, [collector, processor], browser)
        browser.close()
    collector.stop()
    processor.stop()


@pytest.fixture(scope="module")
def matrix() -> Iterator[dict[str, dict[str, Any]]]:
    """Each major's measured row; with ``VIGIL_SENTRY_MATRIX=<file>``, written as docs/sentry.md's table."""
    rows: dict[str, dict[str, Any]] = {}
    yield rows
    if os.environ.get("VIGIL_SENTRY_MATRIX") and rows:
        Path(os.environ["VIGIL_SENTRY_MATRIX"]).write_text(sentry_matrix.table(rows))


@pytest.fixture(scope="module", params=MAJORS, ids=[f"sentry{major}" for major in MAJORS])
def run(request, stack: Stack) -> Iterator[Run]:
    """One major's page in a project of its own (its rows apart), visited once."""
    major = request.param
    site = SentrySite(major)
    project = projects.create(stack.warehouse, f"sentry{major}-browser-{uuid.uuid4().hex[:8]}", origins=[site.url])
    # As a Sentry user's build step would: the release's source maps, uploaded before it is live.
    upload = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "sourcemaps", "upload", "--project", str(project.id),
                             "--release", RELEASE, "--url-prefix", "~/", str(DIST / major)], cwd=REPO_ROOT,
                            env={**os.environ, **stack.env}, capture_output=True, text=True, timeout=120)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    # The one Vigil-specific line of a Sentry setup: the DSN names the collector and the project.
    site.configure(f"http://{project.key}@{stack.collector_url.removeprefix('http://')}/{project.id}",
                   RELEASE, ENVIRONMENT)
    seen = Visit()
    try:
        visit(stack, site, seen)
    finally:
        save_envelopes(major, seen)
    yield Run(major, stack, site, project, seen)
    site.stop()


def visit(stack: Stack, site: SentrySite, seen: Visit) -> None:
    """Load, throw, reject, throw again, capture, message, fail a request and a fetch, navigate,
    then leave (which flushes INP and CLS)."""
    from playwright.sync_api import Error as PlaywrightError


    def request(sent: Any) -> None:
        if sent.url.startswith(stack.collector_url):
            seen.sent.append(sent.post_data or "")

    def response(answer: Any) -> None:
        if answer.url.startswith(stack.collector_url):
            try:
                body = answer.text()
            except PlaywrightError:  # answered after the page was left: the status is all there is
                body = ""
            seen.answers.append((answer.status, body))

    context = stack.browser.new_context()
    context.on("request", request)
    context.on("response", response)
    page = context.new_page()
    page.goto(site.url + "/", wait_until="load")
    page.wait_for_function("() => !!window.__SENTRY__")
    page.wait_for_timeout(500)  # past the first paint, so the click is an interaction for INP
    for button in ("#add", "#recommend", "#add", "#checkout", "#message", "#pay", "#sync"):
        page.click(button)
        page.wait_for_timeout(200)
    wait_until(page, lambda: sum('"type":"event"' in body for body in seen.sent) >= EVENTS, f"{EVENTS} error envelopes")
    # the pageload ends when the page has been idle a while; its vitals are sent then
    wait_until(page, lambda: {"LCP", "FCP"} <= seen.sent_vitals(), "the pageload's Web Vitals")
    # hidden, as when the visitor switches tabs: the SDK reports INP (and CLS) now, where the
    # page's requests can still be seen (web-vitals' own tests hide a page the same way)
    page.evaluate(HIDE)
    wait_until(page, lambda: "INP" in seen.sent_vitals(), "the INP reported when the page is hidden")
    page.evaluate(SHOW)
    page.click("#cart")  # a single-page navigation
    wait_until(page, lambda: any('"navigation"' in body for body in seen.sent), "the navigation")
    page.goto(site.url + "/blank", wait_until="load")  # pagehide: INP and CLS, if the browser has them
    page.wait_for_timeout(1000)
    context.close()


def save_envelopes(major: str, seen: Visit) -> None:
    """With ``VIGIL_SENTRY_CAPTURE=<dir>``, keep what the SDK sent as ``<dir>/<major>/NN.envelope``
    (how ``tests/unit/sentry_envelopes/`` is refreshed from a real SDK)."""
    folder = os.environ.get("VIGIL_SENTRY_CAPTURE")
    if folder:
        target = Path(folder) / major
        target.mkdir(parents=True, exist_ok=True)
        for number, body in enumerate(seen.sent):
            (target / f"{number:02d}.envelope").write_text(body)


def wait_until(page: Any, check: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        page.wait_for_timeout(100)


def stored(run: Run, done: Any, what: str) -> list[dict[str, Any]]:
    """Poll ClickHouse until ``done(rows)``; fail with what arrived and the processes' logs."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        rows = run.rows()
        if done(rows):
            return rows
        for process in run.processes:
            assert process.alive, f"`vigil {' '.join(process.args)}` died:\n{process.log_tail()}"
        if time.monotonic() > deadline:
            seen = Counter((r["type"], r["vital_name"] or r["error_type"]) for r in rows)
            pytest.fail(f"{what}: not in ClickHouse after {ARRIVAL_TIMEOUT_S:.0f}s; rows: {dict(seen)}\n"
                        + "\n".join(p.log_tail(15) for p in run.processes))
        time.sleep(0.3)


def errors_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["type"] == "error"]


def all_errors(run: Run) -> list[dict[str, Any]]:
    return errors_of(stored(run, lambda r: len(errors_of(r)) >= EVENTS, f"{EVENTS} errors"))


def test_the_collector_answers_the_sdk_like_sentry(run: Run):
    assert len(run.visit.answers) >= 8 and all(status == 200 for status, _ in run.visit.answers), run.visit.answers
    # Chromium keeps no body of a keepalive fetch for Playwright to read: replay one envelope the
    # SDK sent (to a project of its own, so the rows above stay the visit's) and read the answer.
    sent = next(body for body in run.visit.sent if '"type":"event"' in body)
    other = projects.create(run.stack.warehouse, f"sentry-replay-{uuid.uuid4().hex[:8]}")
    answer = httpx.post(f"{run.stack.collector_url}/api/{other.id}/envelope/", content=sent.encode(),
                        params={"sentry_key": other.key, "sentry_version": "7"},
                        headers={"content-type": "text/plain;charset=UTF-8"}, timeout=30)
    event_id = json.loads(sent.split("\n", 1)[0])["event_id"]
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": event_id, "accepted": 1, "rejected": []}


def test_the_same_error_thrown_twice_is_one_group_with_two_events(run: Run):
    errors = all_errors(run)
    assert len(errors) == EVENTS
    groups = Counter(row["fingerprint"] for row in errors)
    amount = [row for row in errors if row["error_message"] == AMOUNT]
    assert len(amount) == 2 and amount[0]["fingerprint"] == amount[1]["fingerprint"] != 0
    assert groups[amount[0]["fingerprint"]] == 2 and len(groups) == EVENTS - 1


def test_a_thrown_error_keeps_its_stack_and_context(run: Run):
    error = next(row for row in all_errors(run) if row["error_message"] == AMOUNT)
    assert (error["error_kind"], error["error_type"], error["data"]["handled"]) == ("js", "TypeError", False)
    # symbolicated with the uploaded map: the original file, line and function, innermost first
    frames = error["data"]["frames"]
    assert (frames[0]["filename"], frames[0]["lineno"], frames[0]["function"]) == ("/src/app.js", 16, "priceOf")
    # V8 names the click handler's frame HTMLButtonElement.<minified>; the original name comes back
    assert (frames[1]["filename"], frames[1]["lineno"], frames[1]["function"]) == ("/src/app.js", 20, "addToCart")
    assert all(frame["raw_filename"] == run.site.url + "/app.min.js" for frame in frames)
    assert all(frame["raw_lineno"] >= 1 and frame["raw_colno"] >= 1 for frame in frames)
    assert (error["release"], error["environment"]) == (RELEASE, ENVIRONMENT)
    assert error["url"] == run.site.url + "/"
    assert (error["sdk_name"], error["sdk_version"].split(".")[0]) == ("sentry.javascript.browser", run.major)
    assert error["data"]["breadcrumbs"][-1]["category"] == "ui.click"


def test_unhandled_rejections_and_failed_fetches_are_promise_errors(run: Run):
    errors = all_errors(run)
    rejection = next(row for row in errors if row["error_message"] == "recommendations service answered 503")
    assert (rejection["error_kind"], rejection["error_type"], rejection["data"]["handled"]) == ("promise", "TypeError", False)
    # 8.x says "Failed to fetch", later majors add the host: "Failed to fetch (127.0.0.1:9)"
    failed = next(row for row in errors if row["error_message"].startswith("Failed to fetch"))
    assert (failed["error_kind"], failed["error_type"], failed["url"]) == ("promise", "TypeError", run.site.url + "/")


def test_a_captured_exception_has_its_user_tags_and_breadcrumbs(run: Run):
    captured = next(row for row in all_errors(run) if row["error_type"] == "SyntaxError")
    assert captured["error_kind"] == "js" and captured["data"]["handled"] is True
    assert captured["user_id"] == "user-42"
    assert captured["tags"] == {"plan": "pro", "step": "payment"}
    crumb = next(c for c in reversed(captured["data"]["breadcrumbs"]) if c["category"] == "cart")
    assert (crumb["message"], crumb["level"], crumb["data"]) == ("checkout started", "info", {"items": 3})
    assert (captured["release"], captured["environment"]) == (RELEASE, ENVIRONMENT)


def test_a_captured_message_is_a_handled_error(run: Run):
    message = next(row for row in all_errors(run) if row["error_message"] == "cart viewed")
    assert (message["data"]["handled"], message["url"]) == (True, run.site.url + "/")
    # 8.x–10.x send a message alone, 11.x with a synthetic exception (no type, mechanism.synthetic)
    # holding the call's stack: either is a Message titled by its text, as Sentry shows it
    assert (message["error_kind"], message["error_type"]) == ("js", "Message")


def test_an_http_client_error_is_an_api_failure_of_its_page(run: Run):
    # httpClientIntegration puts the API's URL where an event's page goes (request.url); the
    # failure is filed under the page it happened on, as an API failure like Vigil's SDK reports
    errors = all_errors(run)
    failures = [row for row in errors if row["error_kind"] == "api"]
    assert len(failures) == 1, [(row["error_kind"], row["error_type"], row["url"]) for row in errors]
    failure = failures[0]
    assert (failure["error_type"], failure["error_message"]) == ("HttpError", "POST /api/pay → 503")
    assert (failure["url"], failure["path"]) == (run.site.url + "/", "/")
    assert failure["data"]["request"] == {"method": "POST", "url": run.site.url + "/api/pay", "status": 503,
                                          "ok": False, "failure": "status"}
    [request] = run.stack.warehouse.query(
        "SELECT http_method, http_url, http_status FROM events FINAL WHERE project_id = {p:UInt32} "
        "AND type = 'error' AND event_id = {e:String}", parameters={"p": run.project.id, "e": failure["event_id"]}
    ).result_rows
    assert request == ("POST", run.site.url + "/api/pay", 503)
    assert (failure["release"], failure["environment"], failure["user_id"]) == (RELEASE, ENVIRONMENT, "user-42")
    # the stack of the fetch call, symbolicated: the page's pay() made the request
    assert failure["data"]["frames"][0]["filename"] == "/src/app.js"
    assert "pay" in {frame["function"] for frame in failure["data"]["frames"]}


def test_every_web_vital_the_sdk_sent_is_stored_with_its_page_and_target(run: Run):
    # LCP, FCP, TTFB and CLS come with the pageload (a v8–v10 transaction's measurements, v11's
    # spans); INP when the page is hidden (v8–v10: a standalone span without URL, v11: a span)
    sent = run.visit.sent_vitals()
    assert sent == set(VITALS), sent
    rows = stored(run, lambda r: sent <= {row["vital_name"] for row in r if row["type"] == "web_vital"}
                  and {"navigate", "spa"} <= {row["data"].get("navigation_type") for row in r if row["type"] == "page_view"},
                  f"the page views and {sorted(sent)}")
    vitals = [row for row in rows if row["type"] == "web_vital"]
    for row in vitals:
        what = (row["vital_name"], row["url"], row["path"], row["release"], row["environment"])
        assert row["url"] in (run.site.url + "/", run.site.url + "/cart") and row["path"] in ("/", "/cart"), what
        assert (row["release"], row["environment"]) == (RELEASE, ENVIRONMENT) and row["vital_value"] >= 0, what
    by_name = {row["vital_name"]: row for row in vitals}
    # the largest paint is the paragraph or, when it is reported before the paragraph painted, the heading
    assert by_name["LCP"]["vital_value"] > 0 and by_name["LCP"]["target"] in ("body > p", "body > h1")
    assert max(row["vital_value"] for row in vitals if row["vital_name"] == "CLS") > 0  # the banner's layout shift
    assert all(row["target"].startswith("body > button#") for row in vitals if row["vital_name"] == "INP")
    assert by_name["INP"]["data"]["attribution"]["interaction_type"] == "click"


def test_the_pageload_and_the_navigation_are_page_views(run: Run):
    rows = stored(run, lambda r: len([row for row in r if row["type"] == "page_view"]) >= 2
                  and len(errors_of(r)) >= EVENTS, "two page views and the errors")
    views = {row["data"]["navigation_type"]: row for row in rows if row["type"] == "page_view"}
    assert (views["navigate"]["url"], views["spa"]["url"]) == (run.site.url + "/", run.site.url + "/cart")
    # the page's errors and the pageload's vitals share its trace as their session (INP and CLS
    # may be final only after the navigation, which starts a trace of its own; 11.x reports an
    # LCP for the navigation too, on /cart)
    pageload = [row for row in rows if row["type"] == "web_vital" and row["vital_name"] in ("LCP", "FCP", "TTFB")
                and row["path"] == "/"]
    page = [*pageload, *errors_of(rows)]
    assert {row["session_id"] for row in page} == {views["navigate"]["session_id"]}, [
        (row["vital_name"] or row["error_message"], row["session_id"]) for row in [*page, views["navigate"]]]


def test_the_compatibility_row_is_measured(run: Run, matrix: dict[str, dict[str, Any]]):
    """What this major sent, what Vigil stored and what it accepted without storing: one row of
    docs/sentry.md's table (``VIGIL_SENTRY_MATRIX=<file>`` writes the table)."""
    rows = stored(run, lambda r: len(errors_of(r)) >= EVENTS and set(VITALS) <= {row["vital_name"] for row in r},
                  "the visit's rows")
    matrix[run.major] = sentry_matrix.measure(run.visit.sent, rows)
    assert matrix[run.major]["stored"]["web_vital"] >= len(VITALS)
    assert matrix[run.major]["refused"] == {}  # nothing any major sends is refused
