"""Warehouse and dashboards: load 10 million events, then time every page's queries.

    .venv/bin/python bench/warehouse.py                    # 10,000,000 events over 7 days
    .venv/bin/python bench/warehouse.py --events 1000000   # a quicker look
    .venv/bin/python bench/warehouse.py --data-dir DIR     # keep the loaded warehouse in DIR
    .venv/bin/python bench/warehouse.py --data-dir DIR --skip-load   # only time the queries on it again

Starts a scratch embedded ClickHouse (``vigil clickhouse`` on a free port, throw-away data,
the real migrations with their materialized views), then:

1. **load** — generates the shop's traffic with numpy/polars (the distributions of
   ``pipeline.simulation``: devices and their browsers, funnel walk, log-normal Web Vitals per
   device class, resources, API calls with failures, clicks, forms, the buggy release's error
   bursts during incidents, countries, connection types) in chunks of ~450k events and inserts
   each chunk as one Arrow batch, so every rollup's view runs as in production; reports the
   insert rate *with* the views, and the same for a chunk into a table without them; then
   seals the closed hours' counts (``pipeline.warehouse.sealing.seal_now``: what the
   warehouse's own refreshable view does within a minute of the last insert);
2. **pages** — for the ranges 1 h, 24 h and 7 d, runs each dashboard page's queries the
   way the page does (``pipeline.queries``, over HTTP with clickhouse-connect) and
   reports each query's median of 3 warm runs, whether it reads a rollup or raw events, and
   the page's total against the targets (page ≤ 1 s, rollup query ≤ 100 ms);
3. **raw p75 by route vs polars** — LCP p75 per route over all 10M events straight from the
   raw table (``FINAL``, exact quantiles) against polars on the same rows exported to
   Parquet, in the same run, as a ratio.

Prints the machine (cores, CPU model, load average before and after: the machine may be
shared) and writes a Markdown summary to ``--out`` (default bench/.cache/warehouse.md).
"""

from __future__ import annotations

import argparse
import binascii
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline import queries
from pipeline.contract import vitals  # noqa: E402
from pipeline.stream import referrers, user_agents  # noqa: E402
from pipeline.queries import Filters, FunnelStep  # noqa: E402
from pipeline.simulation import shop_catalog  # noqa: E402
from pipeline.queries import dashboard_state  # noqa: E402
from pipeline.warehouse.migrator import apply_migrations  # noqa: E402
from pipeline.warehouse.sealing import SEAL_MARGIN, seal_now  # noqa: E402
from tests.support.clickhouse import ClickHouseServer  # noqa: E402

console = Console(highlight=False)
PROJECT = 1
SPAN = timedelta(days=7)
CHUNK_SESSIONS = 10_000  # ≈ 450k events per insert
PAGE_TARGET_S = 1.0
ROLLUP_TARGET_S = 0.1

# ── the shop's traffic, vectorised ───────────────────────────────────────────────────────

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


def shop(start: datetime) -> Shop:
    devices, weights = [], []
    for device, weight in shop_catalog.DEVICES:
        info = user_agents.classify(device.user_agent)
        devices.append((info.browser, info.os, device.kind))
        weights.append(weight)
    w = np.asarray(weights)
    # two one-hour incidents in the week, when the buggy release's bug bites most
    incidents = [(start + timedelta(days=2, hours=14), start + timedelta(days=2, hours=15)),
                 (start + timedelta(days=5, hours=9), start + timedelta(days=5, hours=10))]
    return Shop(devices, w / w.sum(), _transition_matrix(), incidents)


def generate_chunk(rng: np.random.Generator, model: Shop, sessions: int, start: datetime, visitors: int,
                   project_id: int = PROJECT) -> pa.Table:
    """The events of ``sessions`` visits starting uniformly in [start, start + SPAN), as an Arrow table."""
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
        "started": start_ms + rng.integers(0, int(SPAN.total_seconds() * 1000), size=sessions),
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


def load(client: Any, events: int, start: datetime, seed: int = 42, project_id: int = PROJECT) -> tuple[int, float]:
    """Generate and insert ``events`` events of the week from ``start``; returns (events, seconds inserting)."""
    rng = np.random.default_rng(seed)
    model = shop(start)
    visitors = max(1000, int(events / 40 * 0.7))  # ≈ 40 events per session, 1.4 sessions per visitor
    inserted, insert_seconds, generate_seconds = 0, 0.0, 0.0
    columns = TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("loading events", total=events)
        per_session = 40.0  # events per session, refined as chunks come
        while inserted < events:
            began = time.perf_counter()
            remaining = events - inserted
            sessions = min(CHUNK_SESSIONS, max(100, int(remaining / per_session * 1.02)))
            table = generate_chunk(rng, model, sessions, start, visitors, project_id)
            per_session = table.num_rows / sessions
            if table.num_rows > remaining:  # the last chunk: leave out a random few of its events
                keep = np.sort(rng.choice(table.num_rows, size=remaining, replace=False))
                table = table.take(pa.array(keep))
            generated = time.perf_counter()
            client.insert_arrow("events", table)
            insert_seconds += time.perf_counter() - generated
            generate_seconds += generated - began
            inserted += table.num_rows
            progress.update(task, completed=inserted,
                            description=f"loading events ({inserted / insert_seconds:,.0f}/s into ClickHouse)")
    console.print(f"generated {inserted:,} events in {generate_seconds:.1f} s; inserted in {insert_seconds:.1f} s "
                  f"({inserted / insert_seconds:,.0f} events/s with every materialized view)")
    return inserted, insert_seconds


# ── what each page asks ──────────────────────────────────────────────────────────────────

RAW, ROLLUP = "raw", "rollup"
SHOP_FUNNEL = [FunnelStep("page", "/"), FunnelStep("page", "/c/*"), FunnelStep("page", "/p/*"),
               FunnelStep("page", "/cart"), FunnelStep("page", "/checkout"), FunnelStep("page", "/checkout/confirmation")]


def page_queries(client: Any, filters: Filters, bucket: int) -> dict[str, list[tuple[str, str, Callable[[], Any]]]]:
    """Per page, its queries as the page runs them: (name, source, call)."""
    before = filters.previous()
    top = queries.error_groups(client, filters, bucket)
    fingerprint = int(top["fingerprint"][0]) if top.height else 0
    q = queries
    return {
        "Sidebar": [
            ("projects", RAW, lambda: q.projects(client)),
            ("filter_options (7 d)", ROLLUP, lambda: q.filter_options(client, Filters.last_minutes(
                PROJECT, timedelta(days=7), filters.end - timedelta(minutes=1)))),
        ],
        "Overview": [
            ("traffic_totals", ROLLUP, lambda: q.traffic_totals(client, filters)),
            ("traffic_totals (previous)", ROLLUP, lambda: q.traffic_totals(client, before)),
            ("session_summary", ROLLUP, lambda: q.session_summary(client, filters)),
            ("session_summary (previous)", ROLLUP, lambda: q.session_summary(client, before)),
            ("vital_summary", ROLLUP, lambda: q.vital_summary(client, filters)),
            ("vital_p75_change (both periods, exact)", RAW, lambda: q.vital_p75_change(client, filters)),
            ("events_by_type", ROLLUP, lambda: q.events_by_type(client, filters, bucket)),
        ],
        "Web Vitals": [  # as it opens: LCP, breakdown by route, the Attribution details (see page_totals)
            ("vital_summary", ROLLUP, lambda: q.vital_summary(client, filters)),
            ("vital_trend", ROLLUP, lambda: q.vital_trend(client, filters, "LCP", bucket)),
            ("vital_histogram", ROLLUP, lambda: q.vital_histogram(client, filters, "LCP")),
            ("vital_breakdown (routes)", ROLLUP, lambda: q.vital_breakdown(client, filters, "LCP", "route", 500)),
            ("vital_attribution", RAW, lambda: q.vital_attribution(client, filters, "LCP")),
        ],
        OTHER_DETAILS: [  # what the Details picker runs instead of the attribution
            ("navigation_timing", RAW, lambda: q.navigation_timing(client, filters)),
            ("slowest_resources", RAW, lambda: q.slowest_resources(client, filters, 15, 3)),
        ],
        "Errors": [
            ("error_groups", ROLLUP, lambda: q.error_groups(client, filters, bucket)),
            ("error_events (top group)", RAW, lambda: q.error_events(client, filters, fingerprint)),
            ("error_tags (top group)", RAW, lambda: q.error_tags(client, filters, fingerprint)),
            ("api_endpoints", ROLLUP, lambda: q.api_endpoints(client, filters)),
            ("api_failures", ROLLUP, lambda: q.api_failures(client, filters)),
        ],
        "Funnels": [
            ("saved_funnels", RAW, lambda: dashboard_state.saved_funnels(client, PROJECT)),
            ("funnel (6 steps)", RAW, lambda: q.funnel(client, filters, SHOP_FUNNEL, timedelta(hours=1))),
        ],
        "Traffic": [
            ("traffic_totals", ROLLUP, lambda: q.traffic_totals(client, filters)),
            ("session_summary", ROLLUP, lambda: q.session_summary(client, filters)),
            ("traffic_trend", ROLLUP, lambda: q.traffic_trend(client, filters, bucket)),
            ("top_pages", ROLLUP, lambda: q.top_pages(client, filters)),
            ("entry_pages", ROLLUP, lambda: q.entry_pages(client, filters)),
            ("exit_pages", ROLLUP, lambda: q.exit_pages(client, filters)),
            ("sources", ROLLUP, lambda: q.sources(client, filters)),
            ("campaigns", ROLLUP, lambda: q.campaigns(client, filters)),
            ("time_on_page", RAW, lambda: q.time_on_page(client, filters)),
            ("top_clicks", RAW, lambda: q.top_clicks(client, filters)),
            ("form_submits", RAW, lambda: q.form_submits(client, filters)),
        ],
    }


OTHER_DETAILS = "Web Vitals, other details"


def page_totals(timings: dict[str, list[tuple[str, str, float]]]) -> dict[str, float]:
    """Seconds per page as a viewer waits for it: the sum of its queries. The Web Vitals page runs
    one of its three details at a time, so it counts three times: as it opens (attribution) and
    with each other choice of its Details picker in place of the attribution."""
    totals: dict[str, float] = {}
    for page, rows in timings.items():
        if page == OTHER_DETAILS:
            continue
        if page != "Web Vitals":
            totals[page] = sum(seconds for _, _, seconds in rows)
            continue
        opening = sum(seconds for name, _, seconds in rows if name != "vital_attribution")
        for name, _, seconds in [*(row for row in rows if row[0] == "vital_attribution"), *timings[OTHER_DETAILS]]:
            totals[f"Web Vitals ({name.replace('vital_', '').replace('_', ' ')})"] = opening + seconds
    return totals


def timed(call: Callable[[], Any], runs: int = 3) -> float:
    call()  # warm: connection, marks cache
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


RANGES = {"1 h": (timedelta(hours=1), 1), "24 h": (timedelta(hours=24), 15), "7 d": (timedelta(days=7), 60)}


def time_pages(client: Any, end: datetime, rounds: int = 1) -> dict[str, dict[str, list[tuple[str, str, float]]]]:
    """Each page's queries per range: (name, source, seconds) — the median of 3 warm runs; with
    ``rounds`` > 1 every query is timed in that many sweeps over all pages and ranges, one after
    the other, and keeps its fastest (on a shared machine a neighbour's burst inflates one sweep's
    numbers, rarely every sweep's)."""
    sweeps = []
    for sweep in range(1, rounds + 1):
        results: dict[str, dict[str, list[tuple[str, str, float]]]] = {}
        for label, (span, bucket) in RANGES.items():
            filters = Filters.last_minutes(PROJECT, span, end)
            results[label] = {}
            for page, calls in page_queries(client, filters, bucket).items():
                results[label][page] = [(name, source, timed(call)) for name, source, call in calls]
                console.print(f"  {sweep}/{rounds} {label:>4}  {page:<11} "
                              + ", ".join(f"{n} {t * 1000:.0f}" for n, _, t in results[label][page]))
        sweeps.append(results)
    fastest = {label: {page: [(name, source, min(s[label][page][index][2] for s in sweeps))
                              for index, (name, source, _) in enumerate(rows)]
                       for page, rows in pages.items()} for label, pages in sweeps[0].items()}
    for label in RANGES:
        console.print(f"  {label:>4}  pages: " + ", ".join(f"{page} {seconds * 1000:.0f} ms" for page, seconds
                                                        in page_totals(fastest[label]).items()))
    return fastest


# ── raw p75 by route: ClickHouse vs polars on Parquet ────────────────────────────────────

P75_BY_ROUTE = """
SELECT path, quantileExactInclusive(0.75)(vital_value) AS p75, count() AS samples
FROM events FINAL
WHERE project_id = {project_id:UInt32} AND type = 'web_vital' AND vital_name = 'LCP'
GROUP BY path
ORDER BY path
"""


def p75_by_route(client: Any, workdir: Path) -> dict[str, float]:
    parquet = workdir / "events.parquet"
    began = time.perf_counter()
    table = client.query_arrow("SELECT project_id, toString(type) AS type, timestamp, event_id, path, "
                               "toString(vital_name) AS vital_name, vital_value FROM events FINAL",
                               settings={"max_block_size": 1_000_000})
    pq.write_table(table, parquet)
    console.print(f"exported {table.num_rows:,} rows to Parquet ({parquet.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - began:.1f} s")
    del table

    def in_clickhouse() -> pl.DataFrame:
        return pl.from_arrow(client.query_arrow(P75_BY_ROUTE, parameters={"project_id": PROJECT}))

    def in_polars() -> pl.DataFrame:
        return (pl.scan_parquet(parquet)
                .filter((pl.col("project_id") == PROJECT) & (pl.col("type") == "web_vital")
                        & (pl.col("vital_name") == "LCP"))
                .group_by("path").agg(pl.col("vital_value").quantile(0.75, interpolation="linear").alias("p75"),
                                      pl.len().alias("samples"))
                .sort("path").collect())

    ours, theirs = in_clickhouse(), in_polars()
    assert ours["path"].to_list() == theirs["path"].to_list()
    assert np.allclose(ours["p75"].to_numpy(), theirs["p75"].to_numpy(), rtol=1e-12)
    clickhouse_s = timed(in_clickhouse, runs=5)
    polars_s = timed(in_polars, runs=5)
    return {"clickhouse_s": clickhouse_s, "polars_s": polars_s, "routes": ours.height,
            "samples": int(ours["samples"].sum())}


# ── the run ──────────────────────────────────────────────────────────────────────────────


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def insert_overhead(client: Any, start: datetime) -> dict[str, float]:
    """What the materialized views cost an insert shaped like the processor's sink (20,000 rows,
    Native format through clickhouse-connect's ``insert``): median seconds per batch into
    ``events`` (every view runs) and into a copy that feeds no view, alternating, 5 each."""
    client.command("DROP TABLE IF EXISTS events_no_views")
    client.command("CREATE TABLE events_no_views AS events")
    table = generate_chunk(np.random.default_rng(7), shop(start), 600, start, 20_000, project_id=PROJECT + 1)
    columns = table.column_names
    batch = table.slice(0, 20_000).to_pylist()
    rows = [[row[name] for name in columns] for row in batch]
    timings: dict[str, list[float]] = {"events": [], "events_no_views": []}
    for _ in range(5):
        for target in timings:
            began = time.perf_counter()
            client.insert(target, rows, column_names=columns)
            timings[target].append(time.perf_counter() - began)
    client.command("DROP TABLE events_no_views")  # (the batches stay in `events` under another project)
    return {target: statistics.median(samples) for target, samples in timings.items()} | {"rows": len(rows)}


def optimize(client: Any, unmerged_only: bool = False) -> float:
    """``OPTIMIZE … FINAL`` every MergeTree table (or only those with more than one part in a
    partition, e.g. a new migration's backfill), as background merges leave them after a while;
    returns the seconds it took."""
    began = time.perf_counter()
    tables = client.query("SELECT table FROM system.parts WHERE database = currentDatabase() AND active "
                          "GROUP BY table HAVING count() > uniqExact(partition) OR NOT {unmerged_only:Bool}",
                          parameters={"unmerged_only": unmerged_only}).result_rows
    for (table,) in tables:  # names from system.parts, not input
        client.command(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - began


def load_lines(facts: dict[str, Any]) -> list[str]:
    """The load and insert-cost bullets, or what a ``--skip-load`` run reused instead."""
    if math.isnan(facts["insert_rate"]):
        return [f"- Data: the warehouse an earlier run loaded (reused, new migrations applied). On disk: {facts['sizes']}."]
    return [f"- Load: {facts['insert_rate']:,.0f} events/s inserted with every materialized view "
            f"(Arrow batches of ~450k events), then `OPTIMIZE … FINAL` on every table ({facts['optimize_s']:.0f} s). "
            f"On disk: {facts['sizes']}.",
            f"- A processor-sink-shaped insert (20,000 rows, Native, clickhouse-connect): "
            f"{facts['sink_with_views'] * 1000:.0f} ms with every view, {facts['sink_without_views'] * 1000:.0f} ms "
            f"into a copy of `events` without views (medians of 5, alternating)."]


def markdown(facts: dict[str, Any], results: dict, ratio: dict[str, float]) -> str:
    lines = [f"Run {facts['date']}: {facts['events']:,} events over 7 days ending at the run; machine: "
             f"{facts['machine']['cores']} cores, {facts['machine']['cpu']}; load average before "
             f"{facts['load_before']}, after {facts['load_after']}.", "",
             *load_lines(facts),
             f"- Closed hours' counts sealed before timing (`audience_hour_seal` refreshed once the last insert "
             f"was {SEAL_MARGIN.seconds} s old, {facts['seal_wait_s']:.0f} s of waiting), as a running warehouse "
             "does within a minute.",
             "", "| page | 1 h | 24 h | 7 d |", "|---|---|---|---|"]
    totals = {label: page_totals(results[label]) for label in RANGES}
    for page in totals["1 h"]:
        cells = []
        for label in RANGES:
            total = totals[label][page]
            mark = "" if total <= PAGE_TARGET_S else " ⚠"
            cells.append(f"{total * 1000:.0f} ms{mark}")
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    pages = list(results["1 h"])
    how = ("median of 3 warm runs" if facts["rounds"] == 1
           else f"median of 3 warm runs, the fastest of {facts['rounds']} sweeps over every page and range")
    lines += ["", f"Each query ({how}, ms; rollup target ≤ 100 ms, raw queries are "
              "drill-downs with no target of their own):", "", "| page | query | source | 1 h | 24 h | 7 d |",
              "|---|---|---|---|---|---|"]
    for page in pages:
        for index, (name, source, _) in enumerate(results["1 h"][page]):
            cells = []
            for label in RANGES:
                seconds = results[label][page][index][2]
                over = source == ROLLUP and seconds > ROLLUP_TARGET_S
                cells.append(f"{seconds * 1000:.0f}{' ⚠' if over else ''}")
            lines.append(f"| {page} | `{name}` | {source} | " + " | ".join(cells) + " |")
    lines += ["", f"Raw-table LCP p75 by route over all {ratio['samples']:,} LCP measurements ({ratio['routes']} "
              f"routes, `FINAL`, exact quantiles): ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars on the "
              f"same rows in Parquet {ratio['polars_s'] * 1000:.0f} ms — ratio ClickHouse/polars "
              f"{ratio['clickhouse_s'] / ratio['polars_s']:.2f} (same run, medians of 5, answers equal)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events to load (default 10,000,000)")
    parser.add_argument("--data-dir", "--keep", dest="keep", type=Path, default=None,
                        help="keep the warehouse's data in this directory; a later run with the same directory "
                             "skips the load and times the queries again")
    parser.add_argument("--rounds", type=int, default=1,
                        help="sweep every page and range this many times and keep each query's fastest median")
    parser.add_argument("--skip-load", action="store_true",
                        help="only time the queries, on the warehouse already loaded in --data-dir (new "
                             "migrations are applied first); no insert-cost measurement")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / ".cache" / "warehouse.md",
                        help="where to write the Markdown summary")
    args = parser.parse_args()
    if args.skip_load and not (args.keep and args.keep.is_dir()):
        parser.error("--skip-load needs --data-dir DIR naming a warehouse an earlier run loaded")
    facts: dict[str, Any] = {"machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    facts["load_before"], facts["rounds"] = facts["machine"]["load"], args.rounds
    console.print(f"machine: {facts['machine']['cores']} cores, {facts['machine']['cpu']}, load {facts['load_before']}")
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    start = end - SPAN
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as scratch:
        data_dir = args.keep or Path(scratch) / "warehouse"
        with ClickHouseServer(data_dir) as server:
            client = server.client(send_receive_timeout=600)
            apply_migrations(client)
            stored = client.command(f"SELECT count() FROM events WHERE project_id = {PROJECT}")
            if args.skip_load and not stored:
                raise SystemExit(f"{data_dir} holds no events of project {PROJECT}: run once without --skip-load")
            if args.skip_load or (args.keep and stored >= args.events):  # a kept warehouse: time it again
                console.print(f"reusing the {stored:,} events kept in {data_dir} (loaded by an earlier run)")
                facts.update(events=stored, insert_rate=float("nan"), optimize_s=optimize(client, unmerged_only=True))
                latest = client.query("SELECT toStartOfMinute(max(timestamp)) FROM events").result_rows[0][0]
                end = latest.replace(tzinfo=timezone.utc) + timedelta(minutes=1)
            else:
                if stored:  # an interrupted earlier load into a kept warehouse: top it up
                    console.print(f"{stored:,} events kept from an earlier run; loading the other {args.events - stored:,}")
                    latest = client.query("SELECT min(timestamp) FROM events").result_rows[0][0]
                    start = latest.replace(tzinfo=timezone.utc).replace(second=0, microsecond=0)
                    end = start + SPAN
                added, insert_s = load(client, args.events - stored, start, seed=42 + stored)
                facts["events"] = stored + added
                facts["insert_rate"] = added / insert_s
                facts["optimize_s"] = optimize(client)
            if args.skip_load:
                facts["sink_with_views"] = facts["sink_without_views"] = float("nan")
            else:
                overhead = insert_overhead(client, start)
                facts["sink_with_views"], facts["sink_without_views"] = overhead["events"], overhead["events_no_views"]
                console.print(f"a sink-shaped insert ({overhead['rows']:,} rows, Native): "
                              f"{overhead['events'] * 1000:.0f} ms with every view, "
                              f"{overhead['events_no_views'] * 1000:.0f} ms without (medians of 5)")
            waited = facts["seal_wait_s"] = seal_now(client)  # what the warehouse's seal view does within a minute
            console.print(f"sealed the closed hours' counts (audience_hour_seal refreshed after waiting {waited:.0f} s "
                          f"for the last insert to be {SEAL_MARGIN.seconds} s old), as a running system would have")
            sizes = client.query("SELECT table, sum(rows), formatReadableSize(sum(bytes_on_disk)) FROM system.parts "
                                 "WHERE database = currentDatabase() AND active GROUP BY table ORDER BY table").result_rows
            facts["sizes"] = ", ".join(f"`{t}` {r:,} rows / {s}" for t, r, s in sizes if r)
            console.print(f"optimized in {facts['optimize_s']:.0f} s; {facts['sizes']}")
            console.print("page queries (ms):")
            results = time_pages(client, end - timedelta(minutes=1), args.rounds)
            ratio = p75_by_route(client, Path(scratch))
            console.print(f"raw LCP p75 by route: ClickHouse {ratio['clickhouse_s'] * 1000:.0f} ms, polars/Parquet "
                          f"{ratio['polars_s'] * 1000:.0f} ms, ratio {ratio['clickhouse_s'] / ratio['polars_s']:.2f}")
    facts["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    summary = markdown(facts, results, ratio)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(summary)
    table = Table("page", *RANGES, title="page totals")
    totals = {label: page_totals(results[label]) for label in RANGES}
    for page in totals["1 h"]:
        table.add_row(page, *(f"{totals[label][page] * 1000:.0f} ms" for label in RANGES))
    console.print(table)
    console.print(f"summary written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
