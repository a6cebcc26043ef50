"""What happens to an event between Kafka and ClickHouse: an ordered list of named steps.

Modelled on Plausible's ingestion pipeline. Each step takes the event (the first one takes
the Kafka message's bytes) and returns it, usually with something added, or returns a
:class:`Dropped` saying why the event cannot go on. :func:`run` applies :data:`STEPS` in
order and stops at the first drop, stamping it with the step's name; the processor counts
drops by reason and sends each to the dead-letter topic. Reasons are a closed set
(:data:`REASONS`): the contract's own plus the few only the processor can detect.

Adding enrichment means writing one more small function here and putting it in the list at
the right place. The few settings steps need (:class:`Options`) are read once, at start, and
passed as an object: a step that needs them takes them as its second argument, and
:func:`steps_for` binds them (``steps_for(Options.from_settings(settings))``); :data:`STEPS`
are the steps with the default options (tools and tests).

Steps write what they derive into the event under the warehouse's column names
(``received_at``, ``browser``, ``os``, ``device``, ``client_ip``, ``path``, …); those names
are the processor's, an SDK cannot set them (a step overwrites whatever came in).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence, Union
from urllib.parse import urlsplit

import orjson

from pipeline import contract
from pipeline.contract import fast as validation
from pipeline.stream import bots, fingerprints, geo, pii, referrers, symbolication, user_agents, visitors
from pipeline.stream import route_patterns
from pipeline.stream.session_pages import SessionPages, WarehousePages

log = logging.getLogger(__name__)

# Reasons only the processor can give; the contract's cover everything about the event itself
# (``too_deep`` among them: the contract's nesting bound, which parse also gives past orjson's 1024 levels).
PROCESSOR_REASONS = (
    "missing_project",  # no valid project_id stamp: the message did not come through the collector
    "step_failed",  # a step raised: a processor bug; the event waits in the DLQ to be replayed
    "bot",  # a crawler, monitor or (with VIGIL_DROP_HEADLESS) headless browser: filtered by design
)
REASONS = contract.REASONS + PROCESSOR_REASONS
# Drops that filter good input by design rather than refuse bad input: counted, but not sent
# to the dead-letter topic (there is nothing to fix or replay), as Plausible drops bots.
FILTERED_REASONS = frozenset({"bot"})

Event = dict[str, Any]


@dataclass(slots=True)
class Dropped:
    """An event that cannot go on: a reason from :data:`REASONS`, where, and in words.

    :func:`run` fills ``step`` (the step's name) and ``event`` (the event as that step saw
    it, None when the message never parsed) for the dead letter.
    """

    reason: str
    message: str
    path: str = ""
    step: str = ""
    event: Event | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown drop reason {self.reason!r}; add it to steps.REASONS (a closed set)")


Step = Callable[[Any], Union[Event, Dropped]]

MAX_PROJECT_ID = 2**32 - 1  # the warehouse's project_id is a UInt32
# how far a collector's clock may run ahead of ours before its received_at is not believed
MAX_CLOCK_SKEW = timedelta(minutes=1)
MAX_IP_CHARS = 45  # the longest textual IPv6 address (with an embedded IPv4 tail)
CACHE_SIZE = 16_384


@dataclass(frozen=True)
class Options:
    """What the steps take from the settings (``VIGIL_*``), set once by :func:`configure`."""

    drop_headless: bool = False  # VIGIL_DROP_HEADLESS
    keep_full_ip: bool = False  # VIGIL_KEEP_FULL_IP
    # VIGIL_SECRET; unconfigured (unit tests, tools) a random one per process
    secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    locate: geo.Locator = geo.no_database  # VIGIL_GEOIP_DATABASE, opened once (geo.open_locator)
    # the uploaded source maps (the warehouse's), loaded on first need; None: frames stay as sent
    source_maps: symbolication.SourceMaps | None = None
    # recent sessions' page URLs, for vitals sent without one; unconfigured, from memory only
    session_pages: SessionPages = field(default_factory=SessionPages)

    @classmethod
    def from_settings(cls, settings: Any) -> Options:
        """From :class:`pipeline.settings.Settings`; creates the persisted secret if needed and
        opens the GeoIP database, stopping with what to do if it cannot be used."""
        return cls(drop_headless=settings.drop_headless, keep_full_ip=settings.keep_full_ip,
                   secret=visitors.load_secret(settings.secret, settings.data_dir),
                   locate=geo.open_locator(settings.geoip_database),
                   source_maps=symbolication.SourceMaps.from_settings(settings),
                   session_pages=SessionPages(WarehousePages(settings)))


DEFAULT_OPTIONS = Options()  # what a step uses when it is called without its options


def _preview(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ── the steps, in the order they run ──────────────────────────────────────────────────────


def parse(raw: bytes | None) -> Event | Dropped:
    """Kafka message bytes → the event (a JSON object)."""
    if not raw:
        return Dropped("invalid_json", "the message has no value (empty or a tombstone)")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit"):
            return Dropped("too_deep", f"the JSON nests deeper than 1024 levels: {exc}")
        return Dropped("invalid_json", f"the message is not one UTF-8 JSON document: {exc}")
    if type(event) is not dict:
        return Dropped("not_an_object", f"a message must be one JSON object (one event), not {type(event).__name__}")
    return event


def require_project(event: Event) -> Event | Dropped:
    """The collector stamps each event with the numeric id of the project it authenticated."""
    project_id = event.get("project_id")
    if type(project_id) is not int or not 0 < project_id <= MAX_PROJECT_ID:
        return Dropped(
            "missing_project",
            f"project_id must be the collector's stamp, a whole number 1..{MAX_PROJECT_ID}; "
            f"got {_preview(project_id)}. Send events through the collector.",
            "project_id",
        )
    return event


def put_received_at(event: Event) -> Event:
    """Keep the collector's ``received_at`` stamp (RFC 3339), or use now if it is missing or bad."""
    stamp = event.get("received_at")
    if type(stamp) is str and len(stamp) <= 40:
        known = _stamp_time(stamp)
        if known is not None and known[1] <= time.time() + _MAX_CLOCK_SKEW_S:
            event["received_at"] = known[0]
            return event
    event["received_at"] = datetime.now(timezone.utc)
    return event


_MAX_CLOCK_SKEW_S = MAX_CLOCK_SKEW.total_seconds()


@functools.lru_cache(maxsize=1024)
def _stamp_time(stamp: str) -> tuple[datetime, float] | None:
    """A collector stamp → (time, epoch seconds); cached: every event of one request carries
    the same stamp, and the seconds compare with the clock without building a datetime."""
    try:
        when = contract.parse_timestamp(stamp)
    except ValueError:
        return None
    return when, when.timestamp()


def validate(event: Event) -> Event | Dropped:
    """The event contract (event.schema.json), with the clock window around ``received_at``.

    The processor trusts no producer: the collector validated already, but anything else
    that can write to the topic did not. Checking the window against the receive time, not
    the processor's clock, keeps a replay of old messages from rejecting good events.
    A valid event's ``timestamp`` becomes the time the check parsed (as ``received_at`` is one).
    """
    # the contract reads every value (its nesting bound walks them all): not put_received_at's
    # datetime, which is the processor's own and no JSON
    received_at = event.pop("received_at")
    try:
        verdict = validation.check_event(event, now=received_at)
    finally:
        event["received_at"] = received_at
    if type(verdict) is contract.Rejection:
        return Dropped(verdict.reason, verdict.message, verdict.path)
    event["timestamp"] = verdict
    return event


def put_client_ip(event: Event) -> Event:
    """The client address the collector saw, if it is an IP address (else empty)."""
    client = event.get("client")
    ip = client.get("ip") if type(client) is dict else None
    event["client_ip"] = _ip_or_empty(ip) if type(ip) is str and len(ip) <= MAX_IP_CHARS else ""
    return event


@functools.lru_cache(maxsize=CACHE_SIZE)
def _ip_or_empty(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


def put_user_agent(event: Event) -> Event:
    """Browser, version, OS, version and device class from the client's User-Agent header."""
    client = event.get("client")
    user_agent = client.get("user_agent") if type(client) is dict else None
    user_agent = user_agent[: user_agents.MAX_USER_AGENT_CHARS] if type(user_agent) is str else ""
    info = user_agents.classify(user_agent)
    event["user_agent"] = user_agent
    event["browser"] = info.browser
    event["browser_version"] = info.browser_version
    event["os"] = info.os
    event["os_version"] = info.os_version
    event["device"] = info.device
    return event


def drop_bots(event: Event, options: Options = DEFAULT_OPTIONS) -> Event | Dropped:
    """Crawlers, monitors, an empty User-Agent, and headless browsers if ``drop_headless``.

    Runs after :func:`put_user_agent` (it reads the capped UA; ``bots.verdict``). A bot's
    event is counted as dropped but not dead-lettered (:data:`FILTERED_REASONS`).
    """
    user_agent = event["user_agent"]
    verdict = bots.verdict(user_agent)
    if verdict == bots.HUMAN:
        return event
    if verdict == bots.HEADLESS:
        if options.drop_headless:
            return Dropped("bot", f"a headless browser ({_preview(user_agent)}); VIGIL_DROP_HEADLESS is on",
                           "client.user_agent")
        return event
    return Dropped("bot", f"a robot's user agent: {_preview(user_agent)}", "client.user_agent")


def put_geo(event: Event, options: Options = DEFAULT_OPTIONS) -> Event:
    """Country, region and city of the client IP from the GeoIP database, if one is configured.

    Needs the full IP address, so it runs before :func:`anonymize_ip`; after :func:`drop_bots`,
    so robots cost no lookup. Unknown (no database, private address, no match) is ``""``.
    """
    event["country"], event["region"], event["city"] = options.locate(event["client_ip"])
    return event


def put_visitor_id(event: Event, options: Options = DEFAULT_OPTIONS) -> Event:
    """A cookieless visitor id for an SDK without storage (``anon_…``): see ``visitors``.

    Needs the full IP address, so it runs before :func:`anonymize_ip`.
    """
    visitor = event["visitor_id"]
    if visitor.startswith(visitors.ANONYMOUS_PREFIX):
        salt = visitors.daily_salt(options.secret, event["received_at"].date())
        event["visitor_id"] = visitors.visitor_id(salt, event["user_agent"], event["client_ip"], event["project_id"])
    return event


def anonymize_ip(event: Event, options: Options = DEFAULT_OPTIONS) -> Event:
    """Keep only the network of the client address: IPv4 /24, IPv6 /48 (unless ``keep_full_ip``).

    Runs after every step that needs the whole address (the visitor id).
    """
    if not options.keep_full_ip and event["client_ip"]:
        event["client_ip"] = _network_of(event["client_ip"])
    return event


@functools.lru_cache(maxsize=CACHE_SIZE)
def _network_of(ip: str) -> str:
    """``203.0.113.9`` → ``203.0.113.0``; ``2001:db8:85a3:8d3::1`` → ``2001:db8:85a3::``."""
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


# where URLs and free text live in an event (``data``'s keys by the contract's types)
_PAGE_TEXT = ("url", "referrer")
_DATA_TEXT = ("message", "stack", "source", "url", "name", "action", "text", "href", "transaction")


def _scrub_keys(holder: Any, keys: tuple[str, ...]) -> None:
    if type(holder) is dict:
        for key in keys:
            value = holder.get(key)
            if type(value) is str and value:
                holder[key] = pii.scrub(value)


def scrub_pii(event: Event) -> Event:
    """E-mail addresses, secrets in query strings and card numbers out of URLs and error text.

    Covers the page's URL and referrer, and in ``data`` the message, stack, source, URLs (API
    calls, resources, form actions, an API error's request), a click's text and href, frames'
    file names, breadcrumbs' messages, an error's transaction and its chain's messages and file
    names (``pii``). Runs before :func:`put_page`, so the route is scrubbed too.
    """
    _scrub_keys(event.get("page"), _PAGE_TEXT)
    data = event.get("data")
    if type(data) is dict:
        _scrub_keys(data, _DATA_TEXT)
        _scrub_keys(data.get("request"), ("url",))
        _scrub_keys(data.get("attribution"), ("url",))
        for key, field_name in (("frames", "filename"), ("breadcrumbs", "message")):
            items = data.get(key)
            if type(items) is list:
                for item in items:
                    _scrub_keys(item, (field_name,))
        for exception in data.get("exceptions") or ():  # a chain's exceptions (contract/sentry_errors.py)
            _scrub_keys(exception, ("message",))
            for frame in exception.get("frames") or ():
                _scrub_keys(frame, ("filename",))
    return event


def put_session_page(event: Event, options: Options = DEFAULT_OPTIONS) -> Event:
    """A Web Vital sent without its page's URL (Sentry's late INP and CLS spans, 11.x's LCP and CLS
    of a page hidden before its pageload ended) gets its session's page view's (``session_pages``);
    page views are remembered for that. A vital that comes before any page view of its session
    waits for one: the page view gives it its URL — in place while it is still in this batch of
    steps (it has no ``path`` yet), else as a corrected copy stored after it. Runs before
    :func:`scrub_pii` and :func:`put_page`, so the URL given is scrubbed and has a route."""
    kind = event["type"]
    if kind != "page_view" and kind != "web_vital":
        return event
    page = event.get("page")
    url = page.get("url") if type(page) is dict else None
    pages = options.session_pages
    if kind == "page_view":
        if type(url) is str and url:
            for live, copied in pages.saw_page_view(event["project_id"], event["session_id"], url):
                if "path" in live:  # put_page ran: its row is made, a copy with the page replaces it
                    _set_page_url(copied, url)
                    pages.correct(copied)
                else:
                    _set_page_url(live, url)
    elif not url:
        url = pages.page_of(event["project_id"], event["session_id"], event["timestamp"])
        if url:
            _set_page_url(event, url)
        else:
            pages.wait(event)
    return event


def _set_page_url(event: Event, url: str) -> None:
    page = event.get("page")
    if type(page) is dict:
        page["url"] = url
    else:
        event["page"] = {"url": url}


def put_page(event: Event) -> Event:
    """The page's route (``/products/:id``) from its URL, for grouping pages (``routes``)."""
    page = event.get("page")
    url = page.get("url") if type(page) is dict else None
    event["path"] = route_patterns.route_of(path_of(url)) if type(url) is str else ""
    return event


def put_traffic_source(event: Event) -> Event:
    """Referrer source and domain and the page URL's UTM tags (``referrers``), as Plausible's
    ``put_referrer`` and ``put_utm_tags``. Runs after :func:`scrub_pii`: tags are stored scrubbed."""
    page = event.get("page")
    url = referrer = ""
    if type(page) is dict:
        url = page.get("url", "")
        referrer = page.get("referrer", "")
    source = referrers.traffic_source(url if type(url) is str else "", referrer if type(referrer) is str else "")
    (event["referrer_source"], event["referrer_domain"], event["utm_source"], event["utm_medium"],
     event["utm_campaign"], event["utm_term"], event["utm_content"]) = source
    return event


def symbolicate(event: Event, options: Options = DEFAULT_OPTIONS) -> Event:
    """An error's minified frames → original file, line, column and function (``symbolication``).

    Needs the event's release and a source map uploaded for it (``vigil sourcemaps upload``);
    runs before :func:`put_fingerprint`, so groups are made of original frames. Any other
    event, or an error without frames or release, passes after a look at its type.
    """
    if event["type"] != "error" or options.source_maps is None:
        return event
    release = event.get("release")
    for holder in (event["data"], *(event["data"].get("exceptions") or ())):  # and a chain's exceptions
        frames = holder.get("frames")
        if release and frames:
            options.source_maps.symbolicate(event["project_id"], release, frames)
    return event


def put_fingerprint(event: Event) -> Event:
    """An error's group (``fingerprints``): type, normalised message, top in-app frames; else 0."""
    event["fingerprint"] = fingerprints.fingerprint(event["data"]) if event["type"] == "error" else 0
    return event


# scheme://authority, then the path up to the query or fragment
_PATH_AFTER_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*([^?#]*)")


@functools.lru_cache(maxsize=CACHE_SIZE)
def path_of(url: str) -> str:
    """``https://shop.example.com/products/42?ref=mail`` → ``/products/42``; ``/`` when empty."""
    try:
        path = urlsplit(url).path
    except ValueError:
        # e.g. an unbalanced IPv6 bracket in the host: take the path by hand
        match = _PATH_AFTER_AUTHORITY.match(url)
        path = match.group(1) if match else url.split("?", 1)[0].split("#", 1)[0]
    return path or "/"


STEPS: tuple[Step, ...] = (
    parse,
    require_project,
    put_received_at,
    validate,
    put_client_ip,
    put_user_agent,
    drop_bots,
    put_geo,
    put_visitor_id,
    anonymize_ip,
    put_session_page,
    scrub_pii,
    put_page,
    put_traffic_source,
    symbolicate,
    put_fingerprint,
)


# the steps that read the options: steps_for binds them to the options given
OPTION_STEPS = frozenset({drop_bots, put_geo, put_visitor_id, anonymize_ip, put_session_page, symbolicate})


def steps_for(options: Options, steps: tuple[Step, ...] = STEPS) -> tuple[Step, ...]:
    """``steps`` with ``options`` bound to those that read them (each keeps its name)."""
    return tuple(_bind(step, options) if step in OPTION_STEPS else step for step in steps)


def _bind(step: Callable[[Event, Options], Event | Dropped], options: Options) -> Step:
    @functools.wraps(step)
    def bound(event: Event) -> Event | Dropped:
        return step(event, options)
    return bound


def run(raw: bytes | None, steps: tuple[Step, ...] = STEPS) -> Event | Dropped:
    """Apply ``steps`` in order to one message; the enriched event, or the first drop."""
    return run_many((raw,), steps)[0]


def run_many(raws: Sequence[bytes | None], steps: tuple[Step, ...] = STEPS) -> list[Event | Dropped]:
    """:func:`run` for many messages at once, step by step: each step runs over every event
    still going before the next step starts.

    Same answers as ``[run(raw) for raw in raws]``, about a third less CPU per event in the
    processor: one step's code and data (its regular expressions, the parsers' caches) stay
    in the CPU's caches for a whole batch instead of being evicted by the fifteen others and
    by Kafka's and Quix Streams' per-message work in between.
    """
    values: list[Any] = list(raws)
    going = range(len(values))
    for step in steps:
        still: list[int] = []
        keep = still.append
        for index in going:
            before = values[index]
            try:
                value = step(before)
            except Exception as exc:  # a bug must not stall the stream: park the event in the DLQ
                log.error("step %s failed (%s: %s); the event goes to the DLQ as step_failed",
                          step.__name__, type(exc).__name__, str(exc)[:200])
                value = Dropped("step_failed", f"{type(exc).__name__}: {str(exc)[:500]}")
            if type(value) is Dropped:
                value.step = step.__name__
                value.event = before if type(before) is dict else None
            else:
                keep(index)
            values[index] = value
        going = still
    return values
