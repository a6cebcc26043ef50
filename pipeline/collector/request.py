"""What the collector knows of a request before its body, read once (Relay's ``RequestMeta``).

ASGI hands over the headers as a list of byte pairs and the path as a string; every check a
request meets (rate limit on arrival, endpoint, project, ``Origin``, key, media type,
encoding, the client stamp) needs some of them. :class:`RequestMeta` reads them once, when
the request arrives, resolves the endpoint and the client's address (behind trusted
proxies), and travels with the request to the one ingest funnel
(:mod:`pipeline.collector.funnel`); once the project is authenticated it carries that too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from pipeline.collector.network import ClientAddress
from pipeline.collector.refusals import transport_of
from pipeline.collector.routes import parse_query, route
from pipeline.projects import Project

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class ClientGone(Exception):
    """The client disconnected before sending its whole body: there is no one to answer."""


@dataclass(slots=True)
class RequestMeta:
    """One request's (or WebSocket connection's) metadata; see the module docstring.

    ``transport`` is what its refusals are counted under (:mod:`~pipeline.collector.refusals`):
    the endpoint's, until the body turns out to be a unified document.
    """

    path: str
    method: str  # "WEBSOCKET" for a WebSocket handshake
    headers: dict[bytes, bytes]
    query_string: bytes
    client_ip: str
    target: tuple[int, str] | None  # (project id, endpoint), None for a path that names none
    transport: str
    # the URL's project once found: by :meth:`Funnel.authenticate` with its key checked; for a
    # Sentry envelope whose key is in the body, before the body is read and its key checked
    project: Project | None = None
    _query: dict[str, list[str]] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, scope: Scope, client_address: ClientAddress) -> RequestMeta:
        headers = dict(scope.get("headers") or ())
        peer = scope.get("client")
        ip = peer[0] if peer else ""
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded is not None:
            ip = client_address.resolve(ip, forwarded.decode("latin-1"))
        path = scope.get("path", "")
        target = route(path)
        return cls(path=path, method=scope.get("method", "WEBSOCKET"), headers=headers,
                   query_string=scope.get("query_string") or b"", client_ip=ip, target=target,
                   transport=transport_of(target[1] if target else None))

    @property
    def project_id(self) -> int:
        """The URL's project id; 0 for a path that names no endpoint (what refusals count it under)."""
        return self.target[0] if self.target else 0

    @property
    def endpoint(self) -> str | None:
        return self.target[1] if self.target else None

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None

    @property
    def origin(self) -> str | None:
        return self.header(b"origin")

    @property
    def content_length(self) -> int | None:
        """The declared body size; None when chunked (or not a number, which the server refuses)."""
        length = self.headers.get(b"content-length")
        return int(length) if length is not None and length.isdigit() else None

    def query(self, name: str) -> str | None:
        """A query-string value, percent-decoded as UTF-8 (parsed on first use)."""
        if self._query is None:
            self._query = parse_query(self.query_string)
        values = self._query.get(name)
        return values[0] if values else None

    def client(self) -> dict[str, str]:
        """The ``client`` stamp every accepted event gets: IP and user agent."""
        return {"ip": self.client_ip, "user_agent": self.header(b"user-agent") or ""}
