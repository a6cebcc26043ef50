"""The collector's URL space: which endpoint a path names, and the query string's values.

``/api/{project}/{endpoint}`` with a numeric project id (Sentry-style DSNs carry one) and
one of :data:`ENDPOINTS`; ``/healthz`` for load balancers and ``vigil up``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

ENDPOINTS = ("events", "pixel.gif", "ws")
HEALTH = "/healthz"


def route(path: str) -> tuple[int, str] | None:
    """``/api/42/events`` → ``(42, "events")``; anything else → None."""
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != "" or parts[1] != "api" or parts[3] not in ENDPOINTS:
        return None
    project = parts[2]
    if not (project.isascii() and project.isdigit()) or len(project) > 10:
        return None
    return int(project), parts[3]


def query_params(scope: dict[str, Any]) -> dict[str, list[str]]:
    """The request's query string, percent-decoded as UTF-8."""
    raw = scope.get("query_string") or b""
    return parse_qs(raw.decode("utf-8", "replace")) if raw else {}


def query_value(scope: dict[str, Any], name: str) -> str | None:
    values = query_params(scope).get(name)
    return values[0] if values else None
