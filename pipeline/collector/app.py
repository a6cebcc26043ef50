"""The collector as a raw ASGI application: routes, checks, and one answer per request.

Endpoints (``{project}`` is the project's numeric id):

- ``POST /api/{project}/events`` — a batch envelope (``application/json``, or ``text/plain`` as
  sendBeacon sends it; optionally gzip, deflate, br or zstd), or a unified Sentry-like document. Key in
  ``X-Vigil-Key`` or ``?key=``. ``OPTIONS`` answers CORS preflights.
- ``GET /api/{project}/pixel.gif?key=…&d=<url-encoded envelope>`` — the image transport.
- ``/api/{project}/ws?key=…`` — WebSocket; each message is an envelope, each reply the answer.
- ``POST /api/{project}/envelope/`` and ``/store/`` — Sentry's endpoints, for apps that keep a
  Sentry SDK (DSN ``http://<key>@<host>/<project>``): :mod:`pipeline.collector.sentry`.
- ``GET /healthz`` — can this collector reach Kafka (and has it got its projects)?
- ``GET /metrics`` — every worker's counters in Prometheus' text format (:mod:`~pipeline.collector.metrics`).

No framework on the hot path: a request is a handful of dict reads, the envelope's own
work, and one await on Kafka's acknowledgement. Every refusal is a
:class:`~pipeline.collector.problems.Problem`, counted where it is answered
(:mod:`~pipeline.collector.refusals`); anything unexpected is logged and answered
503 — never 500, and never 2xx for events Kafka did not acknowledge.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any, Awaitable, Callable

import orjson

from pipeline import settings as settings_module
from pipeline.collector import encodings, envelope, sentry
from pipeline.collector.limits import Costs, RateLimiter, retry_after
from pipeline.collector.metrics import METRICS_PATH, CollectorMetrics
from pipeline.collector.network import ClientAddress, parse_trusted_proxies
from pipeline.collector.problems import RETRY_AFTER_UNAVAILABLE, Problem, envelope_problem, problem
from pipeline.collector.producer import EventProducer
from pipeline.collector.projects import ProjectCache, clickhouse_loader
from pipeline.collector.refusals import RefusalLog, answer_outcome, clickhouse_insert, noting, transport_of
from pipeline.collector.routes import HEALTH, SENTRY_ENDPOINTS, query_params, query_value, route
from pipeline.collector.websocket import serve_websocket
from pipeline.contract import Rejection
from pipeline.contract.sentry import SegmentPages
from pipeline.projects import Project
from pipeline.settings import Settings, redacted

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# the smallest transparent GIF: what an <img> beacon expects back
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
JSON_HEADERS: Headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
GIF_HEADERS: Headers = [(b"content-type", b"image/gif"), (b"cache-control", b"no-store")]
PREFLIGHT_HEADERS: Headers = [
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type, Content-Encoding, X-Vigil-Key"),
    (b"access-control-max-age", b"86400"),
]
# Retry-After is not a CORS-safelisted response header: expose it so the SDK can back off
CORS_EXPOSE = (b"access-control-expose-headers", b"Retry-After")
VARY_ORIGIN = (b"vary", b"Origin")
EVENTS_ALLOW = "POST, OPTIONS"

class ClientGone(Exception):
    """The client disconnected before sending its whole body: there is no one to answer."""


class Reply:
    """An HTTP answer, built completely before a byte is sent (so a failure can still be a 503).

    ``answer`` is what the answer says about the events (the JSON body, also when the body is
    a GIF): the refusal ``reason`` of a 4xx/5xx, the reasons of events refused one by one, and
    how many were accepted — what :mod:`~pipeline.collector.refusals` counts.
    """

    __slots__ = ("status", "body", "headers", "reason", "rejected", "accepted")

    def __init__(self, status: int, body: bytes, headers: Headers, answer: dict[str, Any] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.reason, self.rejected, self.accepted = answer_outcome(status, answer)

    @classmethod
    def json(cls, status: int, answer: dict[str, Any], extra: Headers = ()) -> Reply:
        return cls(status, orjson.dumps(answer), [*JSON_HEADERS, *extra], answer)


def cors_headers(scope: Scope) -> Headers:
    """What a browser needs to let the page read this answer: its own ``Origin`` echoed back.

    A success only ever reaches an origin the project allows (the origin check comes first),
    so echoing is the allow-list's answer there. A refusal echoes *any* Origin: its body is
    the closed reason and a message built from the request itself — never events, keys or
    the allow-list — and without ``Access-Control-Allow-Credentials`` no cookie is involved,
    so a page learns nothing from it that curl could not; while an answer the page cannot
    read is an opaque network error, which the SDK must treat as an outage and resend
    forever. ``Vary: Origin`` keeps caches from serving one origin's answer to another;
    ``Retry-After`` (and Sentry's rate-limit header) is exposed so clients can back off.
    """
    origin = dict(scope.get("headers") or ()).get(b"origin")  # the one the origin check read
    if origin is None:
        return []
    target = route(scope.get("path", ""))
    expose = sentry.SENTRY_EXPOSE if target and target[1] in SENTRY_ENDPOINTS else CORS_EXPOSE
    return [(b"access-control-allow-origin", origin), VARY_ORIGIN, expose]


def problem_reply(issue: Problem, extra: Headers = ()) -> Reply:
    headers = list(extra)
    if issue.retry_after is not None:
        headers.append((b"retry-after", str(issue.retry_after).encode()))
    if issue.allow is not None:
        headers.append((b"allow", issue.allow.encode()))
    if issue.reason == "unsupported_encoding":  # the codings this server takes (RFC 9110 §12.5.3)
        headers.append((b"accept-encoding", encodings.ACCEPT_ENCODING.encode()))
    return Reply.json(issue.status, issue.as_dict(), headers)


class Collector:
    """The ASGI application. Build it with :func:`create_app`."""

    def __init__(
        self,
        settings: Settings,
        projects: ProjectCache,
        producer: EventProducer,
        limiter: RateLimiter,
        client_address: ClientAddress,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.settings = settings
        self.projects = projects
        self.producer = producer
        self.limiter = limiter
        self.client_address = client_address
        # every refusal, counted (refusals.py); without a log of its own, counted for /metrics only
        self.refusals = refusals or RefusalLog(None, 0, CollectorMetrics())
        self.max_body = settings.max_body_bytes
        self.max_events = settings.max_events_per_batch
        # each project's recent Sentry pageload/navigation URLs, for its pages' late INP/CLS spans
        self._sentry_pages: dict[int, SegmentPages] = {}

    def sentry_pages(self, project_id: int) -> SegmentPages:
        """The project's recent Sentry segment URLs (see :class:`SegmentPages`)."""
        pages = self._sentry_pages.get(project_id)
        if pages is None:
            pages = self._sentry_pages[project_id] = SegmentPages()
        return pages

    # ── ASGI entry ─────────────────────────────────────────────────────────────────────

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            note = noting()
            try:
                reply = await self.handle_http(scope, receive)
            except ClientGone:
                return
            except Exception:  # a bug while answering a Problem: still not a 500
                reply = problem_reply(self.incident(scope), cors_headers(scope))
            target = route(scope["path"])
            self.refusals.record(target[0] if target else 0, transport_of(target and target[1], note),
                                 reply.reason, reply.rejected, reply.accepted)
            headers = reply.headers
            if reply.status != 204:  # a 204 carries no Content-Length (RFC 9110 §8.6)
                headers.append((b"content-length", str(len(reply.body)).encode()))
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body})
        elif kind == "websocket":
            await serve_websocket(self, scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def handle_http(self, scope: Scope, receive: Receive) -> Reply:
        try:
            return await self.dispatch(scope, receive)
        except Problem as issue:
            await self.slow_down(issue)
            return problem_reply(issue, cors_headers(scope))
        except ClientGone:
            raise
        except Exception:
            return problem_reply(self.incident(scope), cors_headers(scope))

    @staticmethod
    def incident(scope: Scope) -> Problem:
        """A bug, not the client's fault — and not a 500: log it, and say plainly what it means for the events.

        Call it from an ``except`` block (it logs the exception being handled).
        """
        incident = secrets.token_hex(4)
        log.exception("collector error %s on %s %s", incident, scope.get("method", "WEBSOCKET"), scope.get("path"))
        return problem(
            "internal_error",
            f"the collector failed while handling this request (incident {incident}, logged); it was NOT "
            "acknowledged. Some of its events may already have reached Kafka; resend the same batch later — "
            "events are de-duplicated by event_id.",
            retry_after=RETRY_AFTER_UNAVAILABLE,
        )

    async def dispatch(self, scope: Scope, receive: Receive) -> Reply:
        self.check_arrival(scope)
        path = scope["path"]
        method = scope["method"]
        if path == HEALTH:
            if method not in ("GET", "HEAD"):
                raise problem("method_not_allowed", "use GET /healthz", allow="GET, HEAD")
            return await self.health()
        if path == METRICS_PATH and self.settings.collector_metrics:
            if method not in ("GET", "HEAD"):
                raise problem("method_not_allowed", "use GET /metrics", allow="GET, HEAD")
            body, content_type = self.refusals.metrics.exposition()
            return Reply(200, body, [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")])
        target = route(path)
        if target is None:
            raise problem("not_found", f"no endpoint at {path}; events go to POST /api/<project id>/events")
        project_id, endpoint = target
        if endpoint == "events":
            if method == "POST":
                return await self.post_events(scope, receive, project_id)
            if method == "OPTIONS":
                return await self.preflight(scope, project_id)
            raise problem("method_not_allowed", f"{method} is not allowed on {path}; POST the envelope",
                          allow=EVENTS_ALLOW)
        if endpoint in SENTRY_ENDPOINTS:
            if method == "POST":
                status, answer = await sentry.post_sentry(self, scope, receive, project_id, endpoint)
                return Reply.json(status, answer, cors_headers(scope))
            if method == "OPTIONS":
                return await self.preflight(scope, project_id, sentry.SENTRY_PREFLIGHT_HEADERS)
            raise problem("method_not_allowed", f"{method} is not allowed on {path}; POST the Sentry envelope",
                          allow=EVENTS_ALLOW)
        if endpoint == "pixel.gif":
            if method != "GET":  # not even HEAD: a link checker must not record events
                raise problem("method_not_allowed", f"{method} is not allowed on {path}; load it as an image (GET)",
                              allow="GET")
            return await self.pixel(scope, project_id)
        raise problem("method_not_allowed", f"{path} is a WebSocket endpoint; open a WebSocket to it", allow="GET")

    # ── checks shared by every transport ───────────────────────────────────────────────

    async def project_for(self, project_id: int, origin: str | None) -> Project:
        project = self.projects.projects.get(project_id)  # the common case: no await needed
        if project is None:
            project = await self.projects.lookup(project_id)
        if project is None:
            raise problem("unknown_project", f"there is no project {project_id}; check the id in your SDK "
                                             "configuration (`vigil project list` shows them)")
        if not project.allows_origin(origin):
            raise problem("origin_not_allowed", f"origin {origin} may not send to project {project_id}; add it with "
                                                "`vigil project create … --origin` or send from an allowed page")
        return project

    @staticmethod
    def check_key(project: Project, key: str | bytes | None) -> None:
        if not key:
            raise problem("missing_key", "no ingest key: send it in the X-Vigil-Key header or as ?key=")
        given = key.encode() if isinstance(key, str) else key
        if not hmac.compare_digest(given, project.key.encode()):
            raise problem("wrong_key", f"that is not project {project.id}'s ingest key; check the SDK configuration")

    def client_of(self, scope: Scope, headers: dict[bytes, bytes]) -> dict[str, str]:
        """The ``client`` stamp: IP (socket peer, or per trusted proxies) and user agent."""
        return {"ip": self.client_ip(scope, headers), "user_agent": headers.get(b"user-agent", b"").decode("latin-1")}

    def client_ip(self, scope: Scope, headers: dict[bytes, bytes]) -> str:
        peer = scope.get("client")
        ip = peer[0] if peer else ""
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded is not None:
            ip = self.client_address.resolve(ip, forwarded.decode("latin-1"))
        return ip

    def check_arrival(self, scope: Scope) -> None:
        """Charge the client IP for this request before any other work (see :mod:`limits`); 429 if it cannot pay."""
        if not self.limiter.ips.enabled:
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        size = len(scope.get("query_string") or b"") + (int(length) if length is not None and length.isdigit() else 0)
        wait = self.limiter.arrive(self.client_ip(scope, headers), size)
        if wait > 0:
            raise self.rate_limited(wait)

    def charge_key(self, key: str, ip: str, size: int) -> None:
        """The request carries the project's (checked) key: the key pays for it too; 429 if it cannot."""
        wait = self.limiter.admit_key(key, size)
        if wait > 0:
            raise self.rate_limited(wait)

    def check_not_exhausted(self, key: str, ip: str) -> None:
        wait = self.limiter.exhausted(key, ip)
        if wait > 0:
            raise self.rate_limited(wait)

    async def slow_down(self, issue: Problem) -> None:
        """Hold a 429 back a little (at most its Retry-After): a client that resends at once, in a
        tight loop, then costs the collector a few requests a second per connection, not thousands."""
        if issue.reason == "rate_limited" and self.settings.rate_limit_delay_s > 0:
            await asyncio.sleep(min(self.settings.rate_limit_delay_s, issue.retry_after or 0))

    @staticmethod
    def rate_limited(wait: float) -> Problem:
        seconds = retry_after(wait)
        return problem("rate_limited", f"too many requests, bytes or events from this key or address; "
                                       f"retry in {seconds}s", retry_after=seconds)

    async def ingest(self, project: Project, raw: bytes | str, client: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Envelope bytes → Kafka, acknowledged → (status, answer). Raises Problem otherwise."""
        return await self.deliver(project, envelope.parse_envelope(raw, self.max_events), client)

    async def deliver(self, project: Project, document: dict[str, Any],
                      client: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A checked v1 envelope → Kafka, acknowledged → (status, answer). Raises Problem otherwise."""
        wait = self.limiter.admit(project.key, client["ip"], len(document["events"]))
        if wait > 0:
            raise self.rate_limited(wait)
        batch = envelope.split(document, project.id, client)
        self.limiter.charge_rejected(project.key, client["ip"], len(batch.rejected))
        if batch.messages:
            await self.producer.send(batch.messages)
        return envelope.outcome(batch)

    # ── endpoints ──────────────────────────────────────────────────────────────────────

    async def post_events(self, scope: Scope, receive: Receive, project_id: int) -> Reply:
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        project = await self.project_for(project_id, origin.decode("latin-1") if origin is not None else None)
        self.check_key(project, headers.get(b"x-vigil-key") or query_value(scope, "key"))
        content_type = headers.get(b"content-type")
        envelope.check_media_type(content_type.decode("latin-1") if content_type is not None else None)
        body, client = await self.checked_body(scope, receive, headers, project)
        status, answer = await self.ingest(project, body, client)
        return Reply.json(status, answer, cors_headers(scope))

    async def checked_body(self, scope: Scope, receive: Receive, headers: dict[bytes, bytes],
                           project: Project, key_checked: bool = True) -> tuple[bytes, dict[str, str]]:
        """After project, origin, key and media type: encoding, limits, then the body (decompressed) and the client stamp.

        ``key_checked`` False: the key is in the body (a Sentry DSN), so the key pays once it is checked.
        """
        encoding = headers.get(b"content-encoding")
        coding = encodings.coding_of(encoding.decode("latin-1") if encoding is not None else None)
        client = self.client_of(scope, headers)
        length = headers.get(b"content-length")
        known = int(length) if length is not None and length.isdigit() else None
        if known is not None and known > self.max_body:
            raise self.too_large()
        if key_checked:
            self.charge_key(project.key, client["ip"], known or 0)
        self.check_not_exhausted(project.key, client["ip"])
        body = await self.read_body(receive)
        key = project.key if key_checked else None
        if known is None:  # chunked: the bytes are known only now
            self.limiter.charge_bytes(key, client["ip"], len(body))
        if coding is not None:
            body = encodings.decode(body, coding, self.max_body)
            self.limiter.charge_bytes(key, client["ip"], len(body))  # inflating and parsing it is the work
        return body, client

    async def preflight(self, scope: Scope, project_id: int, allowed: Headers = PREFLIGHT_HEADERS) -> Reply:
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        await self.project_for(project_id, origin.decode("latin-1") if origin is not None else None)
        return Reply(204, b"", [*allowed, *cors_headers(scope)])

    async def pixel(self, scope: Scope, project_id: int) -> Reply:
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        project = await self.project_for(project_id, origin.decode("latin-1") if origin is not None else None)
        params = query_params(scope)
        self.check_key(project, headers.get(b"x-vigil-key") or (params.get("key") or [None])[0])
        data = (params.get("d") or [None])[0]
        if not data:
            raise envelope_problem(Rejection("missing_field", "d", "the pixel needs the envelope as ?d=<URL-encoded JSON>"))
        raw = data.encode()
        if len(raw) > self.max_body:
            raise self.too_large()
        client = self.client_of(scope, headers)
        self.charge_key(project.key, client["ip"], len(raw))
        self.check_not_exhausted(project.key, client["ip"])
        status, answer = await self.ingest(project, raw, client)
        if status != 202:
            return Reply.json(status, answer)
        return Reply(202, PIXEL_GIF, list(GIF_HEADERS), answer)

    async def health(self) -> Reply:
        """200 when Kafka answers and the topic exists and projects are loaded; 503 (with why) otherwise."""
        projects = self.projects.status()
        try:
            kafka = await asyncio.to_thread(self.producer.describe, 2.0)
            kafka_ok = "topic_error" not in kafka
        except Exception as error:  # KafkaException mostly; whatever it is, this collector can't deliver
            kafka = {"bootstrap": redacted(self.settings.kafka_brokers),
                     "error": str(error.args[0] if error.args else error)}
            kafka_ok = False
        ok = kafka_ok and bool(projects["loaded"])
        answer = {"status": "ok" if ok else "unavailable", "kafka": kafka, "projects": projects}
        if ok:
            return Reply.json(200, answer)
        return Reply.json(503, answer, [(b"retry-after", str(RETRY_AFTER_UNAVAILABLE).encode())])

    # ── plumbing ───────────────────────────────────────────────────────────────────────

    def too_large(self) -> Problem:
        return problem("body_too_large", f"the body is larger than {self.max_body} bytes; send smaller batches")

    async def read_body(self, receive: Receive) -> bytes:
        """The whole request body, refusing (413) as soon as it grows past the limit."""
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body"):
            if message["type"] == "http.disconnect":
                raise ClientGone()
            if len(body) > self.max_body:
                raise self.too_large()
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self.too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.producer.start(asyncio.get_running_loop())
                    await self.projects.start()
                    await self.refusals.start()
                except Exception as error:
                    log.exception("collector failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.projects.stop()
                await self.refusals.stop()
                await self.producer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings | None = None) -> Collector:
    """The collector wired from settings (uvicorn calls this in each worker process)."""
    settings = settings or settings_module.load()
    workers = max(settings.collector_workers, 1)
    return Collector(
        settings=settings,
        projects=ProjectCache(clickhouse_loader(settings), settings.projects_refresh_s,
                              source=f"ClickHouse at {redacted(settings.clickhouse_url)}"),
        producer=EventProducer(settings),
        # each worker meters its share, so the configured limits hold across workers
        limiter=RateLimiter(settings.rate_limit_per_key / workers, settings.rate_limit_per_ip / workers,
                            settings.rate_limit_burst_seconds, costs=Costs(
                                settings.rate_limit_request_cost, settings.rate_limit_kib_cost,
                                settings.rate_limit_rejected_event_cost),
                            max_request_bytes=settings.max_body_bytes),
        client_address=ClientAddress(parse_trusted_proxies(settings.trusted_proxies)),
        refusals=RefusalLog(clickhouse_insert(settings), settings.refusals_flush_s, CollectorMetrics()),
    )
