"""One bad event never costs its batch, over the real HTTP path (``vigil collect`` against the
real Kafka broker, as tests/integration/test_collector.py runs it): an event nested deeper than
orjson writes, a number past its warehouse column, tags of the wrong shape, a Sentry span whose
op or id is an object, a Sentry tag nested 300 levels deep — each refused with a 4xx reason of
its own while its batch-mates reach the topic; and a two-member gzip body loses no event."""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import orjson
import pytest
from websockets.sync.client import connect as websocket_connect

# the collector process, its topic and reader, and the projects: test_collector's fixtures
from tests.integration.test_collector import (  # noqa: F401 - fixtures are used by name
    USER_AGENT, base_env, collector, fresh_sentry_envelope, http, open_project, post, post_sentry, reader,
    shop_project, topic, warehouse)

pytestmark = pytest.mark.integration


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(number: int, **fields) -> dict:
    run = f"{time.time_ns() % 10**10:010d}"
    return {"event_id": f"bad{run}{number:04d}xx", "type": "custom", "timestamp": iso(datetime.now(timezone.utc)),
            "data": {"name": "signup"}, **fields}


def body_of(*events: dict, deep: int = 300) -> bytes:
    """An envelope of ``events`` as JSON; each ``"DEEP"`` string becomes ``deep`` nested arrays
    (orjson reads 1024 levels but writes only 255, so the text is spliced in)."""
    envelope = {"version": 1, "sdk": {"name": "vigil-browser", "version": "0.1.0"},
                "context": {"session_id": "s_badinput_01", "visitor_id": "v_badinput_01", "tags": {"ab": "b"},
                            "page": {"url": "https://shop.example.com/"}},
                "events": list(events)}
    return json.dumps(envelope).encode().replace(b'"DEEP"', b"[" * deep + b"1" + b"]" * deep)


def batch_with_bad_events() -> tuple[bytes, list[str], list[tuple[int, str, str]]]:
    """(body, ids of the good events, (index, reason, path prefix) of each bad one)."""
    events = [
        event(0),
        event(1, data={"name": "deep", "props": {"v": "DEEP"}}),  # 300 levels: orjson cannot write it
        event(2, type="page_view", data={}),
        event(3, type="resource", data={"name": "https://cdn.example.com/a.js", "duration": 5,
                                        "transfer_size": 10**30}),  # stored as 0 before
        event(4, tags=["ab", "c"]),  # not an object, with context tags to merge
        event(5, extra="DEEP"),  # an unknown field, nested as deep
        event(6),
    ]
    good = [events[i]["event_id"] for i in (0, 2, 6)]
    bad = [(1, "too_deep", "data.props.v."), (3, "out_of_range", "data.transfer_size"), (4, "wrong_type", "tags"),
           (5, "too_deep", "extra.")]
    return body_of(*events), good, bad


def assert_only_the_bad_refused(answer: dict, good: list[str], bad: list[tuple[int, str, str]], reader, mark) -> None:
    assert answer["accepted"] == len(good), answer
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [(index, reason) for index, reason, _ in bad]
    for refused, (_, _, path) in zip(answer["rejected"], bad):
        assert refused["path"].startswith(path) and refused["message"], refused
    produced = reader.read_since(mark, len(good))
    assert sorted(e["event_id"] for _, e in produced) == sorted(good)
    assert reader.count_since(mark) == len(good)


def test_the_events_endpoint_refuses_each_bad_event_and_delivers_its_batch_mates(http, open_project, reader):
    body, good, bad = batch_with_bad_events()
    mark = reader.mark()
    answer = post(http, open_project, body)
    assert answer.status_code == 202, answer.text
    assert_only_the_bad_refused(answer.json(), good, bad, reader, mark)


def test_the_websocket_refuses_each_bad_event_and_delivers_its_batch_mates(collector, open_project, reader):
    body, good, bad = batch_with_bad_events()
    mark = reader.mark()
    url = f"ws://127.0.0.1:{collector.port}/api/{open_project.id}/ws?key={open_project.key}"
    with websocket_connect(url, user_agent_header=USER_AGENT, max_size=None) as socket:
        socket.send(body.decode())
        answer = json.loads(socket.recv(timeout=15))
    assert answer["status"] == 202, answer
    assert_only_the_bad_refused(answer, good, bad, reader, mark)


def test_the_pixel_refuses_each_bad_event_and_delivers_its_batch_mates(http, open_project, reader):
    events = [event(0), event(1, data={"name": "deep", "props": {"v": "DEEP"}}), event(2)]
    body = body_of(*events, deep=260)
    mark = reader.mark()
    answer = http.get(f"/api/{open_project.id}/pixel.gif?key={open_project.key}&d={quote(body.decode())}")
    assert answer.status_code == 202 and answer.content.startswith(b"GIF89a"), answer.text
    produced = reader.read_since(mark, 2)
    assert sorted(e["event_id"] for _, e in produced) == sorted(events[i]["event_id"] for i in (0, 2))
    assert reader.count_since(mark) == 2


def test_a_unified_document_with_an_event_id_nested_990_deep_is_a_400_with_a_reason(http, open_project, reader):
    document = {"event_id": "DEEP", "platform": "javascript", "timestamp": iso(datetime.now(timezone.utc)),
                "contexts": {"performance": {"lcp": 1200}}, "request": {"url": "https://shop.example.com/"}}
    mark = reader.mark()
    answer = post(http, open_project, json.dumps(document).encode().replace(b'"DEEP"', b"[" * 990 + b"]" * 990))
    assert (answer.status_code, answer.json()["error"]) == (400, "wrong_type"), answer.text
    assert reader.count_since(mark) == 0


def test_every_member_of_a_gzip_body_is_delivered(http, open_project, reader):
    events = [event(n) for n in range(4)]
    whole = body_of(*events)
    cut = whole.index(b', {"event_id": "' + events[2]["event_id"].encode())
    mark = reader.mark()
    answer = post(http, open_project, gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]),
                  headers={"content-encoding": "gzip"})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 4, "rejected": []}
    assert sorted(e["event_id"] for _, e in reader.read_since(mark, 4)) == sorted(e["event_id"] for e in events)


def test_bytes_after_a_gzip_member_are_refused_not_ignored(http, open_project, reader):
    mark = reader.mark()
    answer = post(http, open_project, gzip.compress(body_of(event(0))) + b"trailing bytes",
                  headers={"content-encoding": "gzip"})
    assert (answer.status_code, answer.json()["error"]) == (400, "bad_gzip")
    assert reader.count_since(mark) == 0


# ── Sentry's envelope endpoint ───────────────────────────────────────────────────────────


def sentry_items(*items: tuple[dict, dict]) -> bytes:
    """Envelope item lines; each ``"DEEP"`` string in a payload becomes 300 nested arrays."""
    lines = []
    for headers, payload in items:
        lines += [orjson.dumps(headers), orjson.dumps(payload).replace(b'"DEEP"', b"[" * 300 + b"1" + b"]" * 300)]
    return b"\n".join(lines)


def span(span_id: str, **fields) -> dict:
    now = time.time()
    return {"span_id": span_id, "trace_id": "ba41a1ab7fd74bc2ae14d4c2c99ea409", "name": "LCP",
            "start_timestamp": now - 2, "end_timestamp": now - 1,
            "attributes": {"browser.web_vital.lcp.value": {"value": 1234.5, "type": "double"},
                           "url.full": {"value": "https://shop.example.com/", "type": "string"}}, **fields}


def error(event_id: str, **fields) -> dict:
    return {"event_id": event_id, "timestamp": time.time() - 1, "request": {"url": "https://shop.example.com/"},
            "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]}, **fields}


def test_the_sentry_envelope_endpoint_refuses_each_bad_item_and_delivers_the_rest(http, open_project, reader):
    run = f"{time.time_ns() % 10**12:012d}"
    body = fresh_sentry_envelope("thrown_error") + b"\n" + sentry_items(
        ({"type": "span", "content_type": "application/vnd.sentry.items.span.v2+json"},
         {"version": 2, "items": [span(f"a{run}123"), span(f"b{run}123", op=["pageload"]),
                                  {**span(f"c{run}123"), "span_id": {"id": 1}}, span(f"d{run}123")]}),
        ({"type": "event"}, error(f"{run}e" * 2 + "ffffffff", tags={"deep": "DEEP"})),  # a tag 300 levels deep
        ({"type": "event"}, error(f"{run}f" * 2 + "ffffffff", contexts={"trace": {"trace_id": "DEEP"}})),
    )
    mark = reader.mark()
    answer = post_sentry(http, open_project, body)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    # the thrown error and two of the four spans reach the topic
    assert reply["accepted"] == 3, reply
    refused = [(r.get("item"), r.get("index"), r["reason"], r["path"].split(".")[0]) for r in reply["rejected"]]
    assert refused == [(1, None, "wrong_type", "items[1]"), (1, None, "wrong_type", "items[1]"),
                       (3, None, "wrong_type", "items[3]"), (None, 3, refused[3][2], "tags")], reply
    assert refused[3][2] in ("too_deep", "wrong_type")
    assert [r["path"] for r in reply["rejected"][:3]] == [
        "items[1].items[1].op", "items[1].items[2].span_id", "items[3].contexts.trace.trace_id"]
    assert reader.count_since(mark) == 3
    produced = reader.read_since(mark, 3)
    assert sorted(e["type"] for _, e in produced) == ["error", "web_vital", "web_vital"]
    for _, delivered in produced:
        assert delivered["project_id"] == open_project.id
        assert datetime.now(timezone.utc) - datetime.fromisoformat(delivered["received_at"]) < timedelta(minutes=1)
