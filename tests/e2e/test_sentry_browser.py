"""The official @sentry/browser SDK, unmodified, sending to Vigil through the real pipeline.

A page (``tests/e2e/sentry_app``: @sentry/browser from npm, bundled and minified by esbuild)
is configured as a Sentry user configures it — a DSN, here ``http://<key>@<collector>/<project>``,
a release, an environment, ``browserTracingIntegration`` — and served from its own origin to
Debian's Chromium. It throws the same error twice (with another error between them, as
Sentry's Dedupe drops an immediate repeat), leaves a promise rejection unhandled, and
captures an exception with a user, tags and a breadcrumb. Everything travels the real
``vigil collect`` → Kafka → ``vigil process`` → ClickHouse path, and the tests read the rows
back: one group for the repeated error with two events, frames symbolicated from the source
map uploaded with ``vigil sourcemaps upload`` (the map itself is never served), breadcrumbs,
release, environment, user and tags, and the pageload's page view and Web Vitals.
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
from typing import Any

import httpx
import pytest

from pipeline import projects
from pipeline.broker.topics import ensure_topics
from pipeline.settings import REPO_ROOT
from tests.support import processes
from tests.support.sdk_site import CHROMIUM, CHROMIUM_ARGS
from tests.support.sentry_site import DIST, SentrySite, build_app

pytestmark = pytest.mark.e2e

RELEASE = "shop@1.2.3"
ENVIRONMENT = "staging"
ARRIVAL_TIMEOUT_S = 45.0
COLUMNS = ("type", "event_id", "session_id", "user_id", "release", "environment", "url", "path", "sdk_name", "sdk_version",
           "tags", "error_kind", "error_type", "error_message", "fingerprint", "vital_name", "vital_value", "target",
           "data")
AMOUNT = "Cannot read properties of undefined (reading 'amount')"


@dataclass
class Stack:
    site: SentrySite
    collector_url: str
    project: projects.Project
    warehouse: Any
    processes: list[processes.VigilProcess]

    def rows(self) -> list[dict[str, Any]]:
        query = (f"SELECT {', '.join(COLUMNS)} FROM events FINAL WHERE project_id = {{p:UInt32}} "
                 "ORDER BY timestamp, event_id")
        rows = [dict(zip(COLUMNS, row)) for row in
                self.warehouse.query(query, parameters={"p": self.project.id}).result_rows]
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows


@dataclass
class Visit:
    """What the page's SDK sent to the collector, and what it was answered."""

    sent: list[str] = field(default_factory=list)  # envelope bodies
    answers: list[tuple[int, str]] = field(default_factory=list)  # (status, body when readable)

    def sent_vitals(self) -> set[str]:
        """The Web Vitals the SDK reported, read from the span attributes it sent."""
        names = set()
        for body in self.sent:
            for name in ("lcp", "fcp", "ttfb", "cls", "inp"):
                if f'"browser.web_vital.{name}.value"' in body:
                    names.add(name.upper())
        return names


@pytest.fixture(scope="module")
def stack(kafka, clickhouse, tmp_path_factory) -> Iterator[Stack]:
    try:
        build_app()
    except RuntimeError as error:
        pytest.fail(str(error))
    site = SentrySite()
    logs = tmp_path_factory.mktemp("sentry-browser")
    run = uuid.uuid4().hex[:8]
    topics = {"events": f"sentry.{run}.events", "dlq": f"sentry.{run}.dlq"}
    ensure_topics(kafka.bootstrap, {topics["events"]: 2, topics["dlq"]: 1})
    env = {"VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_CLICKHOUSE_URL": clickhouse.url,
           "VIGIL_DATA_DIR": str(logs / "vigil"), "VIGIL_EVENTS_TOPIC": topics["events"],
           "VIGIL_DLQ_TOPIC": topics["dlq"], "VIGIL_PROCESSOR_GROUP": f"sentry-{run}"}
    warehouse = clickhouse.client()
    project = projects.create(warehouse, f"sentry-browser-{run}", origins=[site.url])
    # As a Sentry user's build step would: the release's source maps, uploaded before it is live.
    upload = subprocess.run([sys.executable, "-m", "pipeline.cli", "sourcemaps", "upload", "--project", str(project.id),
                             "--release", RELEASE, "--url-prefix", "~/", str(DIST)], cwd=REPO_ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    collector, url = processes.collector(env, logs / "collector.log")
    processor = processes.VigilProcess(["process"], env, logs / "processor.log").start()
    # The one Vigil-specific line of a Sentry setup: the DSN names the collector and the project.
    site.configure(f"http://{project.key}@{url.removeprefix('http://')}/{project.id}", RELEASE, ENVIRONMENT)
    yield Stack(site, url, project, warehouse, [collector, processor])
    collector.stop()
    processor.stop()
    site.stop()


@pytest.fixture(scope="module")
def visit(stack: Stack) -> Visit:
    """One visit: load, throw, reject, throw again, capture, then leave (which flushes INP and CLS)."""
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    seen = Visit()

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

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.on("request", request)
        context.on("response", response)
        page = context.new_page()
        page.goto(stack.site.url + "/", wait_until="load")
        page.wait_for_function("() => !!window.__SENTRY__")
        page.wait_for_timeout(500)  # past the first paint, so the click is an interaction for INP
        for button in ("#add", "#recommend", "#add", "#checkout"):
            page.click(button)
            page.wait_for_timeout(200)
        wait_until(page, lambda: sum('"type":"event"' in body for body in seen.sent) >= 4, "four error envelopes")
        # the pageload span ends when the page has been idle a while; its spans are streamed then
        wait_until(page, lambda: {"LCP", "FCP"} <= seen.sent_vitals(), "the pageload's Web Vitals")
        page.goto(stack.site.url + "/blank", wait_until="load")  # pagehide: INP and CLS, if the browser has them
        page.wait_for_timeout(1000)
        browser.close()
    return seen


def wait_until(page: Any, check: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        page.wait_for_timeout(100)


def stored(stack: Stack, done: Any, what: str) -> list[dict[str, Any]]:
    """Poll ClickHouse until ``done(rows)``; fail with what arrived and the processes' logs."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        rows = stack.rows()
        if done(rows):
            return rows
        for process in stack.processes:
            assert process.alive, f"`vigil {' '.join(process.args)}` died:\n{process.log_tail()}"
        if time.monotonic() > deadline:
            seen = Counter((r["type"], r["vital_name"] or r["error_type"]) for r in rows)
            pytest.fail(f"{what}: not in ClickHouse after {ARRIVAL_TIMEOUT_S:.0f}s; rows: {dict(seen)}\n"
                        + "\n".join(p.log_tail(15) for p in stack.processes))
        time.sleep(0.3)


def errors_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["type"] == "error"]


def test_the_collector_answers_the_sdk_like_sentry(stack: Stack, visit: Visit):
    assert len(visit.answers) >= 6 and all(status == 200 for status, _ in visit.answers), visit.answers
    # Chromium keeps no body of a keepalive fetch for Playwright to read: replay one envelope the
    # SDK sent (to a project of its own, so the rows above stay the visit's) and read the answer.
    sent = next(body for body in visit.sent if '"type":"event"' in body)
    other = projects.create(stack.warehouse, f"sentry-replay-{uuid.uuid4().hex[:8]}")
    answer = httpx.post(f"{stack.collector_url}/api/{other.id}/envelope/", content=sent.encode(),
                        params={"sentry_key": other.key, "sentry_version": "7"},
                        headers={"content-type": "text/plain;charset=UTF-8"}, timeout=30)
    event_id = json.loads(sent.split("\n", 1)[0])["event_id"]
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": event_id, "accepted": 1, "rejected": []}


def test_the_same_error_thrown_twice_is_one_group_with_two_events(stack: Stack, visit: Visit):
    rows = stored(stack, lambda r: len(errors_of(r)) >= 4, "four errors")
    errors = errors_of(rows)
    assert len(errors) == 4
    groups = Counter(row["fingerprint"] for row in errors)
    amount = [row for row in errors if row["error_message"] == AMOUNT]
    assert len(amount) == 2 and amount[0]["fingerprint"] == amount[1]["fingerprint"] != 0
    assert groups[amount[0]["fingerprint"]] == 2 and len(groups) == 3


def test_a_thrown_error_keeps_its_stack_and_context(stack: Stack, visit: Visit):
    error = next(row for row in errors_of(stored(stack, lambda r: len(errors_of(r)) >= 4, "four errors"))
                 if row["error_message"] == AMOUNT)
    assert (error["error_kind"], error["error_type"], error["data"]["handled"]) == ("js", "TypeError", False)
    # symbolicated with the uploaded map: the original file, line and function, innermost first
    frames = error["data"]["frames"]
    assert (frames[0]["filename"], frames[0]["lineno"], frames[0]["function"]) == ("/src/app.js", 16, "priceOf")
    # V8 names the click handler's frame HTMLButtonElement.<minified>; the original name comes back
    assert (frames[1]["filename"], frames[1]["lineno"], frames[1]["function"]) == ("/src/app.js", 20, "addToCart")
    assert all(frame["raw_filename"] == stack.site.url + "/app.min.js" for frame in frames)
    assert all(frame["raw_lineno"] >= 1 and frame["raw_colno"] >= 1 for frame in frames)
    assert (error["release"], error["environment"]) == (RELEASE, ENVIRONMENT)
    assert error["url"] == stack.site.url + "/"
    assert (error["sdk_name"], error["sdk_version"].split(".")[0]) == ("sentry.javascript.browser", "11")
    assert error["data"]["breadcrumbs"][-1]["category"] == "ui.click"


def test_an_unhandled_rejection_is_a_promise_error(stack: Stack, visit: Visit):
    rows = errors_of(stored(stack, lambda r: len(errors_of(r)) >= 4, "four errors"))
    rejection = next(row for row in rows if row["error_message"] == "recommendations service answered 503")
    assert (rejection["error_kind"], rejection["error_type"], rejection["data"]["handled"]) == ("promise", "TypeError", False)


def test_a_captured_exception_has_its_user_tags_and_breadcrumbs(stack: Stack, visit: Visit):
    rows = errors_of(stored(stack, lambda r: len(errors_of(r)) >= 4, "four errors"))
    captured = next(row for row in rows if row["error_type"] == "SyntaxError")
    assert captured["error_kind"] == "js" and captured["data"]["handled"] is True
    assert captured["user_id"] == "user-42"
    assert captured["tags"] == {"plan": "pro", "step": "payment"}
    crumb = captured["data"]["breadcrumbs"][-1]
    assert (crumb["category"], crumb["message"], crumb["level"], crumb["data"]) == ("cart", "checkout started", "info",
                                                                                   {"items": 3})
    assert (captured["release"], captured["environment"]) == (RELEASE, ENVIRONMENT)


def test_the_pageload_is_a_page_view_with_its_web_vitals(stack: Stack, visit: Visit):
    # LCP, FCP and TTFB are streamed with the pageload span (seen on the wire); INP and CLS when
    # the page is left, which Playwright does not see — ClickHouse does.
    assert {"LCP", "FCP", "TTFB"} <= visit.sent_vitals()
    expected = {"LCP", "FCP", "TTFB", "INP", "CLS"}
    rows = stored(stack, lambda r: expected <= {row["vital_name"] for row in r if row["type"] == "web_vital"}
                  and any(row["type"] == "page_view" for row in r), f"the page view and {sorted(expected)}")
    [view] = [row for row in rows if row["type"] == "page_view"]
    assert view["url"] == stack.site.url + "/" and view["data"] == {"navigation_type": "navigate"}
    vitals = {row["vital_name"]: row for row in rows if row["type"] == "web_vital"}
    assert Counter(row["vital_name"] for row in rows if row["type"] == "web_vital") == dict.fromkeys(expected, 1)
    assert all(row["vital_value"] >= 0 and row["release"] == RELEASE for row in vitals.values())
    assert vitals["LCP"]["vital_value"] > 0 and vitals["LCP"]["target"] == "body > p"
    assert vitals["INP"]["target"].startswith("body > button#")
    assert vitals["INP"]["data"]["attribution"]["interaction_type"] == "click"
    # INP and CLS come after the pageload, in an envelope of their own and without a URL: they
    # still name the page, which the collector remembered from its pageload segment
    assert {name: (row["url"], row["path"]) for name, row in vitals.items()} == dict.fromkeys(
        expected, (stack.site.url + "/", "/"))
    # errors and vitals of the page share its trace as their session
    assert {row["session_id"] for row in rows} == {view["session_id"]}
