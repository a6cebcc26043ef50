"""Sentry events that are not exceptions, on envelopes the real @sentry/browser 8–11 sent.

``sentry{8,9,10,11}_http_client_error`` are ``httpClientIntegration``'s report of a ``POST
/api/pay`` answered 503, ``sentry{8,11}_message`` a ``captureMessage('cart viewed', 'info')``,
captured by ``tests/e2e/test_sentry_browser.py`` (``VIGIL_SENTRY_CAPTURE``) from the page the
e2e test serves (``tests/e2e/sentry_app``). Sentry's SDK puts the API's URL where an event's page
goes; Vigil files the failure under the page, as an API failure like its own SDK reports one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from pipeline.contract import merge_context, sentry, validate_event

FIXTURES = Path(__file__).parent / "sentry_envelopes"
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)  # just after they were captured
ORIGINS = {"8": "http://127.0.0.2:41607", "9": "http://127.0.0.2:39799", "10": "http://127.0.0.2:35321",
           "11": "http://127.0.0.2:46623"}  # the page each major was served from: the requests' Origin


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.envelope").read_bytes()


def mapped(body: bytes, origin: str | None = None) -> list[dict]:
    """The v1 events an envelope becomes with the request's ``Origin``, each valid for the contract."""
    document = sentry.to_events(sentry.parse_envelope(body), NOW, origin=origin).envelope()
    events = list(merge_context(document)) if document else []
    for event in events:
        assert validate_event(event, now=NOW) is None, event
    return events


def with_payload(name: str, change) -> bytes:
    """A fixture whose event payload ``change(payload)`` altered."""
    header, item, payload = fixture(name).split(b"\n")[:3]
    event = orjson.loads(payload)
    change(event)
    return b"\n".join([header, item, orjson.dumps(event)])


@pytest.mark.parametrize("major", ["8", "9", "10", "11"])
def test_an_http_client_error_is_an_api_failure_of_the_page(major):
    origin = ORIGINS[major]
    [failure] = mapped(fixture(f"sentry{major}_http_client_error"), origin)
    assert failure["type"] == "error"
    # the page the request was made from (the route browserTracingIntegration names), not the API
    assert failure["page"] == {"url": origin + "/"}
    data = failure["data"]
    assert (data["kind"], data["type"], data["message"]) == ("api", "HttpError", "POST /api/pay → 503")
    assert data["request"] == {"method": "POST", "url": origin + "/api/pay", "status": 503, "ok": False,
                               "failure": "status"}
    assert data["handled"] is False
    # the stack of the fetch call stays, for the source maps and the group
    assert [frame["filename"] for frame in data["frames"]] == [origin + "/app.min.js"] * 2
    assert data["breadcrumbs"][-1]["category"] == "fetch"
    assert (failure["release"], failure["environment"], failure["user_id"]) == ("shop@1.2.3", "staging", "user-42")


def test_after_a_single_page_navigation_the_page_is_the_navigations():
    def navigated(event: dict) -> None:
        event["breadcrumbs"].insert(-2, {"timestamp": event["timestamp"] - 1, "category": "navigation",
                                         "data": {"from": "/", "to": "/cart?step=2"}})
        event["transaction"] = "/cart"
    [failure] = mapped(with_payload("sentry11_http_client_error", navigated), ORIGINS["11"])
    # the breadcrumb has the page's query too, the route name only its path
    assert failure["page"] == {"url": ORIGINS["11"] + "/cart?step=2"}


def test_an_api_on_another_host_keeps_its_host_in_the_message():
    def elsewhere(event: dict) -> None:
        event["request"]["url"] = "https://api.example.com/v2/pay?order=12#receipt"
        event["request"]["method"] = "put"
        event["contexts"]["response"]["status_code"] = 502
    [failure] = mapped(with_payload("sentry10_http_client_error", elsewhere), ORIGINS["10"])
    assert failure["data"]["message"] == "PUT https://api.example.com/v2/pay → 502"
    assert failure["data"]["request"] == {"method": "PUT", "url": "https://api.example.com/v2/pay?order=12",
                                          "status": 502, "ok": False, "failure": "status"}
    assert failure["page"] == {"url": ORIGINS["10"] + "/"}


def test_without_a_route_or_a_navigation_the_page_is_unknown_rather_than_the_api():
    def untraced(event: dict) -> None:
        del event["transaction"]  # no browserTracingIntegration: nothing names the page
    [failure] = mapped(with_payload("sentry8_http_client_error", untraced), ORIGINS["8"])
    assert failure["page"] == {} and failure["data"]["request"]["url"] == ORIGINS["8"] + "/api/pay"
    # a route without the request's Origin is all there is of the page, as for standalone spans
    [failure] = mapped(fixture("sentry8_http_client_error"))
    assert failure["page"] == {"url": "/"} and failure["data"]["message"] == f"POST {ORIGINS['8']}/api/pay → 503"


def test_a_route_that_is_not_a_path_is_no_page():
    for name in ("GET /api/pay", "//evil.example/x", ""):
        def named(event: dict, name: str = name) -> None:
            event["transaction"] = name
        [failure] = mapped(with_payload("sentry9_http_client_error", named), ORIGINS["9"])
        assert failure["page"] == {}, name


def test_an_http_client_error_without_a_status_is_a_network_failure():
    def no_status(event: dict) -> None:
        del event["contexts"]["response"]
        del event["request"]["method"]
    [failure] = mapped(with_payload("sentry11_http_client_error", no_status), ORIGINS["11"])
    assert failure["data"]["request"] == {"method": "GET", "url": ORIGINS["11"] + "/api/pay", "status": 0, "ok": False,
                                          "failure": "network"}
    assert (failure["data"]["type"], failure["data"]["message"]) == ("NetworkError", "GET /api/pay → network")


def test_another_error_keeps_its_page_and_kind():
    [error] = mapped(fixture("captured_exception"))
    assert error["data"]["kind"] == "js" and "request" not in error["data"]
    assert error["page"]["url"].endswith("/")


@pytest.mark.parametrize("name", ["sentry8_message", "sentry11_message"])
def test_a_captured_message_is_titled_by_its_message(name):
    # 8.x–10.x send the message alone; 11.x with a synthetic exception (no type) holding the stack
    [message] = mapped(fixture(name), ORIGINS[name[6:].split("_")[0]])
    data = message["data"]
    assert (data["kind"], data["type"], data["message"], data["handled"]) == ("js", "Message", "cart viewed", True)
    assert message["page"]["url"].endswith("/")
    if name == "sentry11_message":
        assert [frame["function"] for frame in data["frames"]][-1] == "HTMLButtonElement.r"


def test_a_non_error_captured_as_an_exception_stays_an_error():
    # captureException('oops'): a synthetic exception too, but with a type — Sentry titles it "Error: oops"
    def string_thrown(event: dict) -> None:
        event["exception"]["values"][0]["type"] = "Error"
        event["message"] = "oops"
        event["exception"]["values"][0]["value"] = "oops"
    [error] = mapped(with_payload("sentry11_message", string_thrown))
    assert (error["data"]["type"], error["data"]["message"]) == ("Error", "oops")


def test_a_parameterised_message_is_titled_by_its_formatted_text():
    def parameterised(event: dict) -> None:
        del event["message"]
        event["logentry"] = {"message": "cart of %s viewed", "params": ["ann"], "formatted": "cart of ann viewed"}
    [message] = mapped(with_payload("sentry11_message", parameterised))
    assert (message["data"]["type"], message["data"]["message"]) == ("Message", "cart of ann viewed")


def test_a_huge_api_url_is_cut_to_the_contracts_limits():
    def huge(event: dict) -> None:
        event["request"]["url"] = "https://api.example.com/" + "a" * 20_000
        event["request"]["method"] = "M" * 100
    [failure] = mapped(with_payload("sentry11_http_client_error", huge), ORIGINS["11"])  # valid: mapped() checks
    data = failure["data"]
    assert len(data["request"]["url"]) == 8192 and data["request"]["method"] == "M" * 16
    assert len(data["message"]) == 8192 and data["message"].startswith("M" * 16 + " https://api.example.com/aaa")
