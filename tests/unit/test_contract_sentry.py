"""Sentry's wire format → v1 events, on envelopes the real @sentry/browser SDK sent.

The fixtures in ``sentry_envelopes/`` were captured from @sentry/browser 11.12 in Chromium
(``tests/e2e/sentry_app``): a thrown error, an unhandled rejection, a captured exception with
user, tags and breadcrumbs, the pageload's streamed spans (LCP, FCP, TTFB) and the spans sent
at page hide (INP, CLS), and a session update; ``sentry{8,9,10,11}_*`` from the latest 8.x–11.x
(the e2e matrix, ``VIGIL_SENTRY_CAPTURE``): v8–v10 pageload transactions and standalone INP
spans, v11.17's pageload spans; ``python_*`` from Python's ``sentry-sdk`` 2.76 (a chain of three
exceptions with a server name and a transaction, an exception group). Hostile inputs come
after them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from pipeline.contract import merge_context, sentry, validate_event
from pipeline.processor import fingerprints

FIXTURES = Path(__file__).parent / "sentry_envelopes"
NOW = datetime(2026, 11, 26, 22, 53, tzinfo=timezone.utc)  # when the fixtures were captured


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.envelope").read_bytes()


def mapped(body: bytes, now: datetime = NOW) -> list[dict]:
    """The v1 events an envelope becomes, context merged, each checked valid against the contract."""
    document = sentry.to_events(sentry.parse_envelope(body), now).envelope()
    events = list(merge_context(document)) if document else []
    for event in events:
        assert validate_event(event, now=now) is None, event
    return events


def test_a_thrown_error_becomes_one_unhandled_js_error_with_its_frames_innermost_first():
    [error] = mapped(fixture("thrown_error"))
    assert error["type"] == "error" and error["event_id"] == "1b0f3b2a196f4f16bab586e9082e906e"
    assert error["data"]["kind"] == "js" and error["data"]["handled"] is False
    assert error["data"]["type"] == "TypeError"
    assert error["data"]["message"] == "Cannot read properties of undefined (reading 'amount')"
    assert [f["function"] for f in error["data"]["frames"]] == ["Df", "HTMLButtonElement.Mf", "HTMLButtonElement.r"]
    assert error["data"]["frames"][0] == {"filename": "http://127.0.0.1:35377/app.min.js", "function": "Df",
                                          "lineno": 21, "colno": 28476, "in_app": True}
    assert error["data"]["breadcrumbs"] == [{"category": "ui.click", "message": "body > button#add",
                                             "timestamp": "2026-11-26T22:52:33.068Z"}]
    assert (error["release"], error["environment"]) == ("shop@1.2.3", "staging")
    assert error["timestamp"] == "2026-11-26T22:52:33.099Z"
    assert error["page"] == {"url": "http://127.0.0.1:35377/"}
    assert error["sdk"] == {"name": "sentry.javascript.browser", "version": "11.12.0"}
    # the page's trace ties its errors and vitals together; the processor picks the visitor
    assert error["session_id"] == "ba41a1ab7fd74bc2ae14d4c2c99ea409" and error["visitor_id"].startswith("anon_")


def test_an_unhandled_rejection_is_a_promise_error():
    [error] = mapped(fixture("unhandled_rejection"))
    assert (error["data"]["kind"], error["data"]["handled"]) == ("promise", False)
    assert error["data"]["message"] == "recommendations service answered 503"


def test_a_captured_exception_keeps_user_tags_and_breadcrumbs():
    [error] = mapped(fixture("captured_exception"))
    assert (error["data"]["kind"], error["data"]["handled"], error["data"]["type"]) == ("js", True, "SyntaxError")
    assert error["user_id"] == "user-42"
    assert error["tags"] == {"plan": "pro", "step": "payment"}
    assert error["data"]["breadcrumbs"][-1] == {"category": "cart", "message": "checkout started", "level": "info",
                                                "data": {"items": 3}, "timestamp": "2026-11-26T22:52:34.141Z"}
    assert [c["category"] for c in error["data"]["breadcrumbs"]].count("sentry.event") == 3


def test_pageload_spans_become_a_page_view_and_web_vitals():
    events = mapped(fixture("pageload_spans"))
    views = [e for e in events if e["type"] == "page_view"]
    vitals = {e["data"]["name"]: e for e in events if e["type"] == "web_vital"}
    assert len(views) == 1 and views[0]["data"] == {"navigation_type": "navigate"}
    assert views[0]["page"]["url"] == "http://127.0.0.1:35377/" and views[0]["user_id"] == "user-42"
    assert sorted(vitals) == ["FCP", "LCP", "TTFB"]
    assert vitals["LCP"]["data"]["value"] == 156 and vitals["LCP"]["data"]["attribution"] == {"target": "body > p"}
    assert vitals["LCP"]["page"]["url"] == "http://127.0.0.1:35377/"  # from its pageload segment
    assert {e["session_id"] for e in events} == {"ba41a1ab7fd74bc2ae14d4c2c99ea409"}
    assert all(e["release"] == "shop@1.2.3" and e["environment"] == "staging" for e in events)


def test_interaction_spans_become_inp_with_its_target_and_cls():
    vitals = {e["data"]["name"]: e["data"] for e in mapped(fixture("interaction_spans"))}
    assert vitals["INP"]["value"] == 48
    assert vitals["INP"]["attribution"] == {"target": "body > button#add", "interaction_type": "click"}
    assert vitals["CLS"]["value"] == 0


def test_late_inp_and_cls_alone_have_no_page_and_no_envelope_lends_them_one():
    # sent at page hide, in an envelope of their own and without a URL: the mapping keeps nothing
    # between envelopes (any collector worker may take either), the processor gives them their
    # trace's page view URL (tests/unit/test_processor_session_pages.py)
    mapped(fixture("pageload_spans"))
    late = {e["data"]["name"]: e for e in mapped(fixture("interaction_spans"))}
    assert "url" not in late["INP"]["page"] and "url" not in late["CLS"]["page"]
    assert late["INP"]["session_id"] == late["CLS"]["session_id"] == "ba41a1ab7fd74bc2ae14d4c2c99ea409"  # the trace


def test_a_vital_span_takes_its_segments_url_from_the_same_envelope():
    pageload = sentry.parse_envelope(fixture("pageload_spans"))
    late = sentry.parse_envelope(fixture("interaction_spans"))
    both = sentry.SentryEnvelope(headers=pageload.headers, items=[*pageload.items, *late.items])
    document = sentry.to_events(both, NOW).envelope()
    vitals = {e["data"]["name"]: e for e in merge_context(document) if e["type"] == "web_vital"}
    assert vitals["INP"]["page"] == vitals["CLS"]["page"] == {"url": "http://127.0.0.1:35377/"}


def test_sessions_are_accepted_and_counted_not_stored():
    result = sentry.to_events(sentry.parse_envelope(fixture("session")), NOW)
    assert result.events == [] and result.ignored == {"session": 1} and result.envelope() is None


def test_the_same_envelope_maps_to_the_same_ids():
    body = fixture("pageload_spans")
    assert [e["event_id"] for e in mapped(body)] == [e["event_id"] for e in mapped(body)]


def test_a_legacy_transaction_maps_its_measurements():
    # the shape SDKs up to v10 send (no SDK here sends it any more, so this one is written out)
    transaction = {
        "type": "transaction", "event_id": "4c9d2f1e8a7b4c3d9e0f1a2b3c4d5e6f", "transaction": "/checkout",
        "start_timestamp": 1795733552.2, "timestamp": 1795733554.0, "release": "shop@1.2.3",
        "contexts": {"trace": {"op": "navigation", "trace_id": "aa" * 16, "span_id": "bb" * 8}},
        "request": {"url": "https://shop.example.com/checkout"},
        "measurements": {"lcp": {"value": 1.5, "unit": "second"}, "cls": {"value": 0.02, "unit": ""},
                         "fid": {"value": 12, "unit": "millisecond"}, "ttfb": {"value": "fast"}},
        "sdk": {"name": "sentry.javascript.browser", "version": "7.120.0"},
    }
    body = b'{}\n{"type":"transaction"}\n' + orjson.dumps(transaction)
    events = mapped(body)
    assert [(e["type"], e["data"].get("name")) for e in events] == [("page_view", None), ("web_vital", "LCP"),
                                                                    ("web_vital", "CLS")]
    assert events[0]["data"] == {"navigation_type": "spa"} and events[0]["timestamp"] == "2026-11-26T22:52:32.200Z"
    assert events[1]["data"]["value"] == 1500  # seconds → ms; FID has no v1 name, a non-number is skipped


def test_a_message_event_is_an_error_of_type_message():
    body = b'{}\n{"type":"event"}\n' + orjson.dumps({"event_id": "e" * 32, "message": "cart is empty", "level": "warning"})
    [error] = mapped(body)
    assert (error["data"]["type"], error["data"]["message"], error["data"]["handled"]) == ("Message", "cart is empty", True)


def test_the_store_endpoint_takes_one_event():
    event = {"event_id": "f" * 32, "exception": {"values": [{"type": "Error", "value": "boom"}]}}
    envelope = sentry.parse_store(orjson.dumps(event))
    assert envelope.event_id == "f" * 32 and [item.type for item in envelope.items] == ["event"]
    [error] = sentry.to_events(envelope, NOW, client="raven-js/3.27.2").events
    assert error["data"]["message"] == "boom" and error["sdk"] == {"name": "raven-js", "version": "3.27.2"}
    assert sentry.client_sdk("garbage") is None and sentry.client_sdk(None) is None


def test_item_lengths_frame_binary_payloads_and_unknown_types_are_skipped():
    attachment = bytes(range(256)) + b"\n\n\xff\xfe"  # not UTF-8, and has newlines: only its length frames it
    event = orjson.dumps({"event_id": "a" * 32, "exception": {"values": [{"type": "Error", "value": "x"}]}})
    body = (b'{"event_id":"' + b"a" * 32 + b'"}\n'
            + b'{"type":"attachment","length":' + str(len(attachment)).encode() + b',"filename":"dump.bin"}\n' + attachment + b"\n"
            + b'{"type":"event","length":' + str(len(event)).encode() + b"}\n" + event + b"\n"
            + b'{"type":"client_report"}\n{"discarded_events":[]}\n'
            + b'{"type":"some_future_type"}\n{}')
    envelope = sentry.parse_envelope(body)
    assert [item.type for item in envelope.items] == ["attachment", "event", "client_report", "some_future_type"]
    assert envelope.items[0].payload == attachment
    result = sentry.to_events(envelope, NOW)
    assert len(result.events) == 1
    assert result.ignored == {"attachment": 1, "client_report": 1, "some_future_type": 1}


@pytest.mark.parametrize("body, reason, path", [
    (b"", "missing_field", ""),
    (b"   \n", "missing_field", ""),
    (b"GET / HTTP/1.1\r\n", "invalid_json", "header"),
    (b"[1, 2]\n", "not_an_object", "header"),
    (b'{"dsn": "\xff\xfe"}\n', "invalid_json", "header"),  # not UTF-8
    (b'{}\n{"type":"event"}\n\xff\xfe{}', "invalid_json", "items[0]"),
    (b'{}\n{"type":"event"}\n[]', "not_an_object", "items[0]"),
    (b'{}\n{"length": 2}\n{}', "missing_field", "items[0].type"),
    (b'{}\n{"type": 7}\n{}', "missing_field", "items[0].type"),
    (b'{}\n{"type":"event","length":500}\n{"event_id":"x"}', "out_of_range", "items[0].length"),
    (b'{}\n{"type":"event","length":-1}\n{}', "wrong_type", "items[0].length"),
    (b'{}\n{"type":"event","length":"2"}\n{}', "wrong_type", "items[0].length"),
    (b'{}\n{"type":"event","length":1.5}\n{}', "wrong_type", "items[0].length"),
    (b'{}\n{"type":"event","length":1}\n{}', "invalid_json", "items[1]"),  # a length that cuts the payload short
    (b"{}\n" + b'{"type":"session"}\n{}\n' * 1001, "too_many", "items"),
])
def test_broken_envelopes_are_refused_with_a_reason(body, reason, path):
    with pytest.raises(sentry.SentryFormatError) as refused:
        sentry.to_events(sentry.parse_envelope(body), NOW)
    assert (refused.value.rejection.reason, refused.value.rejection.path) == (reason, path)
    assert refused.value.rejection.message


def test_oversized_and_mistyped_fields_are_cut_to_the_contract_not_crashed_on():
    huge = "x" * 100_000
    event = {
        "event_id": "not an id!", "timestamp": "yesterday", "release": huge, "user": {"id": 42},
        "exception": {"values": [{"type": huge, "value": huge, "mechanism": {"handled": "no"},
                                  "stacktrace": {"frames": [{"function": huge, "lineno": -3, "colno": "9",
                                                             "filename": 5}] * 500}}]},
        "breadcrumbs": {"values": [{"message": huge, "level": "log", "timestamp": 1e30, "data": [1]}] * 300},
        "tags": {f"t{i}": {"nested": i} for i in range(80)}, "request": {"url": ["not", "a", "url"]},
        "sdk": "sentry", "contexts": [],
    }
    [error] = sentry.to_events(sentry.parse_envelope(b"{}\n{\"type\":\"event\"}\n" + orjson.dumps(event)), NOW).events
    data = error["data"]
    assert len(data["type"]) == 256 and len(data["message"]) == 8192 and error["user_id"] == "42"
    assert len(data["frames"]) == 100 and data["frames"][0] == {"function": "x" * 1024}
    assert len(data["breadcrumbs"]) == 100 and data["breadcrumbs"][0]["level"] == "info"
    assert "data" not in data["breadcrumbs"][0] and data["breadcrumbs"][0]["category"] == "default"
    assert len(error["tags"]) == 50 and error["tags"]["t0"] == '{"nested":0}'
    assert data["handled"] is True and error["page"] == {} and len(error["event_id"]) == 32
    # what still cannot be made to fit is the contract's to refuse, as for any event
    rejection = validate_event(error, now=NOW)
    assert rejection is not None and (rejection.reason, rejection.path) == ("bad_format", "timestamp")


def test_the_key_is_found_where_sentry_sdks_put_it():
    assert sentry.auth_key("Sentry sentry_version=7, sentry_client=raven-js/3.0, sentry_key=abc123") == "abc123"
    assert sentry.auth_key("sentry_key=abc123,sentry_version=7") == "abc123"
    assert sentry.auth_key("Bearer abc123") is None and sentry.auth_key(None) is None
    assert sentry.dsn_key("http://abc123@127.0.0.1:8080/42", 42) == "abc123"
    assert sentry.dsn_key("https://abc123:secret@vigil.example.com/path/42", 42) == "abc123"
    assert sentry.dsn_key("http://abc123@127.0.0.1:8080/42", 7) is None  # another project's DSN
    assert sentry.dsn_key("not a dsn", 42) is None and sentry.dsn_key(None, 42) is None


# ── SDKs 8–11, captured by tests/e2e/test_sentry_browser.py (VIGIL_SENTRY_CAPTURE) ──────────
MATRIX_NOW = datetime(2026, 12, 7, 1, 12, tzinfo=timezone.utc)  # when sentry{8,9,10,11}_* were captured
MATRIX_ORIGINS = {"8": "http://127.0.0.2:34073", "9": "http://127.0.0.2:39411", "10": "http://127.0.0.2:35835",
                  "11": "http://127.0.0.2:43611"}  # the page each major was served from


def mapped_from(body: bytes, origin: str | None = None, client: str | None = None) -> list[dict]:
    """As :func:`mapped`, for the matrix fixtures, with the ``Origin`` the browser sent them with
    and the ``?sentry_client=`` of the SDK's request URL."""
    document = sentry.to_events(sentry.parse_envelope(body), MATRIX_NOW, client, origin=origin).envelope()
    events = list(merge_context(document)) if document else []
    for event in events:
        assert validate_event(event, now=MATRIX_NOW) is None, event
    return events


@pytest.mark.parametrize("major", ["8", "9", "10"])
def test_a_standalone_inp_span_keeps_its_page_release_environment_and_target(major):
    # v8–v10 send INP alone, when the page is hidden: no URL, the route in data.transaction,
    # the release and environment in data, the interaction's target as the description
    version = {"8": "8.55.2", "9": "9.47.2", "10": "10.78.0"}[major]
    [inp] = mapped_from(fixture(f"sentry{major}_inp_span"), MATRIX_ORIGINS[major], f"sentry.javascript.browser/{version}")
    assert inp["type"] == "web_vital" and inp["data"]["name"] == "INP" and inp["data"]["value"] > 0
    assert inp["page"] == {"url": MATRIX_ORIGINS[major] + "/"}
    assert (inp["release"], inp["environment"]) == ("shop@1.2.3", "staging")
    assert inp["data"]["attribution"] == {"target": "body > button#add", "interaction_type": "click"}
    assert inp["sdk"] == {"name": "sentry.javascript.browser", "version": version}  # named only in the URL
    # its trace is the pageload's: the same session as the page's other vitals
    [pageload_trace] = {e["session_id"] for e in mapped_from(fixture(f"sentry{major}_pageload_transaction"))}
    assert inp["session_id"] == pageload_trace


def test_a_standalone_inp_span_without_an_origin_keeps_its_route_and_its_user():
    body = fixture("sentry8_inp_span").split(b"\n")
    span = orjson.loads(body[2])
    span["data"]["user"] = "user-42"  # the SDK's user display (e-mail, id or IP) when the scope has one
    [inp] = mapped_from(b"\n".join([*body[:2], orjson.dumps(span)]))
    assert inp["page"] == {"url": "/"} and inp["user_id"] == "user-42"


@pytest.mark.parametrize("major", ["8", "9", "10"])
def test_a_pageload_transaction_keeps_the_lcp_element_and_the_cls_source_as_targets(major):
    events = mapped_from(fixture(f"sentry{major}_pageload_transaction"))
    vitals = {e["data"]["name"]: e for e in events if e["type"] == "web_vital"}
    assert sorted(vitals) == ["CLS", "FCP", "LCP", "TTFB"]
    assert vitals["LCP"]["data"]["attribution"] == {"target": "body > p"}
    assert vitals["CLS"]["data"]["attribution"] == {"target": "body"}
    assert all(e["page"]["url"] == MATRIX_ORIGINS[major] + "/" and e["release"] == "shop@1.2.3"
               and e["environment"] == "staging" for e in events)


def test_streamed_pageload_spans_of_v11_keep_the_lcp_element():
    events = mapped_from(fixture("sentry11_pageload_spans"))
    vitals = {e["data"]["name"]: e for e in events if e["type"] == "web_vital"}
    assert sorted(vitals) == ["FCP", "LCP", "TTFB"]
    assert vitals["LCP"]["data"]["attribution"] == {"target": "body > p"}
    assert all(e["page"]["url"] == MATRIX_ORIGINS["11"] + "/" for e in events)


# ── backends (Python's sentry-sdk 2.76: python_chain, python_exception_group) ──────────────
PYTHON_NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)  # when the Python fixtures were captured


def test_a_python_exception_chain_keeps_every_exception_in_sentrys_order_and_is_a_backend_error():
    [error] = mapped(fixture("python_chain"), PYTHON_NOW)
    data = error["data"]
    assert (data["kind"], data["type"], data["message"]) == ("backend", "ValueError", "payment aborted")
    assert (data["platform"], data["level"], data["server_name"], data["transaction"]) == (
        "python", "error", "web-1", "/checkout")
    assert data["runtime"] == "CPython 3.11.7" and "logger" not in data
    # Sentry's order: the first cause first, the raised one last; each one's frames innermost first
    assert [(e["type"], e["message"]) for e in data["exceptions"]] == [
        ("KeyError", "'total'"), ("RuntimeError", "checkout failed: the cart has no total"),
        ("ValueError", "payment aborted")]
    assert [[f["function"] for f in e["frames"]] for e in data["exceptions"]] == [
        ["load", "checkout"], ["checkout", "pay"], ["pay", "<module>"]]
    assert data["exceptions"][-1]["frames"] == data["frames"]
    assert data["exceptions"][0]["mechanism"] == {"type": "generic", "handled": True}
    assert (error["release"], error["sdk"]["name"], error["page"]) == ("api@1.2.3", "sentry.python.starlette", {})


def test_an_exception_group_keeps_each_exceptions_id_parent_and_place():
    [error] = mapped(fixture("python_exception_group"), PYTHON_NOW)
    chain = error["data"]["exceptions"]
    assert [(e["type"], e["mechanism"].get("exception_id"), e["mechanism"].get("parent_id"),
             e["mechanism"].get("source"), e["mechanism"].get("is_exception_group")) for e in chain] == [
        ("KeyError", 2, 0, "exceptions[1]", None), ("ValueError", 1, 0, "exceptions[0]", None),
        ("ExceptionGroup", 0, None, None, True)]
    assert (error["data"]["type"], error["data"]["server_name"]) == ("ExceptionGroup", "worker-2")


def test_a_backend_message_keeps_its_level_logger_and_request_url():
    event = {"event_id": "a" * 32, "platform": "node", "level": "warning", "logger": "shop.payments",
             "logentry": {"message": "payment provider answered %s", "formatted": "payment provider answered 502"},
             "request": {"url": "https://api.example.com/pay?order=7", "method": "POST"},
             "server_name": "api-3", "transaction": "POST /pay", "contexts": {"os": {"name": "Linux", "version": "6.1"}}}
    [error] = mapped(b'{}\n{"type":"event"}\n' + orjson.dumps(event))
    assert error["data"] == {"kind": "backend", "type": "Message", "message": "payment provider answered 502",
                             "handled": True, "platform": "node", "level": "warning", "logger": "shop.payments",
                             "server_name": "api-3", "transaction": "POST /pay", "os": "Linux 6.1", "breadcrumbs": []}
    assert error["page"] == {"url": "https://api.example.com/pay?order=7"}


@pytest.mark.parametrize(("level", "stored"), [("critical", "fatal"), ("log", "info"), ("FATAL", "fatal"),
                                               ("loud", "error"), (None, "error"), ({"a": 1}, "error")])
def test_sentry_levels_become_the_contracts(level, stored):
    event = {"event_id": "b" * 32, "platform": "python", "level": level, "message": "x"}
    [error] = mapped(b'{}\n{"type":"event"}\n' + orjson.dumps(event))
    assert error["data"]["level"] == stored


def test_a_long_chain_keeps_the_raised_exception_and_its_nearest_causes():
    values = [{"type": f"E{n}", "value": str(n), "stacktrace": {"frames": [{"function": f"f{n}"}]}} for n in range(30)]
    event = {"event_id": "c" * 32, "platform": "python", "exception": {"values": values}}
    [error] = mapped(b'{}\n{"type":"event"}\n' + orjson.dumps(event))
    chain = error["data"]["exceptions"]
    assert len(chain) == 25 and (chain[0]["type"], chain[-1]["type"], error["data"]["type"]) == ("E5", "E29", "E29")


@pytest.mark.parametrize(("name", "group"), [("thrown_error", "803ed78bfb579812"),
                                             ("unhandled_rejection", "117f6d404df7c0ae"),
                                             ("captured_exception", "b1b87ea0d2a86569")])
def test_browser_errors_keep_their_kind_and_their_groups(name, group):
    """The groups these errors had before backends got their own kind and chains were kept."""
    [error] = mapped(fixture(name))
    assert error["data"]["platform"] == "javascript" and error["data"]["kind"] in ("js", "promise")
    assert "exceptions" not in error["data"]  # a single exception is the error itself
    assert f"{fingerprints.fingerprint(error['data']):016x}" == group


def test_a_browser_chain_stays_a_js_error_grouped_by_the_raised_exception():
    values = [{"type": "TypeError", "value": "cause", "mechanism": {"type": "chained", "source": "cause",
                                                                     "exception_id": 1, "parent_id": 0}},
              {"type": "Error", "value": "checkout failed", "mechanism": {"type": "onerror", "handled": False,
                                                                         "exception_id": 0}}]
    event = {"event_id": "d" * 32, "platform": "javascript", "exception": {"values": values}}
    [error] = mapped(b'{}\n{"type":"event"}\n' + orjson.dumps(event))
    alone = dict(error["data"], exceptions=None)
    del alone["exceptions"]
    assert (error["data"]["kind"], error["data"]["type"], len(error["data"]["exceptions"])) == ("js", "Error", 2)
    assert fingerprints.fingerprint(error["data"]) == fingerprints.fingerprint(alone)
