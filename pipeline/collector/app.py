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

No framework on the hot path: a request is read once into its metadata
(:mod:`~pipeline.collector.request`), each endpoint decodes its wire format into a v1
envelope and hands it to the one funnel (:mod:`~pipeline.collector.funnel`), and the
answer waits for Kafka's acknowledgement. Every refusal is a
:class:`~pipeline.collector.problems.Problem`, counted where it is answered
(:mod:`~pipeline.collector.refusals`); anything unexpected is logged and answered
503 — never 500, and never 2xx for events Kafka did not acknowledge.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from pipeline import settings as settings_module
from pipeline.collector import encodings, envelope, sentry
from pipeline.collector.funnel import Funnel
from pipeline.collector.limits import Costs, RateLimiter
from pipeline.collector.metrics import METRICS_PATH, CollectorMetrics
from pipeline.collector.network import ClientAddress, parse_trusted_proxies
from pipeline.collector.problems import RETRY_AFTER_UNAVAILABLE, Problem, envelope_problem, problem
from pipeline.collector.producer import EventProducer
from pipeline.collector.projects import ProjectCache, clickhouse_loader
from pipeline.collector.refusals import RefusalLog, answer_outcome, clickhouse_insert
from pipeline.collector.request import ClientGone, Headers, Receive, RequestMeta, Scope, Send
from pipeline.collector.routes import HEALTH, SENTRY_ENDPOINTS
from pipeline.collector.websocket import serve_websocket
from pipeline.contract import Rejection
from pipeline.settings import Settings, redacted

log = logging.getLogger(__name__)

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


def cors_headers(meta: RequestMeta) -> Headers:
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
    origin = meta.headers.get(b"origin")  # the one the origin check read
    if origin is None:
        return []
    expose = sentry.SENTRY_EXPOSE if meta.endpoint in SENTRY_ENDPOINTS else CORS_EXPOSE
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


class Collector(Funnel):
    """The ASGI application: routes each request to its transport. Build it with :func:`create_app`."""

    # ── ASGI entry ─────────────────────────────────────────────────────────────────────

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            meta = self.read_meta(scope)
            try:
                reply = await self.handle_http(meta, receive)
            except ClientGone:
                return
            except Exception:  # a bug while answering a Problem: still not a 500
                reply = problem_reply(self.incident(meta), cors_headers(meta))
            self.refusals.record(meta.project_id, meta.transport, reply.reason, reply.rejected, reply.accepted)
            headers = reply.headers
            if reply.status != 204:  # a 204 carries no Content-Length (RFC 9110 §8.6)
                headers.append((b"content-length", str(len(reply.body)).encode()))
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body})
        elif kind == "websocket":
            await serve_websocket(self, self.read_meta(scope), scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def handle_http(self, meta: RequestMeta, receive: Receive) -> Reply:
        try:
            return await self.dispatch(meta, receive)
        except Problem as issue:
            await self.slow_down(issue)
            return problem_reply(issue, cors_headers(meta))
        except ClientGone:
            raise
        except Exception:
            return problem_reply(self.incident(meta), cors_headers(meta))

    async def dispatch(self, meta: RequestMeta, receive: Receive) -> Reply:
        self.arrive(meta)
        path, method = meta.path, meta.method
        if path == HEALTH:
            if method not in ("GET", "HEAD"):
                raise problem("method_not_allowed", "use GET /healthz", allow="GET, HEAD")
            return await self.health()
        if path == METRICS_PATH and self.settings.collector_metrics:
            if method not in ("GET", "HEAD"):
                raise problem("method_not_allowed", "use GET /metrics", allow="GET, HEAD")
            body, content_type = self.refusals.metrics.exposition()
            return Reply(200, body, [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")])
        endpoint = meta.endpoint
        if endpoint is None:
            raise problem("not_found", f"no endpoint at {path}; events go to POST /api/<project id>/events")
        if endpoint == "events":
            if method == "POST":
                return await self.post_events(meta, receive)
            if method == "OPTIONS":
                return await self.preflight(meta)
            raise problem("method_not_allowed", f"{method} is not allowed on {path}; POST the envelope",
                          allow=EVENTS_ALLOW)
        if endpoint in SENTRY_ENDPOINTS:
            if method == "POST":
                status, answer = await sentry.post_sentry(self, meta, receive)
                return Reply.json(status, answer, cors_headers(meta))
            if method == "OPTIONS":
                return await self.preflight(meta, sentry.SENTRY_PREFLIGHT_HEADERS)
            raise problem("method_not_allowed", f"{method} is not allowed on {path}; POST the Sentry envelope",
                          allow=EVENTS_ALLOW)
        if endpoint == "pixel.gif":
            if method != "GET":  # not even HEAD: a link checker must not record events
                raise problem("method_not_allowed", f"{method} is not allowed on {path}; load it as an image (GET)",
                              allow="GET")
            return await self.pixel(meta)
        raise problem("method_not_allowed", f"{path} is a WebSocket endpoint; open a WebSocket to it", allow="GET")

    # ── Vigil's endpoints (Sentry's: :mod:`pipeline.collector.sentry`) ─────────────────

    async def post_events(self, meta: RequestMeta, receive: Receive) -> Reply:
        """``POST /api/{project}/events``: the body is the envelope (or a unified document)."""
        await self.authenticate(meta, self.vigil_key(meta))
        envelope.check_media_type(meta.header(b"content-type"))
        body = await self.read_body(meta, receive)
        status, answer = await self.ingest(meta, self.decode_vigil(meta, body))
        return Reply.json(status, answer, cors_headers(meta))

    async def preflight(self, meta: RequestMeta, allowed: Headers = PREFLIGHT_HEADERS) -> Reply:
        await self.project_for(meta)
        return Reply(204, b"", [*allowed, *cors_headers(meta)])

    async def pixel(self, meta: RequestMeta) -> Reply:
        """``GET /api/{project}/pixel.gif?key=…&d=…``: the envelope is the ``d`` parameter."""
        project = await self.authenticate(meta, self.vigil_key(meta))
        data = meta.query("d")
        if not data:
            raise envelope_problem(Rejection("missing_field", "d", "the pixel needs the envelope as ?d=<URL-encoded JSON>"))
        raw = data.encode()
        if len(raw) > self.max_body:
            raise self.too_large()
        self.charge_key(project, meta, len(raw))
        self.check_not_exhausted(project, meta)
        status, answer = await self.ingest(meta, self.decode_vigil(meta, raw))
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
