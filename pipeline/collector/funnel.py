"""The one way in: every transport's checks, and the funnel its envelope goes through to Kafka.

Shaped as Sentry's Relay is: a request is read once into a
:class:`~pipeline.collector.request.RequestMeta`, charged on arrival, authenticated once
(project, ``Origin``, key — :meth:`Funnel.authenticate`), its body read within the limits
and decoded (:meth:`Funnel.read_body`); each transport then only decodes its wire format
into a v1 envelope — Vigil's JSON (``events``, the pixel, the WebSocket) or Sentry's
(:mod:`pipeline.collector.sentry`) — and hands it to :meth:`Funnel.ingest`: rate limits,
validation of each event, the stamps, Kafka, and the answer once Kafka acknowledged.

Every refusal is a :class:`~pipeline.collector.problems.Problem`; the transports answer and
count it (:mod:`~pipeline.collector.refusals`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any

from pipeline.collector import encodings, envelope
from pipeline.collector.limits import RateLimiter, retry_after
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.network import ClientAddress
from pipeline.collector.problems import RETRY_AFTER_UNAVAILABLE, Problem, problem
from pipeline.collector.producer import EventProducer
from pipeline.collector.projects import ProjectCache
from pipeline.collector.refusals import UNIFIED, RefusalLog
from pipeline.collector.request import ClientGone, Receive, RequestMeta
from pipeline.contract import unified
from pipeline.projects import Project
from pipeline.settings import Settings

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any]]  # status, JSON answer


class Funnel:
    """The checks and the ingest path every transport shares (the collector's app extends it)."""

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

    def read_meta(self, scope: dict[str, Any]) -> RequestMeta:
        return RequestMeta.read(scope, self.client_address)

    # ── arrival and authentication ─────────────────────────────────────────────────────

    def arrive(self, meta: RequestMeta, size: int | None = None) -> None:
        """Charge the client's address for this request before any other work (see :mod:`limits`); 429 if it cannot pay.

        ``size``: the bytes it brings (a WebSocket message's); by default the query string and
        the declared body.
        """
        if not self.limiter.ips.enabled:
            return
        if size is None:
            size = len(meta.query_string) + (meta.content_length or 0)
        wait = self.limiter.arrive(meta.client_ip, size)
        if wait > 0:
            raise self.rate_limited(wait)

    async def project_for(self, meta: RequestMeta) -> Project:
        """The URL's project, if it exists and takes events from the request's ``Origin``."""
        project_id = meta.project_id
        project = self.projects.projects.get(project_id)  # the common case: no await needed
        if project is None:
            project = await self.projects.lookup(project_id)
        if project is None:
            raise problem("unknown_project", f"there is no project {project_id}; check the id in your SDK "
                                             "configuration (`vigil project list` shows them)")
        origin = meta.origin
        if not project.allows_origin(origin):
            raise problem("origin_not_allowed", f"origin {origin} may not send to project {project_id}; add it with "
                                                "`vigil project create … --origin` or send from an allowed page")
        return project

    async def authenticate(self, meta: RequestMeta, key: str | bytes | None) -> Project:
        """Project, origin and key, once per request (or WebSocket): the project, also kept on ``meta``."""
        project = await self.project_for(meta)
        self.check_key(project, key)
        meta.project = project
        return project

    @staticmethod
    def check_key(project: Project, key: str | bytes | None) -> None:
        if not key:
            raise problem("missing_key", "no ingest key: send it in the X-Vigil-Key header or as ?key=")
        given = key.encode() if isinstance(key, str) else key
        if not hmac.compare_digest(given, project.key.encode()):
            raise problem("wrong_key", f"that is not project {project.id}'s ingest key; check the SDK configuration")

    def vigil_key(self, meta: RequestMeta) -> str | bytes | None:
        """Vigil's transports carry the key in ``X-Vigil-Key`` or as ``?key=``."""
        return meta.headers.get(b"x-vigil-key") or meta.query("key")

    # ── limits ─────────────────────────────────────────────────────────────────────────

    def charge_key(self, project: Project, meta: RequestMeta, size: int) -> None:
        """The request carries the project's (checked) key: the key pays for it too; 429 if it cannot."""
        wait = self.limiter.admit_key(project.key, size)
        if wait > 0:
            raise self.rate_limited(wait)

    def check_not_exhausted(self, project: Project, meta: RequestMeta) -> None:
        wait = self.limiter.exhausted(project.key, meta.client_ip)
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

    def too_large(self) -> Problem:
        return problem("body_too_large", f"the body is larger than {self.max_body} bytes; send smaller batches")

    # ── the body ───────────────────────────────────────────────────────────────────────

    async def read_body(self, meta: RequestMeta, receive: Receive, key_checked: bool = True) -> bytes:
        """After authentication and the media type: encoding, limits, then the body, decompressed.

        ``key_checked`` False: the key is in the body (a Sentry DSN), so the key pays once it is checked.
        """
        project = meta.project
        assert project is not None, "authenticate (or find the project) before reading the body"
        coding = encodings.coding_of(meta.header(b"content-encoding"))
        known = meta.content_length
        if known is not None and known > self.max_body:
            raise self.too_large()
        if key_checked:
            self.charge_key(project, meta, known or 0)
        self.check_not_exhausted(project, meta)
        body = await self.receive_body(receive)
        key = project.key if key_checked else None
        if known is None:  # chunked: the bytes are known only now
            self.limiter.charge_bytes(key, meta.client_ip, len(body))
        if coding is not None:
            body = encodings.decode(body, coding, self.max_body)
            self.limiter.charge_bytes(key, meta.client_ip, len(body))  # inflating and parsing it is the work
        return body

    async def receive_body(self, receive: Receive) -> bytes:
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

    # ── the funnel ─────────────────────────────────────────────────────────────────────

    def decode_vigil(self, meta: RequestMeta, raw: bytes | str) -> dict[str, Any]:
        """Vigil's wire format (a v1 envelope, or a unified document mapped to one) → the checked envelope."""
        document = envelope.loads(raw)
        if unified.is_unified(document):  # its refusals are counted under the unified transport
            meta.transport = UNIFIED
            document = envelope.from_unified(document)
        return envelope.check_envelope(document, self.max_events)

    async def ingest(self, meta: RequestMeta, document: dict[str, Any]) -> Answer:
        """A checked v1 envelope of the authenticated project → Kafka, acknowledged → (status, answer).

        Raises :class:`Problem` otherwise (rate limited, Kafka unavailable).
        """
        project = meta.project
        assert project is not None, "authenticate before ingesting"
        wait = self.limiter.admit(project.key, meta.client_ip, len(document["events"]))
        if wait > 0:
            raise self.rate_limited(wait)
        batch = envelope.split(document, project.id, meta.client())
        self.limiter.charge_rejected(project.key, meta.client_ip, len(batch.rejected))
        if batch.messages:
            await self.producer.send(batch.messages)
        return envelope.outcome(batch)

    # ── the unexpected ─────────────────────────────────────────────────────────────────

    @staticmethod
    def incident(meta: RequestMeta) -> Problem:
        """A bug, not the client's fault — and not a 500: log it, and say plainly what it means for the events.

        Call it from an ``except`` block (it logs the exception being handled).
        """
        incident = secrets.token_hex(4)
        log.exception("collector error %s on %s %s", incident, meta.method, meta.path)
        return problem(
            "internal_error",
            f"the collector failed while handling this request (incident {incident}, logged); it was NOT "
            "acknowledged. Some of its events may already have reached Kafka; resend the same batch later — "
            "events are de-duplicated by event_id.",
            retry_after=RETRY_AFTER_UNAVAILABLE,
        )
