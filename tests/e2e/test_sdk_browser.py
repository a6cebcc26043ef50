"""The browser SDK in Debian's Chromium, through the real pipeline, into ClickHouse.

Playwright drives Chromium through visits of the SDK's fixture shop (``sdk-js/e2e/fixtures``,
served from its own loopback port, so every SDK request is cross-origin with the project's
allowed origin configured). The SDK sends to a real ``vigil collect`` → Kafka → ``vigil
process`` → ClickHouse, and each test reads back the exact rows of ``events FINAL`` for one
visitor: page views (load and SPA), every Web Vital with its attribution, resource timings,
each error kind with frames, API failures, clicks, form submits, time on page, custom
events — and each transport (fetch keepalive, sendBeacon, image pixel, WebSocket), an
offline spell, a page closed right after an error, failures before a late SDK (held by the
loader snippet), and the refusals (a disallowed origin, a wrong key).

All visits run once per module (one collector and one processor), then the tests wait for
their rows; the whole module takes under a minute (the visits about 25 s).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pipeline.warehouse import projects
from pipeline import queries
from pipeline.broker.topics import ensure_topics
from pipeline.queries import Filters
from pipeline.contract.vitals import rate
from tests.support import processes
from tests.support.kafka import free_ports
from tests.support.sdk_site import CHROMIUM, CHROMIUM_ARGS, LATE_S, FixtureSite

pytestmark = pytest.mark.e2e

ARRIVAL_TIMEOUT_S = 45.0
COLUMNS = ("type", "event_id", "timestamp", "session_id", "visitor_id", "user_id", "release", "environment",
           "url", "path", "referrer", "title", "browser", "device", "sdk_name", "tags",
           "vital_name", "vital_value", "vital_rating", "error_kind", "error_type", "error_message",
           "duration_ms", "http_method", "http_url", "http_status", "target", "name", "data")
ALL_VITALS = ["CLS", "FCP", "INP", "LCP", "LOAD", "TTFB", "TTI"]
SEND_LOG = """(() => {
  const note = (via, url, body, taken, keepalive) => {
    try {
      if (String(url).indexOf(COLLECTOR) !== 0) return;
      const log = JSON.parse(localStorage.getItem('e2e.sent') || '[]');
      log.push({ via, taken, keepalive, ids: JSON.parse(body).events.map((e) => e.event_id) });
      localStorage.setItem('e2e.sent', JSON.stringify(log));
    } catch (e) {}
  };
  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = function (url, data) {
    const taken = beacon(url, data);
    note('beacon', url, data, taken, true);
    return taken;
  };
  const fetch = window.fetch;
  window.fetch = function (url, init) {
    note('fetch', url, init && init.body, true, !!(init && init.keepalive));
    return fetch.apply(this, arguments);
  };
})();"""


@dataclass
class Stack:
    site: FixtureSite
    collector_url: str
    project: projects.Project
    warehouse: Any
    processes: list[processes.VigilProcess]

    def rows(self, visitor_id: str) -> list[dict[str, Any]]:
        """This visitor's events as stored, oldest first, ``data`` parsed."""
        query = (f"SELECT {', '.join(COLUMNS)} FROM events FINAL WHERE project_id = {{p:UInt32}} "
                 "AND visitor_id = {v:String} ORDER BY timestamp, event_id")
        result = self.warehouse.query(query, parameters={"p": self.project.id, "v": visitor_id})
        rows = [dict(zip(COLUMNS, row)) for row in result.result_rows]
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows

    def wait_for(self, visitor_id: str, done: Callable[[list[dict[str, Any]]], bool], what: str) -> list[dict[str, Any]]:
        """Poll ClickHouse until ``done(rows)``; fail with the rows seen and the processes' logs."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        while True:
            rows = self.rows(visitor_id)
            if done(rows):
                return rows
            for process in self.processes:
                assert process.alive, f"`vigil {' '.join(process.args)}` died:\n{process.log_tail()}"
            if time.monotonic() > deadline:
                seen = Counter((r["type"], r["vital_name"] or r["error_kind"] or r["name"]) for r in rows)
                pytest.fail(f"{what}: not in ClickHouse after {ARRIVAL_TIMEOUT_S:.0f}s; this visitor's rows: {dict(seen)}\n"
                            + "\n".join(p.log_tail(15) for p in self.processes))
            time.sleep(0.3)


@dataclass
class Visitor:
    """A fresh browser context: a new visitor (its id chosen here) and the SDK's requests it saw."""

    context: Any
    collector_url: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # resource type, method, URL
    responses: list[Any] = field(default_factory=list)  # Playwright responses from the collector
    failed: list[Any] = field(default_factory=list)  # Playwright requests to the collector that failed
    frames: list[str] = field(default_factory=list)  # WebSocket messages sent
    replies: list[str] = field(default_factory=list)  # WebSocket messages received
    beacon_ids: set[str] = field(default_factory=set)  # events handed to sendBeacon on the way out
    notes: dict[str, Any] = field(default_factory=dict)  # what the visit saw, for the tests

    def __post_init__(self) -> None:
        # The SDK keeps a stored visitor id: seeding it tells this visitor's rows apart.
        self.context.add_init_script(
            f"try {{ localStorage.getItem('vigil.vid') || localStorage.setItem('vigil.vid', '{self.id}') }} catch (e) {{}}")
        # Playwright does not see the requests of a page being closed: the page itself notes
        # the events it hands to sendBeacon (and fetch), where the next page can read them.
        self.context.add_init_script(SEND_LOG.replace("COLLECTOR", json.dumps(self.collector_url)))
        self.context.on("request", self._request)
        self.context.on("response", self._response)
        self.context.on("requestfailed", lambda r: self._ours(r.url) and self.failed.append(r))

    def _ours(self, url: str) -> bool:
        return url.startswith(self.collector_url)

    def _path(self, url: str) -> str:
        return url[len(self.collector_url):].split("?")[0]

    def _request(self, request: Any) -> None:
        if self._ours(request.url):
            self.requests.append((request.resource_type, request.method, request.url))

    def _response(self, response: Any) -> None:
        if self._ours(response.url):
            self.responses.append(response)

    def open(self, site_url: str, query: str = "", path: str = "/") -> Any:
        page = self.context.new_page()
        page.on("websocket", self._websocket)
        page.goto(site_url + path + query, wait_until="load")
        page.wait_for_function("window.Vigil && window.Vigil.SDK")
        return page

    def blank(self, site_url: str) -> Any:
        """A page of the site without the SDK: keeps the context alive, reads its storage."""
        page = self.context.new_page()
        page.goto(site_url + "/blank")
        return page

    def sends(self, page: Any) -> list[dict[str, Any]]:
        """What this visitor's pages handed to sendBeacon and fetch (read on ``page``, a page of the site)."""
        return page.evaluate("() => JSON.parse(localStorage.getItem('e2e.sent') || '[]')")

    def beaconed(self, page: Any) -> set[str]:
        """The event ids that went by sendBeacon (the browser took them)."""
        return {i for sent in self.sends(page) if sent["via"] == "beacon" and sent["taken"] for i in sent["ids"]}

    def _websocket(self, socket: Any) -> None:
        socket.on("framesent", lambda payload: self.frames.append(str(payload)))
        socket.on("framereceived", lambda payload: self.replies.append(str(payload)))

    def statuses(self) -> list[int]:
        return [response.status for response in self.responses]

    def sent_by(self) -> set[str]:
        """How the SDK's envelopes went: fetch, beacon, pixel, websocket."""
        kinds = {"fetch": "fetch", "ping": "beacon", "image": "pixel"}
        return {kinds.get(kind, kind) for kind, _, url in self.requests if self._path(url).endswith(("/events", "/pixel.gif"))} | (
            {"websocket"} if self.frames else set())


def close(page: Any) -> None:
    """Close like a visitor closing the tab: visibilitychange → hidden, pagehide, unload."""
    with page.expect_event("close"):
        page.close(run_before_unload=True)


def until(page: Any, check: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
    """Let the browser run (Playwright's events arrive meanwhile) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        page.wait_for_timeout(50)
    return value


# ── the pipeline and the browser, once per module ─────────────────────────────────────


@pytest.fixture(scope="module")
def stack(kafka, clickhouse, tmp_path_factory) -> Iterator[Stack]:
    try:
        site = FixtureSite().start()
    except RuntimeError as error:
        pytest.fail(str(error))
    logs = tmp_path_factory.mktemp("sdk-browser")
    run = uuid.uuid4().hex[:8]
    topics = {"events": f"sdk.{run}.events", "dlq": f"sdk.{run}.dlq"}
    ensure_topics(kafka.bootstrap, {topics["events"]: 2, topics["dlq"]: 1})
    env = {"VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_CLICKHOUSE_URL": clickhouse.url,
           "VIGIL_DATA_DIR": str(logs / "vigil"), "VIGIL_EVENTS_TOPIC": topics["events"],
           "VIGIL_DLQ_TOPIC": topics["dlq"], "VIGIL_PROCESSOR_GROUP": f"sdk-{run}"}
    warehouse = clickhouse.client()
    # Only the fixture site's own origin may send (http://localhost:<port> is another origin).
    project = projects.create(warehouse, f"sdk-browser-{run}", origins=[site.url])
    collector, url = processes.collector(env, logs / "collector.log")
    processor = processes.VigilProcess(["process"], env, logs / "processor.log").start()
    site.configure(url, project.id, project.key)
    yield Stack(site, url, project, warehouse, [collector, processor])
    collector.stop()
    processor.stop()
    site.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def visits(stack: Stack, browser: Any) -> dict[str, Visitor]:
    """Every visit of the module, driven one after the other; the tests then wait for their rows."""
    site = stack.site.url
    visitors: dict[str, Visitor] = {}

    def visitor(name: str) -> Visitor:
        visitors[name] = Visitor(browser.new_context(), stack.collector_url)
        return visitors[name]

    # A shopper who meets every failure of the shop, then closes the tab.
    shopper = visitor("shopper")
    page = shopper.open(site, "?utm_source=mail&token=secret")
    # A promo banner pushes the page down before any input: a layout shift for CLS.
    page.evaluate("""() => {
        const banner = document.createElement('div');
        banner.style.height = '120px';
        document.body.insertBefore(banner, document.body.firstChild);
    }""")
    page.wait_for_timeout(300)
    page.evaluate("""() => {
        Vigil.setTag('plan', 'pro');
        Vigil.identify('user-42', { plan: 'pro' });
        Vigil.track('coupon_applied', { code: 'SPRING' });
    }""")
    for button in CLICKED[:6]:
        page.click(button)
    shopper.notes["unreachable"] = f"http://127.0.0.1:{free_ports(1)[0]}/api/stock"  # nothing listens there
    page.evaluate("url => fetch(url).catch(() => 'network error')", shopper.notes["unreachable"])
    page.click("#subscribe")
    page.wait_for_timeout(1500)  # resource timings are read a second after load
    page.click("#spa")
    page.wait_for_timeout(300)
    keeper = shopper.blank(site)
    close(page)
    shopper.beacon_ids = until(keeper, lambda: shopper.beaconed(keeper), "the shopper's last beacon")
    shopper.notes["keeper"] = keeper

    # A nav bar: a "#!" placeholder clicked twice (no page view), then Home → About → Contact →
    # Home by real links, one selector shape for all three.
    navbar = visitor("navbar")
    page = navbar.open(site)
    page.click("#more")
    page.click("#more")
    page.wait_for_timeout(200)
    navbar.notes["placeholder_url"] = page.url
    for name in ("About", "Contact", "Home"):
        with page.expect_navigation(wait_until="load"):
            page.click(f"nav.menu a.nav-link:text-is('{name}')")
        page.wait_for_function("window.Vigil && window.Vigil.SDK")
    keeper = navbar.blank(site)
    close(page)
    navbar.beacon_ids = until(keeper, lambda: navbar.beaconed(keeper), "the nav bar visit's last beacon")

    # A glance: the page is hidden before any input, so LCP is final only then.
    glance = visitor("glance")
    page = glance.open(site)
    page.wait_for_timeout(300)
    keeper = glance.blank(site)
    close(page)
    glance.beacon_ids = until(keeper, lambda: glance.beaconed(keeper), "the glance's beacon")

    # An error, and the tab is closed at once: only sendBeacon can still deliver it.
    crash = visitor("crash")
    page = crash.open(site)
    keeper = crash.blank(site)
    page.click("#crash")
    close(page)
    crash.beacon_ids = until(keeper, lambda: crash.beaconed(keeper), "the crashed page's beacon")

    # Failures before the SDK arrives (the site sends it late), held by the loader snippet.
    early = visitor("early")
    page = early.open(site, path="/early")
    early.notes["happened"] = page.evaluate("() => window.early")
    keeper = early.blank(site)
    close(page)
    early.beacon_ids = until(keeper, lambda: early.beaconed(keeper), "the early page's beacon")

    # Each transport forced in turn; the page stays visible until its batch was answered.
    for transport in TRANSPORTS:
        sender = visitor(transport)
        page = sender.open(site, f"?transport={transport}")
        page.evaluate("name => { Vigil.track(name); Vigil.flush(); }", f"via-{transport}")
        if transport == "websocket":
            until(page, lambda: any('"status":202' in reply for reply in sender.replies), "a WebSocket reply")
        else:
            until(page, lambda: sender.statuses(), f"the collector's answer to the {transport}")
        sender.notes["sent_by"] = sender.sent_by()
        sender.notes["statuses"] = sender.statuses()
        if transport == "pixel":
            # What the SDK's image sees of the answer: a GIF that loads (or it would resend).
            sender.notes["image"] = page.evaluate("""url => new Promise((resolve) => {
                const image = new Image();
                image.onload = () => resolve('load ' + image.naturalWidth + 'x' + image.naturalHeight);
                image.onerror = () => resolve('error');
                image.src = url;
            })""", sender.requests[0][2])
        page.close()

    # Offline for a while: the SDK holds its events, a fetch of the page fails, then it is back.
    offline = visitor("offline")
    page = offline.open(site)
    until(page, lambda: offline.statuses(), "the first batch")
    offline.context.set_offline(True)
    sent = len(offline.requests)
    page.evaluate("() => { for (let i = 0; i < 5; i++) Vigil.track('offline-' + i); Vigil.flush(); }")
    page.click("#failing-fetch")  # a network error while offline
    page.wait_for_timeout(500)
    offline.notes["while_offline"] = offline.requests[sent:]
    offline.context.set_offline(False)
    until(page, lambda: len(offline.statuses()) >= 2, "the batch sent after reconnecting")
    # Closed while offline: the event waits in localStorage for the next page of the site.
    first = offline.open(site)
    keeper = offline.blank(site)
    offline.context.set_offline(True)
    first.evaluate("() => Vigil.track('closed-offline')")
    close(first)
    offline.notes["stored"] = keeper.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('vigil.q.'))")
    offline.context.set_offline(False)
    keeper.goto(site + "/", wait_until="load")
    until(keeper, lambda: keeper.evaluate("() => !Object.keys(localStorage).some(k => k.startsWith('vigil.q.'))"),
          "the stored events sent by the next page")
    page.close()

    # Refused: a wrong key, and a page on an origin the project does not allow. Both answers
    # are readable by the page (CORS on refusals): the SDK gives the batch up at once.
    wrong_key = visitor("wrong_key")
    page = wrong_key.open(site, "?key=" + "0" * 32)
    page.evaluate("() => { Vigil.track('refused'); Vigil.flush(); }")
    answer = until(page, lambda: wrong_key.responses and wrong_key.responses[0], "the wrong key's answer")
    wrong_key.notes.update(status=answer.status, body=answer.json(), headers=answer.all_headers())
    page.wait_for_timeout(1500)  # time enough for a first retry, if the SDK made one
    wrong_key.notes["requests"] = len(wrong_key.requests)
    page.close()
    # The shop on a port of its own is another origin, one the project does not allow (a
    # loopback one: Chromium's local network access checks would block localhost → 127.0.0.1).
    elsewhere = FixtureSite().start()
    elsewhere.configure(stack.collector_url, stack.project.id, stack.project.key)
    stranger = visitor("stranger")
    warnings: list[str] = []
    stranger.context.on("console", lambda message: message.text.startswith("[vigil]") and warnings.append(message.text))
    try:
        page = stranger.open(elsewhere.url, "?debug=1")
        page.evaluate("() => { Vigil.track('refused'); Vigil.flush(); }")
        answer = until(page, lambda: stranger.responses and stranger.responses[0], "the disallowed origin's answer")
        stranger.notes.update(origin=elsewhere.url, status=answer.status, body=answer.json(),
                              headers=answer.all_headers())
        page.wait_for_timeout(1500)  # time enough for a first retry (0.5–1 s of backoff), if the SDK made one
        stranger.notes.update(requests=list(stranger.requests), statuses=stranger.statuses(),
                              failed=list(stranger.failed), sends=stranger.sends(page), warnings=list(warnings))
        page.close()
    finally:
        elsewhere.stop()
    return visitors


# ── what must be in ClickHouse ────────────────────────────────────────────────────────

CLICKED = ["#buy", "#crash", "#reject", "#broken-image", "#failing-fetch", "#slow-xhr", "#subscribe", "#spa"]
TRANSPORTS = ["fetch", "beacon", "pixel", "websocket"]


def label(row: dict[str, Any]) -> tuple[str, str]:
    """(type, what it is): the vital's name, the error's kind, the custom event's name."""
    return row["type"], row["vital_name"] or row["error_kind"] or (row["name"] if row["type"] == "custom" else "")


def by_type(rows: list[dict[str, Any]], kind: str, sub: str = "") -> list[dict[str, Any]]:
    return [r for r in rows if label(r) == (kind, sub) or (not sub and r["type"] == kind)]


def one_each(*labels: tuple[str, str]) -> Counter:
    return Counter(labels)


def has(expected: Counter) -> Callable[[list[dict[str, Any]]], bool]:
    """Done once every expected (type, what) is there as often as expected (or more)."""
    return lambda rows: not (expected - Counter(label(r) for r in rows if r["type"] != "resource"))


SHOPPER = Counter({("page_view", ""): 2, ("identify", ""): 1, ("custom", "coupon_applied"): 1,
                   ("click", ""): len(CLICKED), ("form_submit", ""): 1, ("time_on_page", ""): 2,
                   ("error", "js"): 1, ("error", "promise"): 1, ("error", "resource"): 1, ("error", "api"): 3,
                   ("api_call", ""): 3, **{("web_vital", name): 1 for name in ALL_VITALS}})
PAGE_LOAD = Counter({("page_view", ""): 1, ("time_on_page", ""): 1,
                     **{("web_vital", name): 1 for name in ALL_VITALS if name != "INP"}})


@pytest.fixture(scope="module")
def shopper_rows(stack: Stack, visits: dict[str, Visitor]) -> list[dict[str, Any]]:
    rows = stack.wait_for(visits["shopper"].id, has(SHOPPER), "the shopper's visit")
    time.sleep(1)  # anything extra (a duplicate) would have come with the same batches
    return stack.rows(visits["shopper"].id)


def test_a_visit_lands_as_exactly_its_events(shopper_rows, visits, stack):
    site = stack.site.url
    assert Counter(label(r) for r in shopper_rows if r["type"] != "resource") == SHOPPER
    resources = {r["http_url"] for r in by_type(shopper_rows, "resource")}
    assert {f"{site}/app.js", f"{site}/vigil.min.js", f"{site}/hero.png"} <= resources
    assert len(by_type(shopper_rows, "resource")) == len(resources) <= 10  # each once, at most maxResources
    # the tab's last words went by sendBeacon, and every one of them landed
    assert visits["shopper"].beacon_ids <= {r["event_id"] for r in shopper_rows}
    assert {"time_on_page", "web_vital"} <= {r["type"] for r in shopper_rows if r["event_id"] in visits["shopper"].beacon_ids}
    # exactly what the page handed to fetch (keepalive, while visible) and sendBeacon (on close)
    sends = visits["shopper"].sends(visits["shopper"].notes["keeper"])
    assert {i for sent in sends for i in sent["ids"]} == {r["event_id"] for r in shopper_rows}
    assert {(sent["via"], sent["keepalive"], sent["taken"]) for sent in sends} == {("fetch", True, True), ("beacon", True, True)}
    assert visits["shopper"].sent_by() == {"fetch"}  # the requests Playwright saw: the visible page's


def test_every_event_carries_its_context(shopper_rows):
    assert len({r["session_id"] for r in shopper_rows}) == 1
    for row in shopper_rows:
        assert (row["release"], row["environment"], row["sdk_name"]) == ("fixture@1.0.0", "e2e", "vigil-browser")
        assert "Chrome" in row["browser"] and row["device"]  # enriched from the User-Agent (HeadlessChrome)
    # identify() and setTag() apply from then on
    first_view = by_type(shopper_rows, "page_view")[0]
    assert (first_view["user_id"], first_view["tags"]) == ("", {})
    for row in by_type(shopper_rows, "click") + by_type(shopper_rows, "error"):
        assert (row["user_id"], row["tags"]) == ("user-42", {"plan": "pro"})
    [identify] = by_type(shopper_rows, "identify")
    assert identify["data"] == {"user_id": "user-42", "traits": {"plan": "pro"}}
    [custom] = by_type(shopper_rows, "custom")
    assert custom["data"] == {"name": "coupon_applied", "props": {"code": "SPRING"}}


def test_page_views_on_load_and_on_spa_navigation(shopper_rows, stack):
    site = stack.site.url
    landing = f"{site}/?utm_source=mail&token=[Filtered]"  # the secret never leaves the page
    views = [(r["data"]["navigation_type"], r["url"], r["path"], r["referrer"], r["title"])
             for r in by_type(shopper_rows, "page_view")]
    assert views == [("navigate", landing, "/", "", "Vigil fixture shop"),
                     ("spa", f"{site}/cart", "/cart", landing, "Vigil fixture shop")]
    assert not any("secret" in json.dumps(r, default=str) for r in shopper_rows)


def test_web_vitals_with_attribution_and_no_sdk_rating(shopper_rows, stack):
    vitals = {r["vital_name"]: r for r in by_type(shopper_rows, "web_vital")}
    for name, row in vitals.items():
        assert row["vital_value"] >= 0, name
        assert row["data"]["navigation_type"] == "navigate"
        # the SDK sends no rating: the processor rates every vital from contract/vitals.json
        assert "rating" not in row["data"], name
        assert row["vital_rating"] == rate(name, row["vital_value"]), name
    assert vitals["TTFB"]["vital_value"] <= vitals["FCP"]["vital_value"] <= vitals["LCP"]["vital_value"]
    assert vitals["LCP"]["target"] == "img#hero.hero"
    assert vitals["LCP"]["data"]["attribution"]["url"] == f"{stack.site.url}/hero.png"
    assert vitals["CLS"]["vital_value"] > 0 and vitals["CLS"]["target"] == "img#hero.hero"  # pushed by the banner
    clicked = {r["target"] for r in by_type(shopper_rows, "click")}
    assert vitals["INP"]["target"] in clicked
    assert vitals["INP"]["data"]["attribution"]["interaction_type"] == "pointer"
    breakdown = vitals["LOAD"]["data"]["breakdown"]
    assert list(breakdown) == ["redirect", "dns", "tcp", "tls", "request", "response", "dom", "load"]
    assert vitals["TTI"]["vital_value"] <= vitals["LOAD"]["vital_value"]  # domInteractive comes before the load event
    assert sum(breakdown.values()) <= vitals["LOAD"]["vital_value"] + 1


def test_resource_timings(shopper_rows, stack):
    resources = {r["http_url"]: r for r in by_type(shopper_rows, "resource")}
    hero = resources[f"{stack.site.url}/hero.png"]
    assert hero["data"]["initiator_type"] == "img"
    assert hero["data"]["transfer_size"] > 150_000  # the noisy PNG, uncompressible
    assert hero["duration_ms"] == hero["data"]["duration"] >= 0
    assert resources[f"{stack.site.url}/app.js"]["data"]["initiator_type"] == "script"
    assert not any(url.startswith(stack.collector_url) for url in resources)  # not the SDK's own requests


def test_errors_runtime_promise_and_resource(shopper_rows, stack):
    site = stack.site.url
    [js] = by_type(shopper_rows, "error", "js")
    assert (js["error_type"], js["data"]["handled"]) == ("TypeError", False)
    assert "price" in js["error_message"]
    frames = js["data"]["frames"]
    assert [(f["function"], f["filename"], f["lineno"], f["in_app"]) for f in frames[:2]] == [
        ("priceOf", f"{site}/app.js", 3, True), ("checkout", f"{site}/app.js", 7, True)]
    crumbs = [(c["category"], c["message"]) for c in js["data"]["breadcrumbs"]]
    assert crumbs[-2:] == [("ui.click", "button#buy.btn-primary"), ("ui.click", "button#crash")]
    [promise] = by_type(shopper_rows, "error", "promise")
    assert (promise["error_type"], promise["error_message"]) == ("Error", "cart service unavailable")
    assert promise["data"]["frames"][0]["function"] == "loadCart"
    [resource] = by_type(shopper_rows, "error", "resource")
    assert (resource["http_url"], resource["data"]["element"]) == (f"{site}/missing.png", "img")


def test_api_failures_and_calls(shopper_rows, visits, stack):
    site, unreachable = stack.site.url, visits["shopper"].notes["unreachable"]
    failures = sorted((r["error_type"], r["http_method"], r["http_url"], r["http_status"], r["data"]["request"]["failure"])
                      for r in by_type(shopper_rows, "error", "api"))
    assert failures == [("HttpError", "POST", f"{site}/api/cart", 500, "status"),
                        ("NetworkError", "GET", unreachable, 0, "network"),
                        ("TimeoutError", "GET", f"{site}/api/slow", 0, "timeout")]
    calls = sorted((r["http_method"], r["http_url"], r["http_status"], r["data"]["ok"]) for r in by_type(shopper_rows, "api_call"))
    assert calls == sorted([("GET", f"{site}/api/slow", 0, False), ("GET", unreachable, 0, False),
                            ("POST", f"{site}/api/cart", 500, False)])
    assert all(r["duration_ms"] >= 0 for r in by_type(shopper_rows, "api_call"))


def test_clicks_form_submit_and_time_on_page(shopper_rows, stack):
    clicks = by_type(shopper_rows, "click")
    assert [r["data"]["element_id"] for r in clicks] == [c.lstrip("#") for c in CLICKED]
    buy = clicks[0]
    assert buy["target"] == "button#buy.btn-primary"
    assert (buy["data"]["text"], buy["data"]["attributes"]) == ("Add to cart", {"data-vigil-product": "42"})
    assert buy["data"]["x"] > 0 and buy["data"]["y"] > 120  # below the banner
    [submit] = by_type(shopper_rows, "form_submit")
    assert submit["data"] == {"action": f"{stack.site.url}/subscribe?token=[Filtered]", "method": "POST",
                              "form_id": "newsletter", "form_name": "newsletter"}
    assert (submit["target"], submit["name"]) == ("newsletter", "newsletter")
    assert not any("someone@example.com" in json.dumps(r, default=str) for r in shopper_rows)  # never a field value
    times = by_type(shopper_rows, "time_on_page")
    assert [r["path"] for r in times] == ["/", "/cart"]
    assert times[0]["duration_ms"] > 2000  # the clicks and the 1.5 s wait before the SPA navigation
    assert 0 < times[1]["duration_ms"] < times[0]["duration_ms"]


NAV = "body > nav.menu > a.nav-link"


def test_nav_links_are_rows_of_their_own_and_a_placeholder_is_no_page_view(stack, visits):
    site, navbar = stack.site.url, visits["navbar"]
    assert navbar.notes["placeholder_url"] == f"{site}/#!"  # the click did change the hash
    rows = stack.wait_for(navbar.id, has(Counter({("page_view", ""): 4, ("click", ""): 5})), "the nav bar visit")
    views = [(r["data"]["navigation_type"], r["path"]) for r in by_type(rows, "page_view")]
    assert views == [("navigate", "/"), ("navigate", "/about"), ("navigate", "/contact"), ("navigate", "/")]
    clicks = [(r["target"], r["data"]["text"], r["data"]["href"]) for r in by_type(rows, "click")]
    assert clicks == [("a#more", "More", f"{site}/#!")] * 2 + [
        (NAV, "About", f"{site}/about"), (NAV, "Contact", f"{site}/contact"), (NAV, "Home", f"{site}/")]
    # "Most clicked" on the Traffic page: three rows for the three links, each with its text and href
    now = datetime.now(timezone.utc)
    filters = Filters(stack.project.id, now - timedelta(hours=1), now + timedelta(minutes=1))
    most = queries.top_clicks(stack.warehouse, filters)
    assert sorted(r for r in most.rows() if r[0] in (NAV, "a#more")) == [
        ("a#more", "More", f"{site}/#!", 2, 1), (NAV, "About", f"{site}/about", 1, 1),
        (NAV, "Contact", f"{site}/contact", 1, 1), (NAV, "Home", f"{site}/", 1, 1)]


def test_a_page_hidden_before_any_input_reports_lcp_by_beacon(stack, visits):
    glance = visits["glance"]
    rows = stack.wait_for(glance.id, has(PAGE_LOAD), "the glance")
    assert Counter(label(r) for r in rows if r["type"] != "resource") == PAGE_LOAD  # no INP without input
    [lcp] = by_type(rows, "web_vital", "LCP")
    assert lcp["target"] == "img#hero.hero" and lcp["event_id"] in glance.beacon_ids
    [cls] = by_type(rows, "web_vital", "CLS")
    assert cls["vital_value"] == 0 and cls["event_id"] in glance.beacon_ids


def test_a_page_closed_right_after_an_error_still_delivers_it(stack, visits):
    crash = visits["crash"]
    rows = stack.wait_for(crash.id, has(one_each(("error", "js"))), "the crashed page's error")
    [error] = by_type(rows, "error", "js")
    assert error["event_id"] in crash.beacon_ids  # by sendBeacon, from the closing page
    assert error["data"]["frames"][0]["function"] == "priceOf"
    assert error["data"]["breadcrumbs"][-1]["message"] == "button#crash"


def test_errors_before_the_sdk_arrive_once_timed_when_they_happened(stack, visits):
    site, early = stack.site.url, visits["early"]
    expected = one_each(("error", "js"), ("error", "promise"), ("error", "resource"), ("page_view", ""))
    stack.wait_for(early.id, has(expected), "the errors the loader snippet held")
    time.sleep(1)  # a duplicate would have come with the same batches
    rows = stack.rows(early.id)
    errors = {r["error_kind"]: r for r in by_type(rows, "error")}
    assert len(by_type(rows, "error")) == 3 and set(errors) == {"js", "promise", "resource"}
    assert (errors["js"]["error_type"], errors["js"]["error_message"]) == ("TypeError", "boot failed: no config")
    assert errors["js"]["data"]["frames"][0]["function"] == "boot"
    assert (errors["promise"]["error_type"], errors["promise"]["error_message"]) == ("Error", "config fetch failed")
    assert (errors["resource"]["http_url"], errors["resource"]["data"]["element"]) == (f"{site}/missing.png", "img")
    [view] = by_type(rows, "page_view")
    happened = early.notes["happened"]  # ms since the epoch, as the page saw each failure
    for kind, key in (("js", "thrown"), ("promise", "rejected"), ("resource", "image")):
        row = errors[kind]
        assert (row["url"], row["path"]) == (f"{site}/early", "/early")
        stored = row["timestamp"].replace(tzinfo=timezone.utc).timestamp() * 1000
        # (the snippet sees a failed image a moment before the image's own onerror, compiled then, notes it)
        assert -100 <= stored - happened[key] < 500, f"{kind}: stored at {row['timestamp']}, happened at {happened[key]}"
        # the SDK arrived LATE_S later: its page view comes after every held error
        assert (view["timestamp"] - row["timestamp"]).total_seconds() > LATE_S / 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_each_transport_delivers(stack, visits, transport):
    sender = visits[transport]
    expected = PAGE_LOAD + one_each(("custom", f"via-{transport}"))
    if transport == "pixel":  # an image started while the page closes may be cancelled: what went before it
        expected -= one_each(("time_on_page", ""), ("web_vital", "LCP"), ("web_vital", "CLS"))
    rows = stack.wait_for(sender.id, has(expected), f"the events sent by {transport}")
    seen = Counter(label(r) for r in rows if r["type"] != "resource")
    assert seen == expected if transport != "pixel" else not (seen - PAGE_LOAD - expected)
    assert sender.notes["sent_by"] == {transport}
    if transport == "websocket":
        assert not sender.notes["statuses"]  # no HTTP request for events
    else:
        assert set(sender.notes["statuses"]) == {202}
    if transport == "pixel":
        assert sender.notes["image"] == "load 1x1"


def test_offline_and_back_loses_nothing_and_doubles_nothing(stack, visits):
    offline = visits["offline"]
    names = [f"offline-{i}" for i in range(5)] + ["closed-offline"]
    rows = stack.wait_for(offline.id, has(Counter({("custom", n): 1 for n in names})), "the offline events")
    assert offline.notes["while_offline"] == []  # nothing was even tried while offline
    assert offline.notes["stored"], "the page closed offline kept its events in localStorage"
    assert Counter(r["name"] for r in by_type(rows, "custom")) == Counter(names)
    failed = [r for r in by_type(rows, "error", "api")]
    assert [(r["http_url"], r["data"]["request"]["failure"]) for r in failed] == [(f"{stack.site.url}/api/cart", "network")]


def test_a_wrong_key_is_refused_and_not_retried(stack, visits):
    wrong_key = visits["wrong_key"]
    assert wrong_key.notes["status"] == 403 and wrong_key.notes["body"]["error"] == "wrong_key"
    # readable by the page (CORS), so the SDK knows it is final and does not resend it
    assert wrong_key.notes["headers"]["access-control-allow-origin"] == stack.site.url
    assert wrong_key.notes["requests"] == 1
    stack.wait_for(visits["shopper"].id, has(SHOPPER), "the shopper's visit")  # the pipeline has caught up
    assert stack.rows(wrong_key.id) == []


def test_a_disallowed_origin_is_refused_once_and_not_retried(stack, visits):
    stranger = visits["stranger"]
    assert stranger.notes["status"] == 403 and stranger.notes["body"]["error"] == "origin_not_allowed"
    # readable by the page (CORS on refusals), so the SDK knows the refusal is final…
    assert stranger.notes["headers"]["access-control-allow-origin"] == stranger.notes["origin"]
    assert stranger.notes["failed"] == [] and set(stranger.notes["statuses"]) == {403}
    # …sends each batch exactly once and never resends it…
    sends = stranger.notes["sends"]
    sent_ids = [event_id for sent in sends for event_id in sent["ids"]]
    assert sends and len(sent_ids) == len(set(sent_ids))
    assert len(stranger.notes["requests"]) == len(stranger.notes["statuses"]) == len(sends)
    # …and, in debug mode, says once per batch that it dropped it, and why
    assert len(stranger.notes["warnings"]) == len(sends)
    assert all("collector refused a batch: 403" in warning and "origin_not_allowed" in warning
               for warning in stranger.notes["warnings"])
    stack.wait_for(visits["shopper"].id, has(SHOPPER), "the shopper's visit")
    assert stack.rows(stranger.id) == []
