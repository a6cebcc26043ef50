"""The simulated shop's traffic in bulk, for ``bench/warehouse.py``: numpy/polars draws from the
distributions of ``pipeline.simulation`` (devices and their browsers, the funnel walk, log-normal
Web Vitals per device class, resources, API calls with failures, clicks, forms, the buggy
release's error bursts during incidents, countries, connection types), one Arrow table of
``events`` rows per call of :func:`generate_chunk`.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.contract import vitals
from pipeline.simulation import shop_catalog
from pipeline.stream import referrers, user_agents

PROJECT = 1
SPAN = timedelta(days=7)

STEPS = ("home", "search", "category", "product", "cart", "checkout", "confirmation")
EXIT = len(STEPS)
COUNTRIES = (("DE", 0.26), ("US", 0.2), ("FR", 0.1), ("GB", 0.1), ("NL", 0.06), ("ES", 0.05), ("IT", 0.05),
             ("PL", 0.04), ("SE", 0.03), ("CA", 0.03), ("", 0.08))
CONNECTIONS = (("4g", 0.78), ("3g", 0.12), ("2g", 0.02), ("", 0.08))
REFERRERS = (("", 0.33), ("https://www.google.com/", 0.36), ("https://www.bing.com/", 0.04),
             ("https://duckduckgo.com/", 0.03), ("https://www.facebook.com/", 0.06), ("https://t.co/", 0.03),
             ("https://news.example.org/best-kettles-2026", 0.04), ("newsletter", 0.11))
# what the processor's put_traffic_source names each entry referrer ("newsletter": the entry URL's
# utm_source, no referrer); the later page views are referrals from the shop itself: direct
SOURCE_OF = {referrer: referrers.traffic_source(
    "https://shop.example.com/?utm_source=newsletter" if referrer == "newsletter" else "https://shop.example.com/",
    "" if referrer == "newsletter" else referrer).referrer_source for referrer, _share in REFERRERS}
# step → (selector, text, href): a nav bar's links share one selector (issue 14: "Most clicked"
# groups by selector, text and href)
_NAV = tuple(("header nav a.category", name, f"{shop_catalog.SITE}/c/{slug}") for slug, name in shop_catalog.CATEGORIES.items())
CLICK_TARGETS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "home": (("main section.hero button.carousel-next", "›", ""),) + _NAV,
    "search": (("main ul.results > li > a", "View product", f"{shop_catalog.SITE}/p/1-kettle"),),
    "category": (("main aside select#sort", "Sort by", ""),
                 ("main ul.grid > li > a.product-card", "View product", f"{shop_catalog.SITE}/p/1-kettle")),
    "product": (("main div.gallery button.next", "Next image", ""), ("main button#add-to-cart.btn-primary", "Add to cart", "")),
    "cart": (("main table.cart input.qty", "", ""), ("main button#checkout.btn-primary", "Checkout", "")),
    "checkout": (("main form#checkout button[type=submit]", "Pay now", ""),),
    "confirmation": (("main a.continue", "Continue shopping", f"{shop_catalog.SITE}/"),),
}
API = {  # step → (method, path, median ms)
    "home": ("GET", "/api/recommendations?slot=home", 140), "search": ("GET", "/api/search", 180),
    "category": ("GET", "/api/products", 160), "product": ("GET", "/api/products/{id}", 120),
    "cart": ("GET", "/api/cart", 110), "checkout": ("POST", "/api/checkout/payment", 650),
    "confirmation": ("GET", "/api/orders/{id}", 120),
}
NETWORK = {"desktop": 1.0, "tablet": 1.4, "mobile": 2.0}


def _weighted(rng: np.random.Generator, weighted: tuple[tuple[Any, float], ...], size: int) -> np.ndarray:
    values, weights = zip(*weighted)
    p = np.asarray(weights, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p / p.sum())]


def _hex_ids(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` random 32-character hex ids, like the SDK's."""
    raw = rng.bytes(16 * size)
    return np.frombuffer(binascii.hexlify(raw), dtype="S32").astype(str)


def _transition_matrix() -> np.ndarray:
    """Row = current step, column = next step (EXIT last), from pipeline.simulation's funnel."""
    matrix = np.zeros((len(STEPS), len(STEPS) + 1))
    for step, choices in shop_catalog.NEXT_STEP.items():
        for target, weight in choices:
            matrix[STEPS.index(step), EXIT if target == shop_catalog.EXIT else STEPS.index(target)] = weight
    checkout = STEPS.index("checkout")
    matrix[checkout] *= 1 - shop_catalog.CHECKOUT_ABANDON - shop_catalog.PAYMENT_FAILURE
    matrix[checkout, EXIT] += shop_catalog.CHECKOUT_ABANDON + shop_catalog.PAYMENT_FAILURE
    return np.cumsum(matrix / matrix.sum(axis=1, keepdims=True), axis=1)


@dataclass(frozen=True)
class Shop:
    devices: list[tuple[str, str, str]]  # (browser, os, device class) per shop_catalog.DEVICES entry
    device_weights: np.ndarray
    transitions: np.ndarray
    incidents: list[tuple[datetime, datetime]]


def shop(start: datetime, span: timedelta = SPAN) -> Shop:
    """The shop of the ``span`` from ``start``: its devices, funnel and two one-hour incidents in
    the span's last week (the week itself when the span is one), when the buggy release's bug
    bites most."""
    devices, weights = [], []
    for device, weight in shop_catalog.DEVICES:
        info = user_agents.classify(device.user_agent)
        devices.append((info.browser, info.os, device.kind))
        weights.append(weight)
    w = np.asarray(weights)
    week = start + max(span - timedelta(days=7), timedelta(0))
    incidents = [(week + timedelta(days=2, hours=14), week + timedelta(days=2, hours=15)),
                 (week + timedelta(days=5, hours=9), week + timedelta(days=5, hours=10))]
    return Shop(devices, w / w.sum(), _transition_matrix(), incidents)


def generate_chunk(rng: np.random.Generator, model: Shop, sessions: int, start: datetime, visitors: int,
                   project_id: int = PROJECT, span: timedelta = SPAN) -> pa.Table:
    """The events of ``sessions`` visits starting uniformly in [start, start + span), as an Arrow table."""
    start_ms = int(start.timestamp() * 1000)
    # sessions: who, on what, from where, when
    visitor = rng.integers(0, visitors, size=sessions)
    device_index = np.searchsorted(np.cumsum(model.device_weights), _visitor_uniform(visitor, 1))
    device_index = np.minimum(device_index, len(model.devices) - 1)
    browser = np.asarray([model.devices[i][0] for i in range(len(model.devices))], dtype=object)[device_index]
    os_name = np.asarray([model.devices[i][1] for i in range(len(model.devices))], dtype=object)[device_index]
    kind = np.asarray([model.devices[i][2] for i in range(len(model.devices))], dtype=object)[device_index]
    countries, weights = zip(*COUNTRIES)
    country = np.asarray(countries, dtype=object)[np.minimum(np.searchsorted(np.cumsum(weights) / sum(weights),
                                                                            _visitor_uniform(visitor, 2)),
                                                             len(countries) - 1)]
    session = pl.DataFrame({
        "session": np.arange(sessions),
        "session_id": _hex_ids(rng, sessions),
        "visitor_id": np.char.add("v", visitor.astype(str)).astype(object),
        "browser": browser, "os": os_name, "device": kind, "country": country,
        "connection_type": _weighted(rng, CONNECTIONS, sessions),
        "release": _weighted(rng, tuple(zip(shop_catalog.RELEASES, shop_catalog.RELEASE_WEIGHTS)), sessions),
        "referrer": _weighted(rng, REFERRERS, sessions),
        "started": start_ms + rng.integers(0, max(1, int(span.total_seconds() * 1000)), size=sessions),
    }, schema_overrides={"browser": pl.String, "os": pl.String, "device": pl.String, "country": pl.String,
                         "connection_type": pl.String, "release": pl.String, "referrer": pl.String})
    incident = np.zeros(sessions, dtype=bool)
    for begin, end in model.incidents:
        started = session["started"].to_numpy()
        incident |= (started >= begin.timestamp() * 1000) & (started < end.timestamp() * 1000)
    session = session.with_columns(pl.Series("incident", incident))

    # the walk through the shop: one row per page view
    entry_steps, entry_weights = zip(*shop_catalog.ENTRY_STEP)
    state = np.asarray([STEPS.index(s) for s in entry_steps])[
        rng.choice(len(entry_steps), size=sessions, p=np.asarray(entry_weights) / sum(entry_weights))]
    alive = np.ones(sessions, dtype=bool)
    pages_session, pages_step, pages_number = [], [], []
    for number in range(shop_catalog.MAX_PAGES_PER_SESSION):
        index = np.flatnonzero(alive)
        if index.size == 0:
            break
        pages_session.append(index)
        pages_step.append(state[index])
        pages_number.append(np.full(index.size, number))
        roll = rng.random(index.size)
        nxt = (roll[:, None] > model.transitions[state[index]]).sum(axis=1)
        state[index] = np.minimum(nxt, EXIT)
        alive[index] = nxt < EXIT
    pages = pl.DataFrame({"session": np.concatenate(pages_session), "step": np.concatenate(pages_step),
                          "number": np.concatenate(pages_number)}).join(session, on="session")
    n = pages.height
    steps = np.asarray(STEPS, dtype=object)[pages["step"].to_numpy()]
    product = rng.integers(0, len(shop_catalog.PRODUCTS), size=n)
    slug = np.asarray([f"{p.id}-{p.slug}" for p in shop_catalog.PRODUCTS], dtype=object)[product]
    category = np.asarray(list(shop_catalog.CATEGORIES), dtype=object)[rng.integers(0, len(shop_catalog.CATEGORIES), size=n)]
    path = np.select([steps == "home", steps == "search", steps == "category", steps == "product", steps == "cart",
                      steps == "checkout"],
                     ["/", "/search", np.char.add("/c/", category.astype(str)), np.char.add("/p/", slug.astype(str)),
                      "/cart", "/checkout"], default="/checkout/confirmation")
    discounted = np.asarray([p.discounted for p in shop_catalog.PRODUCTS])[product] | (steps != "product")
    dwell_median = np.asarray([shop_catalog.DWELL_MEDIAN_MS[s] for s in STEPS])[pages["step"].to_numpy()]
    network = np.asarray([NETWORK[k] for k in pages["device"].to_list()])
    lcp_median = np.asarray([shop_catalog.LCP_MODEL[k][0] for k in pages["device"].to_list()]) * \
        np.asarray([shop_catalog.PAGE_WEIGHT[s] for s in STEPS])[pages["step"].to_numpy()]
    lcp = np.minimum(rng.lognormal(np.log(lcp_median), 0.5), 60_000.0)
    fcp = lcp * rng.uniform(0.5, 0.95, n)
    ttfb = fcp * rng.uniform(0.18, 0.45, n)
    tti = fcp * rng.uniform(0.85, 1.25, n)
    load = np.maximum(lcp, tti) * rng.uniform(1.05, 1.45, n)
    dwell = np.minimum(np.maximum(rng.lognormal(np.log(dwell_median), 0.8), load + 800), 15 * 60_000.0)
    pages = pages.with_columns(
        pl.Series("path", path.astype(str)), pl.Series("step_name", steps.astype(str)),
        pl.Series("dwell", dwell), pl.Series("lcp", lcp), pl.Series("fcp", fcp), pl.Series("ttfb", ttfb),
        pl.Series("tti", tti), pl.Series("load", load), pl.Series("network", network),
        pl.Series("discounted", discounted), pl.Series("product", product),
    ).sort("session", "number").with_columns(
        (pl.col("started") + (pl.col("dwell") + 150).cum_sum().over("session") - (pl.col("dwell") + 150))
        .cast(pl.Int64).alias("at"),
    ).with_columns(
        pl.when(pl.col("number") == 0).then(pl.when(pl.col("referrer") == "newsletter").then(pl.lit(""))
                                            .otherwise(pl.col("referrer")))
        .otherwise(pl.lit("https://shop.example.com") + pl.col("path").shift(1).over("session")).alias("page_referrer"),
        (pl.lit("https://shop.example.com") + pl.col("path") + pl.when((pl.col("number") == 0)
                                                                       & (pl.col("referrer") == "newsletter"))
         .then(pl.lit("?utm_source=newsletter&utm_medium=email&utm_campaign=spring")).otherwise(pl.lit("")))
        .alias("url"),
        pl.when(pl.col("number") == 0).then(pl.col("referrer").replace_strict(SOURCE_OF))
        .otherwise(pl.lit(referrers.DIRECT)).alias("referrer_source"),
    )
    common = ["session_id", "visitor_id", "browser", "os", "device", "country", "connection_type", "release",
              "path", "url"]
    frames = [_page_views(pages, common), _vitals(rng, pages, common), _resources(rng, pages, common),
              _api_calls(rng, pages, common), _clicks(rng, pages, common), _time_on_page(pages, common),
              _behaviour(rng, pages, common), _errors(rng, pages, common)]
    events = pl.concat(frames, how="diagonal_relaxed")
    n = events.height
    events = events.with_columns(
        pl.lit(project_id, dtype=pl.UInt32).alias("project_id"),
        pl.Series("event_id", _hex_ids(rng, n)),
        pl.from_epoch(pl.col("ts"), time_unit="ms").dt.replace_time_zone("UTC").alias("timestamp"),
        pl.lit("production").alias("environment"),
        pl.lit("vigil-browser").alias("sdk_name"), pl.lit("0.1.0").alias("sdk_version"),
    ).with_columns(pl.col("timestamp").alias("received_at")).drop("ts")
    strings = [c for c, t in events.schema.items() if t == pl.String]
    floats = [c for c, t in events.schema.items() if t == pl.Float64]
    events = events.with_columns(pl.col(strings).fill_null(""), pl.col(floats).fill_null(0.0))
    if "http_status" in events.columns:
        events = events.with_columns(pl.col("http_status").fill_null(0).cast(pl.UInt16))
    return events.to_arrow()


def _json(template: str, *values: Any) -> pl.Expr:
    """``pl.format`` for a JSON template: ``{}`` are the placeholders, every other brace is literal."""
    parts = [part.replace("{", "{{").replace("}", "}}") for part in template.split("{}")]
    return pl.format("{}".join(parts), *values)


def _visitor_uniform(visitor: np.ndarray, salt: int) -> np.ndarray:
    """A stable uniform [0, 1) per visitor (so a returning visitor keeps device and country)."""
    mixed = (visitor.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt * 0x632BE59BD9B4E019))
    mixed ^= mixed >> np.uint64(29)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(32)
    return (mixed >> np.uint64(11)).astype(np.float64) / float(2**53)


def _page_views(pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    return pages.select(*common, (pl.col("at") + pl.col("ttfb") + 30).cast(pl.Int64).alias("ts"),
                        pl.lit("page_view").alias("type"), pl.col("page_referrer").alias("referrer"),
                        "referrer_source",
                        pl.lit('{"navigation_type":"navigate"}').alias("data"))


def _rating(name: str, values: pl.Expr) -> pl.Expr:
    threshold = vitals.THRESHOLDS[name]
    return (pl.when(values <= threshold.good).then(pl.lit("good"))
            .when(values <= threshold.poor).then(pl.lit("needs-improvement")).otherwise(pl.lit("poor")))


def _vitals(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    n = pages.height
    kinds = pages["device"].to_list()
    zero_share = np.asarray([shop_catalog.CLS_MODEL[k][0] for k in kinds])
    cls_median = np.asarray([shop_catalog.CLS_MODEL[k][1] for k in kinds])
    cls = np.where(rng.random(n) < zero_share, 0.0, np.minimum(rng.lognormal(np.log(cls_median), 0.9), 3.0))
    inp_median = np.asarray([shop_catalog.INP_MODEL[k][0] for k in kinds])
    inp = np.minimum(rng.lognormal(np.log(inp_median), 0.6), 5000.0)
    interacted = rng.random(n) < 0.65
    lcp_target = pl.col("step_name").replace_strict(shop_catalog.LCP_ELEMENT)
    frames = []
    extra = pages.with_columns(pl.Series("cls", cls), pl.Series("inp", inp), pl.Series("interacted", interacted))
    for name, column, offset in (("TTFB", "ttfb", 40), ("FCP", "fcp", 0), ("TTI", "tti", 0), ("LOAD", "load", 5),
                                 ("LCP", "lcp", 0), ("CLS", "cls", 0), ("INP", "inp", 0)):
        value = pl.col(column).round(4 if name == "CLS" else 1)
        part = extra.filter(pl.col("interacted")) if name == "INP" else extra
        at = (pl.col("dwell") if name in ("CLS", "INP") else pl.col(column) + offset)
        data = _json('{"name":"{}","value":{},"rating":"{}"}', pl.lit(name), value, _rating(name, value))
        if name == "LOAD":
            data = _json('{"name":"LOAD","value":{},"breakdown":{"dns":{},"tcp":{},"tls":{},"request":{},'
                             '"response":{},"dom":{},"load":{}}}', value,
                             (pl.col("ttfb") * 0.12).round(1), (pl.col("ttfb") * 0.15).round(1),
                             (pl.col("ttfb") * 0.15).round(1), (pl.col("ttfb") * 0.58).round(1),
                             (pl.col("load") * 0.04).round(1), (pl.col("load") * 0.9 - pl.col("ttfb")).round(1),
                             (pl.col("load") * 0.06).round(1))
        target = lcp_target if name == "LCP" else (pl.lit("main button.btn-primary") if name == "INP" else pl.lit(""))
        frames.append(part.select(*common, (pl.col("at") + at).cast(pl.Int64).alias("ts"),
                                  pl.lit("web_vital").alias("type"), pl.lit(name).alias("vital_name"),
                                  value.alias("vital_value"), _rating(name, value).alias("vital_rating"),
                                  target.alias("target"), data.alias("data")))
    return pl.concat(frames)


def _resources(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    n = pages.height
    count = np.where(pages["number"].to_numpy() == 0, 5, 0) + rng.integers(2, 5, size=n)
    index = np.repeat(np.arange(n), count)
    slot = np.concatenate([np.arange(c) for c in count]) if n else np.zeros(0, dtype=int)
    first = pages["number"].to_numpy()[index] == 0
    bundle = np.where(pages["release"].to_numpy()[index] == shop_catalog.BUGGY_RELEASE, "8c1e2f", "3f9a1c")
    scripts = np.asarray(["/static/js/vendor.{}.js", "/static/js/app.{}.js", "/static/css/app.{}.css",
                          "/fonts/inter-var.woff2", "https://www.googletagmanager.com/gtag/js?id=G-SHOP42"])
    image = np.char.add(np.char.add("/img/products/", rng.integers(1, 60, size=index.size).astype(str)), "-1-400.webp")
    is_script = first & (slot < 5)
    name = np.where(is_script, scripts[np.minimum(slot, 4)], image)
    name = np.char.replace(name.astype(str), "{}", "X")
    name = np.where(np.char.startswith(name, "https://"), name, np.char.add(shop_catalog.CDN, name))
    name = np.char.replace(name, "X", bundle.astype(str))
    size = np.where(is_script, np.asarray([328_114, 183_422, 46_210, 98_340, 91_870])[np.minimum(slot, 4)],
                    rng.integers(20_000, 180_000, size=index.size))
    initiator = np.where(is_script, np.asarray(["script", "script", "link", "css", "script"])[np.minimum(slot, 4)],
                         "img")
    base = 60 * pages["network"].to_numpy()[index] * np.sqrt(size / 100_000)
    duration = np.round(rng.lognormal(np.log(base), 0.7), 1)
    frame = pages[index].select(*common, (pl.col("at") + pl.col("load") + 20).cast(pl.Int64).alias("ts"))
    return frame.with_columns(
        pl.lit("resource").alias("type"), pl.Series("http_url", name.astype(str)),
        pl.Series("duration_ms", duration),
        _json('{"name":"{}","initiator_type":"{}","duration":{},"transfer_size":{}}', pl.Series(name.astype(str)),
                  pl.Series(initiator.astype(str)), pl.Series(duration), pl.Series(size)).alias("data"))


def _api_calls(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    n = pages.height
    method = pages["step_name"].replace_strict({s: API[s][0] for s in STEPS}).to_numpy().astype(str)
    template = pages["step_name"].replace_strict({s: API[s][1] for s in STEPS}).to_numpy().astype(str)
    median = pages["step_name"].replace_strict({s: float(API[s][2]) for s in STEPS}).to_numpy()
    path = np.char.replace(template, "{id}", (pages["product"].to_numpy() + 11).astype(str))
    duration = np.round(rng.lognormal(np.log(median * pages["network"].to_numpy()), 0.5), 1)
    roll = rng.random(n)
    fail_at = np.where(pages["step_name"].to_numpy() == "checkout", shop_catalog.PAYMENT_FAILURE, 0.015)
    status = np.where(roll < fail_at, rng.choice([500, 502, 503, 503], size=n), np.where(method == "POST", 201, 200))
    failure = np.where(roll < fail_at, "status", "")
    network_error = (roll >= fail_at) & (roll < fail_at + 0.003)
    timeout = (roll >= fail_at + 0.003) & (roll < fail_at + 0.005)
    status = np.where(network_error | timeout, 0, status)
    failure = np.where(network_error, "network", np.where(timeout, "timeout", failure))
    duration = np.where(timeout, 10_000.0, duration)
    url = np.char.add(shop_catalog.SITE, path)
    frame = pages.select(*common, (pl.col("at") + pl.col("load") + 60).cast(pl.Int64).alias("ts")).with_columns(
        pl.lit("api_call").alias("type"), pl.Series("http_method", method), pl.Series("http_url", url),
        pl.Series("http_status", status.astype(np.uint16)), pl.Series("duration_ms", duration),
        pl.Series("failure", failure.astype(str)))
    frame = frame.with_columns(_json('{"method":"{}","url":"{}","status":{},"duration":{},"ok":{}{}}',
                                         pl.col("http_method"), pl.col("http_url"), pl.col("http_status"),
                                         pl.col("duration_ms"), pl.when(pl.col("failure") == "").then(pl.lit("true"))
                                         .otherwise(pl.lit("false")),
                                         pl.when(pl.col("failure") == "").then(pl.lit(""))
                                         .otherwise(_json(',"failure":"{}"', pl.col("failure")))).alias("data"))
    failed = frame.filter(pl.col("failure") != "").with_columns(
        pl.lit("error").alias("type"), (pl.col("ts") + 1).alias("ts"), pl.lit("api").alias("error_kind"),
        pl.lit("HttpError").alias("error_type"),
        pl.when(pl.col("failure") == "status")
        .then(pl.format("{} {} → {}", pl.col("http_method"), pl.col("http_url").str.replace(shop_catalog.SITE, "")
                        .str.replace(r"\?.*$", ""), pl.col("http_status")))
        .when(pl.col("failure") == "network")
        .then(pl.format("{} {} failed: TypeError: Failed to fetch", pl.col("http_method"),
                        pl.col("http_url").str.replace(shop_catalog.SITE, "").str.replace(r"\?.*$", "")))
        .otherwise(pl.format("{} {} timed out after 10000 ms", pl.col("http_method"),
                             pl.col("http_url").str.replace(shop_catalog.SITE, "").str.replace(r"\?.*$", "")))
        .alias("error_message"))
    failed = failed.with_columns(_json('{"kind":"api","type":"HttpError","message":"{}","request":{}}',
                                           pl.col("error_message"), pl.col("data")).alias("data"))
    return pl.concat([frame.drop("failure"), failed.drop("failure")], how="diagonal_relaxed")


def _clicks(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    count = rng.poisson(1.2, size=pages.height)
    index = np.repeat(np.arange(pages.height), count)
    steps = pages["step_name"].to_numpy()[index]
    choice = rng.random(index.size)
    picked = [CLICK_TARGETS[s][int(c * len(CLICK_TARGETS[s]))] for s, c in zip(steps, choice)]
    target, text, href = (pl.Series(column, [p[i] for p in picked], dtype=pl.String)
                          for i, column in enumerate(("target", "click_text", "click_href")))
    frame = pages[index].select(*common, (pl.col("at") + pl.col("load") + pl.col("dwell") * 0.5).cast(pl.Int64).alias("ts"))
    return frame.with_columns(pl.lit("click").alias("type"), target, text, href,
                              _json('{"selector":"{}","text":"{}","href":"{}"}', target, text, href).alias("data"))


def _time_on_page(pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    return pages.select(*common, (pl.col("at") + pl.col("dwell")).cast(pl.Int64).alias("ts"),
                        pl.lit("time_on_page").alias("type"), pl.col("dwell").round(1).alias("duration_ms"),
                        _json('{"duration":{}}', pl.col("dwell").round(1)).alias("data"))


def _behaviour(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    """Custom events and forms along the funnel: add_to_cart, begin_checkout, checkout submit, purchase."""
    next_step = pages.select(pl.col("step_name").shift(-1).over("session"))["step_name"]
    frames = []
    for step, following, kind, name, target in (
        ("product", "cart", "custom", "add_to_cart", ""), ("cart", "checkout", "custom", "begin_checkout", ""),
        ("checkout", "confirmation", "form_submit", "checkout", "checkout"),
        ("confirmation", None, "custom", "purchase", ""),
    ):
        mask = (pages["step_name"] == step) & ((next_step == following) if following else pl.lit(True))
        part = pages.filter(mask)
        frames.append(part.select(*common, (pl.col("at") + pl.col("dwell") * 0.8).cast(pl.Int64).alias("ts"),
                                  pl.lit(kind).alias("type"), pl.lit(name).alias("name"), pl.lit(target).alias("target"),
                                  pl.lit(f'{{"name":"{name}","props":{{"currency":"EUR"}}}}').alias("data")))
    home = pages.filter((pl.col("step_name") == "home") & (pl.Series(rng.random(pages.height)) < 0.03))
    frames.append(home.select(*common, (pl.col("at") + pl.col("dwell") * 0.5).cast(pl.Int64).alias("ts"),
                              pl.lit("form_submit").alias("type"), pl.lit("newsletter").alias("target"),
                              pl.lit('{"form_id":"newsletter"}').alias("data")))
    return pl.concat(frames, how="diagonal_relaxed")


BUG_FRAMES = ('[{"filename":"https://cdn.example.com/static/js/product.8c1e2f.js","function":"formatPrice","lineno":1,'
              '"colno":48213,"in_app":true},{"filename":"https://cdn.example.com/static/js/product.8c1e2f.js",'
              '"function":"PriceTag","lineno":1,"colno":51877,"in_app":true}]')


def _errors(rng: np.random.Generator, pages: pl.DataFrame, common: list[str]) -> pl.DataFrame:
    n = pages.height
    frames = []
    noise = (("ReferenceError", "gtag is not defined", "js", 0.006, None),
             ("TypeError", "Cannot read properties of null (reading 'addEventListener')", "js", 0.01, "home"),
             ("UnhandledRejection", "Non-Error promise rejection captured with value: timeout", "promise", 0.003, None),
             ("AbortError", "The user aborted a request.", "promise", 0.002, None))
    for error_type, message, kind, chance, only in noise:
        mask = rng.random(n) < chance
        if only:
            mask &= pages["step_name"].to_numpy() == only
        frames.append(pages.filter(pl.Series(mask)).select(
            *common, (pl.col("at") + pl.col("load") + 15).cast(pl.Int64).alias("ts"), pl.lit("error").alias("type"),
            pl.lit(kind).alias("error_kind"), pl.lit(error_type).alias("error_type"), pl.lit(message).alias("error_message"),
            pl.lit(f'{{"kind":"{kind}","type":"{error_type}","message":"{message}"}}').alias("data")))
    # the buggy release on products without a discount: a burst of one TypeError, mostly during incidents
    chance = np.where(pages["incident"].to_numpy(), shop_catalog.BUG_CHANCE_DURING_INCIDENT, shop_catalog.BUG_CHANCE_OTHERWISE)
    bitten = ((pages["release"].to_numpy() == shop_catalog.BUGGY_RELEASE) & ~pages["discounted"].to_numpy()
              & (rng.random(n) < chance))
    index = np.flatnonzero(bitten)
    burst = rng.integers(3, 13, size=index.size)
    repeated = np.repeat(index, burst)
    offset = np.concatenate([np.arange(b) * 110.0 for b in burst]) if burst.size else np.zeros(0)
    message = shop_catalog.BUG_MESSAGE
    frames.append(pages[repeated].select(*common, (pl.col("at") + pl.col("load")).cast(pl.Int64).alias("ts")).with_columns(
        (pl.col("ts") + pl.Series(offset).cast(pl.Int64)).alias("ts"), pl.lit("error").alias("type"),
        pl.lit("js").alias("error_kind"), pl.lit("TypeError").alias("error_type"), pl.lit(message).alias("error_message"),
        pl.lit(f'{{"kind":"js","type":"TypeError","message":"{message}","frames":{BUG_FRAMES},'
               f'"stack":"TypeError: {message}\\n    at formatPrice (product.8c1e2f.js:1:48213)"}}').alias("data")))
    return pl.concat(frames, how="diagonal_relaxed")
