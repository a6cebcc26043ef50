"""The collector's URL space: which endpoint a path names, and the query string's values.

``/api/{project}/{endpoint}`` with a numeric project id (Sentry-style DSNs carry one) and
one of :data:`ENDPOINTS`; Sentry's SDKs add a trailing slash to theirs
(``/api/{project}/envelope/``, ``/api/{project}/store/``), which :data:`SENTRY_ENDPOINTS`
may have; ``/healthz`` for load balancers and ``vigil up``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

ENDPOINTS = ("events", "pixel.gif", "ws", "envelope", "store")
SENTRY_ENDPOINTS = ("envelope", "store")
HEALTH = "/healthz"


def route(path: str) -> tuple[int, str] | None:
    """``/api/42/events`` → ``(42, "events")``, ``/api/42/envelope/`` → ``(42, "envelope")``; anything else → None."""
    parts = path.split("/")
    if len(parts) == 5 and parts[4] == "" and parts[3] in SENTRY_ENDPOINTS:
        parts.pop()
    if len(parts) != 4 or parts[0] != "" or parts[1] != "api" or parts[3] not in ENDPOINTS:
        return None
    project = parts[2]
    if not (project.isascii() and project.isdigit()) or len(project) > 10:
        return None
    return int(project), parts[3]


def parse_query(raw: bytes) -> dict[str, list[str]]:
    """A query string, percent-decoded as UTF-8."""
    return parse_qs(raw.decode("utf-8", "replace")) if raw else {}


def query_params(scope: dict[str, Any]) -> dict[str, list[str]]:
    """The request's query string, percent-decoded as UTF-8."""
    return parse_query(scope.get("query_string") or b"")


def query_value(scope: dict[str, Any], name: str) -> str | None:
    values = query_params(scope).get(name)
    return values[0] if values else None
