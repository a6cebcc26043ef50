"""The collector's URL space."""

from __future__ import annotations

import pytest

from pipeline.ingest.urls import query_value, route


@pytest.mark.parametrize("path, expected", [
    ("/api/42/events", (42, "events")),
    ("/api/1/pixel.gif", (1, "pixel.gif")),
    ("/api/7/ws", (7, "ws")),
])
def test_endpoints_name_a_numeric_project(path, expected):
    assert route(path) == expected


@pytest.mark.parametrize("path", ["/api/shop/events", "/api/-1/events", "/api/4²/events", "/api/42/events/",
                                  "/api/42/other", "/api/42", "/x/42/events", "/api/12345678901/events"])
def test_anything_else_is_no_endpoint(path):
    assert route(path) is None


def test_query_values_are_percent_decoded():
    scope = {"query_string": b"key=abc&d=%7B%22version%22%3A1%7D"}
    assert query_value(scope, "key") == "abc"
    assert query_value(scope, "d") == '{"version":1}'
    assert query_value(scope, "missing") is None
