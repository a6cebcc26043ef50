"""The simulator's sessions: one visit walked page by page into the batches the SDK would send.

:func:`generate_session` walks the shop of :mod:`pipeline.simulation.shop_catalog` (pages,
Web Vitals, resources, API calls, clicks, errors) and cuts the events into batches the way
the SDK's queue does; :func:`restamped` moves a batch in time; :class:`LiveTraffic` interleaves
many sessions into one endless stream for ``vigil simulate``. No I/O, no clock.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline import vitals
from pipeline.simulation.shop_catalog import (
    BUGGY_RELEASE, BUG_CHANCE_DURING_INCIDENT, BUG_CHANCE_OTHERWISE, BUG_MESSAGE, CATEGORIES, CDN,
    CHECKOUT_ABANDON, CLS_MODEL, DWELL_MEDIAN_MS, ENTRY_STEP, ENVIRONMENT, EXIT, FLUSH_AFTER_MS,
    INP_MODEL, LCP_ELEMENT, LCP_MODEL, MAX_BATCH_EVENTS, MAX_PAGES_PER_SESSION, NETWORK_MS,
    NEXT_STEP, PAGE_WEIGHT, PAYMENT_FAILURE, PRODUCTS, Page, Product, RELEASES, RELEASE_WEIGHTS,
    SDK, SEARCH_TERMS, SITE, Visitor, VisitorPool, hex_id, new_visitor, pick,
)

# ── what a session produces ──────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Batch:
    """One request's worth: the envelope, when the SDK flushed it, and the browser's UA."""

    at: datetime
    user_agent: str
    envelope: dict[str, Any]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.envelope["events"]


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    visitor: Visitor  # as the session left them (user id after sign-in)
    release: str
    steps: tuple[str, ...]  # the funnel steps walked, in order
    batches: tuple[Batch, ...]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch.events]

    @property
    def converted(self) -> bool:
        return "confirmation" in self.steps


def generate_session(
    rng: random.Random,
    start: datetime,
    *,
    visitor: Visitor | None = None,
    release: str | None = None,
    incident: bool = False,
) -> Session:
    """One visit to the shop starting at ``start``: every batch the SDK would send, in order."""
    visitor = visitor or new_visitor(rng)
    release = release or rng.choices(RELEASES, RELEASE_WEIGHTS)[0]
    builder = _SessionBuilder(rng, start, visitor, release, incident)
    builder.walk()
    return Session(
        session_id=builder.session_id,
        visitor=replace(visitor, user_id=builder.user_id, sessions=visitor.sessions + 1),
        release=release,
        steps=tuple(builder.steps),
        batches=tuple(builder.batches),
    )


def restamped(batch: Batch, at: datetime) -> Batch:
    """The batch as if flushed at ``at``: every timestamp moved by the same offset.

    The live simulator replays many sessions at a chosen event rate, so a batch leaves later
    (or sooner) than its session's natural pace; moving it keeps its inner timing intact.
    """
    offset = at - batch.at
    events = []
    for event in batch.events:
        moved = {**event, "timestamp": _iso(_parse(event["timestamp"]) + offset)}
        crumbs = event.get("data", {}).get("breadcrumbs")
        if crumbs:
            moved["data"] = {**event["data"], "breadcrumbs": [
                {**crumb, "timestamp": _iso(_parse(crumb["timestamp"]) + offset)} for crumb in crumbs
            ]}
        events.append(moved)
    return Batch(at=at, user_agent=batch.user_agent, envelope={**batch.envelope, "events": events})


class LiveTraffic:
    """An endless stream of batches from ``concurrency`` sessions in progress, for sending now.

    Each call picks one of the open sessions at random and hands out its next batch,
    restamped to ``now``; a finished session is replaced by a new one (a returning visitor
    or a new one). The caller paces the calls, so the event rate is exactly what it asks
    for, while inside every batch the timing stays the natural one. No clock, no I/O.
    """

    def __init__(self, rng: random.Random, concurrency: int, pool: VisitorPool | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._rng = rng
        self._slots: list[deque[Batch] | None] = [None] * concurrency
        self.pool = pool or VisitorPool(rng)
        self.sessions_started = 0
        self.visitors_seen = 0  # distinct visitors so far: every one is new once, then maybe returns

    def next_batch(self, now: datetime, incident: bool = False) -> Batch:
        slot = self._rng.randrange(len(self._slots))
        pending = self._slots[slot]
        if not pending:
            visitor = self.pool.next_visitor()
            session = generate_session(self._rng, now, visitor=visitor, incident=incident)
            self.pool.remember(session.visitor)
            self.sessions_started += 1
            self.visitors_seen += visitor.sessions == 0
            pending = self._slots[slot] = deque(session.batches)
        batch = pending.popleft()
        return restamped(batch, now)


# ── building one session ─────────────────────────────────────────────────────────────────


@dataclass(slots=True)
class _Pending:
    t: float  # ms since the session started
    event: dict[str, Any]
    user_id: str | None


@dataclass(slots=True)
class _Crumb:
    t: float
    category: str
    message: str
    level: str = "info"


@dataclass(slots=True)
class _PageLoad:
    ttfb: float
    fcp: float
    lcp: float
    tti: float
    load: float
    breakdown: dict[str, float] = field(default_factory=dict)


class _SessionBuilder:
    """Walks one session page by page, keeping the SDK's queue; used by generate_session only."""

    def __init__(self, rng: random.Random, start: datetime, visitor: Visitor, release: str, incident: bool) -> None:
        self.rng = rng
        self.start = start
        self.visitor = visitor
        self.device = visitor.device
        self.release = release
        self.incident = incident
        self.session_id = hex_id(rng)
        self.user_id = visitor.user_id
        self.t = rng.uniform(0, 400)  # ms since start: when the first navigation began
        self.steps: list[str] = []
        self.batches: list[Batch] = []
        self.crumbs: list[_Crumb] = []
        self.cart: list[Product] = []
        self.payment_failed = False
        self.bundle = "8c1e2f" if release == BUGGY_RELEASE else "3f9a1c"

    # the walk ------------------------------------------------------------------------------

    def walk(self) -> None:
        step = pick(self.rng, ENTRY_STEP)
        referrer = self._entry_referrer()
        previous: Page | None = None
        page = self._page_for(step, previous)
        if referrer == "newsletter":
            referrer, page = "", replace(page, query="utm_source=newsletter&utm_medium=email&utm_campaign=spring")
        while True:
            self.steps.append(step)
            next_step = self._next_step(step)
            self._visit(page, referrer, first=previous is None, next_step=next_step)
            if next_step == EXIT or self.payment_failed or len(self.steps) >= MAX_PAGES_PER_SESSION:
                return
            referrer, previous = page.url, page
            step = next_step
            page = self._page_for(step, previous)

    def _next_step(self, step: str) -> str:
        if step == "checkout" and self.rng.random() < CHECKOUT_ABANDON:
            return EXIT
        return pick(self.rng, NEXT_STEP[step])

    def _entry_referrer(self) -> str:
        return pick(self.rng, (
            ("", 0.33), ("https://www.google.com/", 0.36), ("https://www.bing.com/", 0.04),
            ("https://duckduckgo.com/", 0.03), ("https://www.facebook.com/", 0.06), ("https://t.co/", 0.03),
            ("https://news.example.org/best-kettles-2026", 0.04), ("newsletter", 0.11),
        ))

    def _page_for(self, step: str, previous: Page | None) -> Page:
        rng = self.rng
        if step == "home":
            return Page("home", "/", "Shop – Things for a calm home")
        if step == "category":
            slug = rng.choice(list(CATEGORIES))
            return Page("category", f"/c/{slug}", f"{CATEGORIES[slug]} – Shop")
        if step == "product":
            pool = PRODUCTS
            if previous is not None and previous.step == "category":
                pool = tuple(p for p in PRODUCTS if previous.path.endswith("/" + p.category)) or PRODUCTS
            product = rng.choice(pool)
            return Page("product", f"/p/{product.id}-{product.slug}", f"{product.name} – Shop", product=product)
        if step == "search":
            term = rng.choice(SEARCH_TERMS)
            return Page("search", "/search", f"“{term}” – Search – Shop", query=f"q={term}")
        if step == "cart":
            return Page("cart", "/cart", "Your cart – Shop")
        if step == "checkout":
            return Page("checkout", "/checkout", "Checkout – Shop")
        order = rng.randrange(100_000, 999_999)
        return Page("confirmation", "/checkout/confirmation", "Thank you – Shop", query=f"order={order}")

    # one page ------------------------------------------------------------------------------

    def _visit(self, page: Page, referrer: str, first: bool, next_step: str) -> None:
        rng, kind = self.rng, self.device.kind
        queue: list[_Pending] = []
        nav = self.t
        self.crumbs.append(_Crumb(nav, "navigation", f"→ {page.path}"))
        timing = self._page_load(page, first)
        navigation_type = "navigate"
        if rng.random() < 0.04:
            navigation_type = "reload"
        elif not first and rng.random() < 0.05:
            navigation_type = "back_forward"

        def add(t: float, event_type: str, data: dict[str, Any]) -> None:
            queue.append(_Pending(t, {"type": event_type, "data": data}, self.user_id))

        def vital(t: float, name: str, value: float, **extra: Any) -> None:
            value = round(value, 4 if name == "CLS" else 1)
            add(t, "web_vital", {"name": name, "value": value, "rating": vitals.rate(name, value),
                                 "navigation_type": navigation_type, **extra})

        add(nav + timing.ttfb + 30, "page_view", {"navigation_type": navigation_type})
        vital(nav + timing.ttfb + 40, "TTFB", timing.ttfb)
        vital(nav + timing.fcp, "FCP", timing.fcp)
        vital(nav + timing.tti, "TTI", timing.tti)
        vital(nav + timing.load + 5, "LOAD", timing.load, breakdown=timing.breakdown)
        self._resources(page, nav + timing.load + 20, first, add)
        self._background_errors(page, nav + timing.load, add)

        dwell = max(rng.lognormvariate(math.log(DWELL_MEDIAN_MS[page.step]), 0.8), timing.load + 800)
        dwell = min(dwell, 15 * 60_000.0)
        interactions = self._interactions(page, nav + timing.load, nav + dwell, next_step, add)
        # the visitor leaves once what they clicked has answered (e.g. "Add to cart", then the cart)
        hide = max(nav + dwell, max(pending.t for pending in queue) + rng.uniform(50, 400))
        dwell = hide - nav
        # web-vitals reports LCP at the first input (or when the page is hidden)
        lcp_at = min([t for t, _ in interactions] + [hide - 10])
        vital(max(lcp_at, nav + timing.lcp), "LCP", timing.lcp,
              attribution={"target": LCP_ELEMENT[page.step]})
        # at pagehide: CLS, INP (only if there was an interaction) and time on page
        cls_share_zero, cls_median, cls_sigma = CLS_MODEL[kind]
        cls = 0.0
        if rng.random() >= cls_share_zero:
            cls = min(rng.lognormvariate(math.log(cls_median), cls_sigma), 3.0)
        vital(hide, "CLS", cls)
        if interactions:
            median, sigma = INP_MODEL[kind]
            target = max(interactions, key=lambda item: item[0])[1]
            inp = min(rng.lognormvariate(math.log(median), sigma), 5000.0)
            vital(hide, "INP", inp, attribution={"target": target, "interaction_type": "pointer"})
        add(hide, "time_on_page", {"duration": round(dwell, 1)})
        self._flush(page, referrer, queue, hide)
        self.t = hide + rng.uniform(40, 300)

    def _page_load(self, page: Page, first: bool) -> _PageLoad:
        """One page load's navigation timing, anchored on a log-normal LCP."""
        rng, kind = self.rng, self.device.kind
        median, sigma = LCP_MODEL[kind]
        lcp = rng.lognormvariate(math.log(median * PAGE_WEIGHT[page.step]), sigma)
        lcp = min(lcp, 60_000.0)
        fcp = lcp * rng.uniform(0.5, 0.95)
        ttfb = fcp * rng.uniform(0.18, 0.45)
        tti = fcp * rng.uniform(0.85, 1.25)
        load = max(lcp, tti) * rng.uniform(1.05, 1.45)
        # TTFB = redirect + dns + tcp + tls + request (Navigation Timing phases up to responseStart)
        redirect = min(rng.uniform(20, 120), 0.3 * ttfb) if first and rng.random() < 0.08 else 0.0
        weights = [0.0 if not first else rng.uniform(0.5, 1.5), rng.uniform(0.8, 1.6), rng.uniform(0.8, 1.6),
                   rng.uniform(3.0, 6.0)]
        scale = (ttfb - redirect) / sum(weights)
        dns, tcp, tls, request = (w * scale for w in weights)
        response = min(rng.lognormvariate(math.log(40 * NETWORK_MS[kind]), 0.6), 0.25 * (load - ttfb))
        finish = min(rng.uniform(3, 40), 0.1 * (load - ttfb))
        dom = load - ttfb - response - finish
        breakdown = {name: round(value, 1) for name, value in (
            ("redirect", redirect), ("dns", dns), ("tcp", tcp), ("tls", tls), ("request", request),
            ("response", response), ("dom", dom), ("load", finish))}
        return _PageLoad(ttfb=ttfb, fcp=fcp, lcp=lcp, tti=tti, load=load, breakdown=breakdown)

    def _resources(self, page: Page, t: float, first: bool, add: Callable[..., None]) -> None:
        rng, kind = self.rng, self.device.kind
        bundle = self.bundle
        entries: list[tuple[str, str, int]] = [
            (f"{CDN}/static/js/vendor.{bundle}.js", "script", 328_114),
            (f"{CDN}/static/js/app.{bundle}.js", "script", 183_422),
            (f"{CDN}/static/css/app.{bundle}.css", "link", 46_210),
            (f"{CDN}/fonts/inter-var.woff2", "css", 98_340),
            ("https://www.googletagmanager.com/gtag/js?id=G-SHOP42", "script", 91_870),
        ]
        if page.step == "product":
            entries.append((f"{CDN}/static/js/product.{bundle}.js", "script", 64_530))
        if page.product is not None:
            entries += [(f"{CDN}/img/products/{page.product.id}-{n}-800.webp", "img", rng.randrange(60_000, 180_000))
                        for n in range(1, rng.randint(2, 4))]
        elif page.step in ("home", "category", "search"):
            entries += [(f"{CDN}/img/products/{p.id}-1-400.webp", "img", rng.randrange(20_000, 60_000))
                        for p in rng.sample(PRODUCTS, rng.randint(2, 5))]
        for name, initiator, size in entries:
            if initiator == "img" and rng.random() < 0.004:
                add(t, "error", {"kind": "resource", "message": "Failed to load img", "source": name, "element": "img"})
                continue
            if not first and initiator != "img" and rng.random() < 0.9:
                continue  # served from the memory cache: the SDK reports only fetched resources
            base = 60 * NETWORK_MS[kind] * math.sqrt(size / 100_000)
            duration = rng.lognormvariate(math.log(base), 0.7)
            add(t, "resource", {"name": name, "initiator_type": initiator, "duration": round(duration, 1),
                                "transfer_size": size})

    def _background_errors(self, page: Page, t: float, add: Callable[..., None]) -> None:
        """The noise every real site has: third-party scripts, flaky widgets, aborted fetches."""
        rng = self.rng
        if rng.random() < 0.006:
            add(t + 15, "error", self._js_error(
                t + 15, "ReferenceError", "gtag is not defined", handled=False,
                frames=[("trackView", f"{CDN}/static/js/app.{self.bundle}.js", 1, 20413, True)]))
        if page.step == "home" and rng.random() < 0.01:
            add(t + 40, "error", self._js_error(
                t + 40, "TypeError", "Cannot read properties of null (reading 'addEventListener')", handled=False,
                frames=[("initCarousel", f"{CDN}/static/js/app.{self.bundle}.js", 1, 8812, True),
                        ("HTMLDocument.<anonymous>", f"{CDN}/static/js/app.{self.bundle}.js", 1, 1290, True)]))
        if rng.random() < 0.003:
            add(t + 200, "error", {"kind": "promise", "type": "UnhandledRejection", "handled": False,
                                   "message": "Non-Error promise rejection captured with value: timeout"})
        if rng.random() < 0.002:
            add(t + 300, "error", {"kind": "promise", "type": "AbortError", "handled": False,
                                   "message": "The user aborted a request."})

    def _js_error(self, t: float, error_type: str, message: str, handled: bool,
                  frames: list[tuple[str, str, int, int, bool]]) -> dict[str, Any]:
        stack = "\n".join([f"{error_type}: {message}"] + [
            f"    at {function} ({filename}:{line}:{column})" for function, filename, line, column, _ in frames])
        crumbs = [c for c in self.crumbs if c.t <= t][-10:]
        return {
            "kind": "js", "type": error_type, "message": message,
            "source": frames[0][1], "lineno": frames[0][2], "colno": frames[0][3], "handled": handled,
            "stack": stack,
            "frames": [{"filename": filename, "function": function, "lineno": line, "colno": column, "in_app": in_app}
                       for function, filename, line, column, in_app in frames],
            "breadcrumbs": [{"category": c.category, "message": c.message, "level": c.level,
                             "timestamp": _iso(self._at(c.t))} for c in crumbs],
        }

    def _interactions(self, page: Page, loaded: float, hide: float, next_step: str,
                      add: Callable[..., None]) -> list[tuple[float, str]]:
        """Clicks, API calls, forms and custom events between load and hide; returns (t, target) of clicks."""
        rng = self.rng
        width, height = self.device.viewport
        clicks: list[tuple[float, str]] = []
        span = max(hide - loaded, 600.0)

        def click(t: float, selector: str, element_id: str, text: str) -> None:
            data: dict[str, Any] = {"selector": selector, "text": text,
                                    "x": rng.randrange(8, width - 8), "y": rng.randrange(60, height - 8)}
            if element_id:
                data["element_id"] = element_id
            add(t, "click", data)
            clicks.append((t, selector))
            self.crumbs.append(_Crumb(t, "ui.click", selector))

        def api(t: float, method: str, path: str, median_ms: float, fail_chance: float = 0.015) -> bool:
            duration = rng.lognormvariate(math.log(median_ms * NETWORK_MS[self.device.kind]), 0.5)
            url, roll = f"{SITE}{path}", rng.random()
            call: dict[str, Any] = {"method": method, "url": url}
            if roll < fail_chance:
                status = rng.choice((500, 502, 503, 503))
                call.update(status=status, duration=round(duration, 1), ok=False, failure="status")
                message = f"{method} {path.split('?')[0]} → {status}"
            elif roll < fail_chance + 0.003:
                call.update(status=0, duration=round(duration, 1), ok=False, failure="network")
                message = f"{method} {path.split('?')[0]} failed: TypeError: Failed to fetch"
            elif roll < fail_chance + 0.005:
                call.update(status=0, duration=10_000.0, ok=False, failure="timeout")
                message = f"{method} {path.split('?')[0]} timed out after 10000 ms"
            else:
                call.update(status=201 if method == "POST" else 200, duration=round(duration, 1), ok=True)
            end = t + call["duration"]
            add(end, "api_call", call)
            self.crumbs.append(_Crumb(end, "fetch", f"{method} {path} [{call['status']}]",
                                      "info" if call["ok"] else "error"))
            if not call["ok"]:
                add(end + 1, "error", {"kind": "api", "type": "HttpError", "message": message, "request": call})
            return call["ok"]

        def at(share: float) -> float:
            return loaded + span * share

        # what every page of its kind loads and lets people do
        if page.step == "home":
            api(at(0.0), "GET", "/api/recommendations?slot=home", 140)
            for _ in range(rng.choice((0, 1, 1, 2))):
                click(at(rng.uniform(0.1, 0.6)), "main section.hero button.carousel-next", "", "›")
            if rng.random() < 0.03:
                add(at(0.5), "form_submit", {"form_id": "newsletter", "action": f"{SITE}/newsletter", "method": "POST"})
                add(at(0.51), "custom", {"name": "newsletter_signup", "props": {"source": "home"}})
            if next_step == "category":
                click(at(0.95), "header nav a.category", "", "Shop all")
        elif page.step == "search":
            api(at(0.0), "GET", f"/api/search?{page.query}", 180)
            add(at(0.0), "custom", {"name": "search", "props": {"query": page.query[2:]}})
        elif page.step == "category":
            api(at(0.0), "GET", f"/api/products?category={page.path.rsplit('/', 1)[1]}&page=1", 160)
            if rng.random() < 0.35:
                click(at(rng.uniform(0.2, 0.6)), "main aside select#sort", "sort", "Sort by")
                api(at(0.65), "GET", f"/api/products?category={page.path.rsplit('/', 1)[1]}&sort=price", 160)
            if next_step == "product":
                click(at(0.95), "main ul.grid > li > a.product-card", "", "View product")
        elif page.step == "product":
            product = page.product
            assert product is not None
            api(at(0.0), "GET", f"/api/products/{product.id}", 120)
            api(at(0.02), "GET", f"/api/products/{product.id}/reviews", 200, fail_chance=0.03)
            self._price_bug(page, at(0.01), add)
            for _ in range(rng.choice((0, 1, 2, 3))):
                click(at(rng.uniform(0.1, 0.7)), "main div.gallery button.next", "", "Next image")
            if next_step == "cart":
                click(at(0.8), "main button#add-to-cart.btn-primary", "add-to-cart", "Add to cart")
                if api(at(0.81), "POST", "/api/cart/items", 150):
                    self.cart.append(product)
                    add(at(0.85), "custom", {"name": "add_to_cart", "props": {
                        "product_id": product.id, "price": product.price, "currency": "EUR"}})
        elif page.step == "cart":
            api(at(0.0), "GET", "/api/cart", 110)
            if rng.random() < 0.2:
                click(at(0.3), "main table.cart input.qty", "", "")
                api(at(0.32), "PATCH", "/api/cart/items", 130)
            if rng.random() < 0.1:
                add(at(0.4), "form_submit", {"form_id": "coupon", "action": f"{SITE}/api/cart/coupon", "method": "POST"})
                add(at(0.42), "custom", {"name": "coupon_applied", "props": {"code": "SPRING", "discount": 10}})
            if next_step == "checkout":
                value = round(sum(p.price for p in self.cart), 2)
                click(at(0.9), "main button#checkout.btn-primary", "checkout", "Checkout")
                add(at(0.91), "custom", {"name": "begin_checkout", "props": {
                    "value": value, "items": len(self.cart), "currency": "EUR"}})
        elif page.step == "checkout":
            api(at(0.0), "GET", "/api/shipping-options", 130)
            if self.user_id is None and rng.random() < 0.5:
                add(at(0.15), "form_submit", {"form_id": "login", "action": f"{SITE}/api/session", "method": "POST"})
                self.user_id = f"user-{rng.randrange(10_000, 99_999)}"
                add(at(0.2), "identify", {"user_id": self.user_id, "traits": {
                    "plan": rng.choice(("free", "free", "member")), "returning": self.visitor.sessions > 0}})
            if next_step == "confirmation":
                click(at(0.85), "main form#checkout button[type=submit]", "pay", "Pay now")
                add(at(0.86), "form_submit", {"form_id": "checkout", "form_name": "checkout",
                                              "action": f"{SITE}/checkout", "method": "POST"})
                if not api(at(0.87), "POST", "/api/checkout/payment", 650, fail_chance=PAYMENT_FAILURE):
                    self.payment_failed = True  # the visit ends here, without a confirmation
        elif page.step == "confirmation":
            value = round(sum(p.price for p in self.cart), 2)
            add(at(0.0), "custom", {"name": "purchase", "props": {
                "order_id": page.query.split("=", 1)[1], "value": value, "items": len(self.cart), "currency": "EUR"}})
            self.cart.clear()
        return clicks

    def _price_bug(self, page: Page, t: float, add: Callable[..., None]) -> None:
        """2.5.0's PriceTag re-renders in a loop on a product without a discount: a burst of one TypeError."""
        product = page.product
        if self.release != BUGGY_RELEASE or product is None or product.discounted:
            return
        chance = BUG_CHANCE_DURING_INCIDENT if self.incident else BUG_CHANCE_OTHERWISE
        if self.rng.random() >= chance:
            return
        chunk, vendor = f"{CDN}/static/js/product.{self.bundle}.js", f"{CDN}/static/js/vendor.{self.bundle}.js"
        frames = [("formatPrice", chunk, 1, 48213, True), ("PriceTag", chunk, 1, 51877, True),
                  ("renderWithHooks", vendor, 2, 112044, False), ("updateFunctionComponent", vendor, 2, 131201, False)]
        for n in range(self.rng.randint(3, 12)):
            when = t + n * self.rng.uniform(40, 180)
            add(when, "error", self._js_error(when, "TypeError", BUG_MESSAGE, handled=False, frames=frames))

    # batching ------------------------------------------------------------------------------

    def _flush(self, page: Page, referrer: str, queue: list[_Pending], hide: float) -> None:
        """Cut the page's events into the batches the SDK's queue would send."""
        queue.sort(key=lambda pending: pending.t)
        batch: list[_Pending] = []
        for pending in queue:
            if batch and pending.t - batch[0].t >= FLUSH_AFTER_MS:
                self._emit(page, referrer, batch, batch[0].t + FLUSH_AFTER_MS)
                batch = []
            batch.append(pending)
            if len(batch) == MAX_BATCH_EVENTS:
                self._emit(page, referrer, batch, pending.t)
                batch = []
        if batch:
            self._emit(page, referrer, batch, hide)

    def _emit(self, page: Page, referrer: str, pending: list[_Pending], flushed: float) -> None:
        context: dict[str, Any] = {
            "session_id": self.session_id, "visitor_id": self.visitor.visitor_id,
            "release": self.release, "environment": ENVIRONMENT,
            "page": {"url": page.url, "referrer": referrer, "title": page.title},
        }
        shared_user = pending[0].user_id
        if shared_user:
            context["user_id"] = shared_user
        events = []
        for item in pending:
            event = {"event_id": hex_id(self.rng), "type": item.event["type"],
                     "timestamp": _iso(self._at(item.t)), "data": item.event["data"]}
            if item.user_id != shared_user and item.user_id:
                event["user_id"] = item.user_id
            events.append(event)
        envelope = {"version": 1, "sdk": SDK, "context": context, "events": events}
        self.batches.append(Batch(at=self._at(flushed), user_agent=self.device.user_agent, envelope=envelope))

    def _at(self, t: float) -> datetime:
        return self.start + timedelta(milliseconds=t)


# ── small helpers ────────────────────────────────────────────────────────────────────────


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
