"""One bad event never costs its batch, and nothing is silently changed or dropped (issue 13,
items 3 and 6): nesting past the contract's bound, ids and keys of the wrong shape in Sentry
payloads, numbers past what a warehouse column holds, and gzip bodies of several members —
each refused with a reason, event by event, while the rest of the batch goes on."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline import contract
from pipeline.ingest import encodings, envelope
from pipeline.ingest.problems import Problem
from pipeline.contract import fast, sentry
from pipeline.settings import REPO_ROOT
from tests.support import vectors
from tests.unit.test_collector_app import GOOD, build, request

NOW = datetime.now(timezone.utc)
STAMP = (NOW - timedelta(seconds=5)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
CLIENT = {"ip": "203.0.113.7", "user_agent": "test"}


def deep(levels: int, kind: str = "object") -> bytes:
    """JSON text of ``levels`` nested objects (or arrays): orjson reads 1024 levels, writes only 255."""
    if kind == "object":
        return b'{"n":' * (levels - 1) + b"{}" + b"}" * (levels - 1)
    return b"[" * levels + b"1" + b"]" * levels


def with_deep(document: dict, levels: int, kind: str = "object") -> bytes:
    """``document`` as JSON with its ``"DEEP"`` string replaced by :func:`deep` (orjson cannot write that)."""
    return orjson.dumps(document).replace(b'"DEEP"', deep(levels, kind))


def event(number: int, **fields) -> dict:
    return {"event_id": f"01J0ZK4T{number:04d}XQ5M8R2B7C9D", "type": "custom", "timestamp": STAMP,
            "session_id": "s_7f3a9c2e41d8", "visitor_id": "v_0b6e2d94c7a1f3", "data": {"name": "signup"}, **fields}


def batch(*events: dict) -> dict:
    return {"version": 1, "sdk": {"name": "vigil-browser", "version": "0.1.0"},
            "context": {"session_id": "s_7f3a9c2e41d8", "visitor_id": "v_0b6e2d94c7a1f3", "tags": {"ab": "b"}},
            "events": list(events)}


def split(raw: bytes) -> envelope.Batch:
    return envelope.split(envelope.parse_envelope(raw, 1000), 1, CLIENT, NOW)


# ── the contract's nesting bound ─────────────────────────────────────────────────────────


def test_the_nesting_bound_is_a_chain_of_max_depth_levels_well_below_what_orjson_writes():
    schema = contract.load_schema("event")
    defs = schema["$defs"]
    assert contract.MAX_DEPTH == 32 and contract.MAX_DEPTH < 255
    assert defs["depth_0"]["not"] == {"type": ["object", "array"]}
    for level in range(1, contract.MAX_DEPTH + 1):
        below = {"$ref": f"#/$defs/depth_{level - 1}"}
        assert (defs[f"depth_{level}"]["items"], defs[f"depth_{level}"]["additionalProperties"]) == (below, below)
    assert f"depth_{contract.MAX_DEPTH + 1}" not in defs


def test_not_is_only_the_floor_of_the_nesting_bound_so_it_can_name_too_deep():
    def nots(node, where="#"):
        if isinstance(node, dict):
            found = [where] if "not" in node else []
            return found + [hit for key, value in node.items() for hit in nots(value, f"{where}/{key}")]
        if isinstance(node, list):
            return [hit for index, value in enumerate(node) for hit in nots(value, f"{where}/{index}")]
        return []

    assert nots(contract.load_schema("event")) == ["#/$defs/depth_0"]
    assert nots(contract.load_schema("envelope")) == []


@pytest.mark.parametrize("kind", ["object", "array"])
def test_an_event_at_the_bound_is_valid_and_can_be_written_one_level_more_is_too_deep(kind):
    # event (1) → data (2) → props (3): props' value "v" takes the remaining levels
    at_bound = orjson.loads(with_deep(event(1, data={"name": "x", "props": {"v": "DEEP"}}), contract.MAX_DEPTH - 3, kind))
    assert contract.validate_event(at_bound, now=NOW) is None and fast.validate_event(at_bound, NOW) is None
    assert orjson.loads(orjson.dumps({**at_bound, "project_id": 1, "client": CLIENT})) == {
        **at_bound, "project_id": 1, "client": CLIENT}
    beyond = orjson.loads(with_deep(event(1, data={"name": "x", "props": {"v": "DEEP"}}), contract.MAX_DEPTH - 2, kind))
    rejection = contract.validate_event(beyond, now=NOW)
    assert rejection.reason == "too_deep" and rejection.path.startswith("data.props.v.")
    assert str(contract.MAX_DEPTH) in rejection.message
    assert fast.validate_event(beyond, NOW) == rejection


@pytest.mark.parametrize("field", ["props", "unknown_field", "tags", "page", "breadcrumb_data"])
def test_data_nested_300_deep_anywhere_is_refused_with_too_deep_or_wrong_type(field):
    document = {
        "props": event(1, data={"name": "x", "props": "DEEP"}),
        "unknown_field": event(1, extra="DEEP"),
        "tags": event(1, tags={"deep": "DEEP"}),
        "page": event(1, page={"url": "https://shop.example.com/", "title": "DEEP"}),
        "breadcrumb_data": event(1, type="error", data={"kind": "js", "message": "x", "breadcrumbs": [
            {"category": "ui", "timestamp": STAMP, "data": {"v": "DEEP"}}]}),
    }[field]
    rejection = contract.validate_event(orjson.loads(with_deep(document, 300)), now=NOW)
    assert rejection is not None and rejection.reason in ("too_deep", "wrong_type")
    assert fast.validate_event(orjson.loads(with_deep(document, 300)), NOW) == rejection


# ── per event in a batch: the collector's split ──────────────────────────────────────────


@pytest.mark.parametrize("levels, kind", [(253, "object"), (300, "array"), (1000, "object")])
def test_one_event_nested_deeper_than_orjson_writes_is_refused_alone(levels, kind):
    raw = with_deep(batch(event(1), event(2, data={"name": "x", "props": "DEEP"}), event(3)), levels, kind)
    result = split(raw)
    assert result.accepted == 2 and [orjson.loads(value)["event_id"][8:12] for _, value in result.messages] == ["0001", "0003"]
    [refused] = result.rejected
    assert (refused["index"], refused["reason"]) == (1, "too_deep")
    assert envelope.outcome(result)[0] == 202


@pytest.mark.parametrize("tags", [["ab", "c"], [["ab", "c"]], "ab=c", 7, True])
def test_tags_that_are_not_an_object_are_refused_not_merged_into_a_crash(tags):
    result = split(orjson.dumps(batch(event(1), event(2, tags=tags))))
    assert result.accepted == 1
    assert [(r["index"], r["reason"], r["path"]) for r in result.rejected] == [(1, "wrong_type", "tags")]


# ── numbers past what a warehouse column holds ───────────────────────────────────────────


def integer_nodes(node, where="#"):
    """(where, schema) of every node typed integer in a schema."""
    if isinstance(node, dict):
        found = [(where, node)] if node.get("type") == "integer" else []
        return found + [hit for key, value in node.items() for hit in integer_nodes(value, f"{where}/{key}")]
    if isinstance(node, list):
        return [hit for index, value in enumerate(node) for hit in integer_nodes(value, f"{where}/{index}")]
    return []


def test_every_integer_in_the_contract_has_a_maximum_a_uint32_column_holds():
    nodes = integer_nodes(contract.load_schema("event"))
    assert {where for where, _ in nodes} >= {"#/$defs/position", "#/$defs/resource/properties/transfer_size"}
    for where, node in nodes:
        assert node.get("minimum") == 0 and 0 < node.get("maximum", 2**64) <= 2**32 - 1, where


def test_transfer_size_bound_is_the_warehouse_columns_type():
    migration = (REPO_ROOT / "pipeline" / "warehouse" / "migrations" / "006_event_details.sql").read_text()
    assert "transfer_size UInt32" in migration
    resource = contract.load_schema("event")["$defs"]["resource"]["properties"]
    assert resource["transfer_size"]["maximum"] == 2**32 - 1


@pytest.mark.parametrize("data, path", [
    ({"name": "https://cdn.example.com/a.js", "duration": 5, "transfer_size": 10**30}, "data.transfer_size"),
    ({"name": "https://cdn.example.com/a.js", "duration": 5, "transfer_size": 2**32}, "data.transfer_size"),
])
def test_numbers_past_their_column_are_refused_never_stored_changed(data, path):
    result = split(json.dumps(batch(event(1), event(2, type="resource", data=data))).encode())  # 10^30 as digits
    assert result.accepted == 1
    assert [(r["index"], r["reason"], r["path"]) for r in result.rejected] == [(1, "out_of_range", path)]


@pytest.mark.parametrize("where", ["frame", "error"])
def test_line_and_column_numbers_past_32_bits_are_refused(where):
    data = {"kind": "js", "message": "boom", "lineno": 2**32 if where == "error" else 1,
            "frames": [{"filename": "https://shop.example.com/app.js", "colno": 2**40}] if where == "frame" else []}
    rejection = contract.validate_event(event(1, type="error", data=data), now=NOW)
    assert rejection.reason == "out_of_range"
    assert rejection.path == ("data.frames.0.colno" if where == "frame" else "data.lineno")


# ── gzip: every member, or a reason ──────────────────────────────────────────────────────


def test_every_gzip_member_is_decompressed():
    first, second = orjson.dumps(batch(event(1)))[:-5], orjson.dumps(batch(event(1)))[-5:]
    assert encodings.gunzip(gzip.compress(first) + gzip.compress(second), 1 << 20) == first + second


def test_a_second_members_events_are_not_lost():
    whole = orjson.dumps(batch(event(1), event(2), event(3)))
    cut = whole.index(b',{"event_id":"01J0ZK4T0002')
    body = encodings.gunzip(gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]), 1 << 20)
    assert split(body).accepted == 3


def test_the_size_limit_counts_every_member_together():
    member = gzip.compress(b" " * 600_000)
    assert len(encodings.gunzip(member, 1 << 20)) == 600_000
    with pytest.raises(Problem) as refused:
        encodings.gunzip(member + member, 1 << 20)
    assert (refused.value.status, refused.value.reason) == (413, "body_too_large")


@pytest.mark.parametrize("tail, words", [
    (b"garbage after the member", "what follows gzip member 1"),
    (b"\x00" * 8, "what follows gzip member 1"),
    (gzip.compress(b"{}")[:-4], "truncated"),
])
def test_bytes_after_a_member_that_are_not_a_whole_member_are_refused(tail, words):
    with pytest.raises(Problem) as refused:
        encodings.gunzip(gzip.compress(b"{}") + tail, 1 << 20)
    assert (refused.value.status, refused.value.reason) == (400, "bad_gzip") and words in refused.value.message


def test_more_members_than_a_client_ever_sends_are_refused_before_they_cost_cpu():
    assert encodings.gunzip(gzip.compress(b"") * encodings.MAX_MEMBERS, 1 << 20) == b""
    with pytest.raises(Problem) as refused:
        encodings.gunzip(gzip.compress(b"") * 50_000, 1 << 20)
    assert (refused.value.reason, str(encodings.MAX_MEMBERS) in refused.value.message) == ("bad_gzip", True)


def test_a_two_member_gzip_body_through_the_endpoint_is_not_half_accepted():
    # nothing reaches Kafka here (all events refused for their clock): the answer counts both members' events
    old = (NOW - timedelta(days=400)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    whole = orjson.dumps(batch(event(1, timestamp=old), event(2, timestamp=old)))
    cut = whole.index(b',{"event_id":"01J0ZK4T0002')
    status, _, body = request(build(GOOD), "POST", "/api/1/events", gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]),
                              {"content-type": "application/json", "x-vigil-key": GOOD.key, "content-encoding": "gzip"})
    answer = orjson.loads(body)
    assert status == 422 and [r["index"] for r in answer["rejected"]] == [0, 1]


# ── the unified (Sentry-like) document ───────────────────────────────────────────────────


@pytest.mark.parametrize("field", ["event_id", "user_id", "platform", "tracking_name", "session_id"])
def test_a_unified_document_with_an_id_nested_990_deep_is_a_400_with_a_reason(field):
    document = {"event_id": "a" * 32, "platform": "javascript", "timestamp": STAMP,
                "contexts": {"performance": {"lcp": 1200}}, "user": {"id": "u1"}}
    if field == "event_id":
        document["event_id"] = "DEEP"
    elif field == "user_id":
        document["user"] = {"id": "DEEP"}
    elif field == "platform":
        document["platform"] = "DEEP"
    elif field == "session_id":
        document["contexts"]["session"] = {"id": "DEEP"}
    else:
        document["tracking"] = {"events": [{"event": "DEEP", "timestamp": STAMP}]}
    with pytest.raises(Problem) as refused:
        envelope.parse_envelope(with_deep(document, 990, "array"), 1000)
    assert (refused.value.status, refused.value.reason) == (400, "wrong_type")


def test_a_unified_documents_deep_tracking_props_refuse_that_event_alone():
    document = {"event_id": "a" * 32, "platform": "javascript", "timestamp": STAMP,
                "contexts": {"performance": {"lcp": 1200}}, "request": {"url": "https://shop.example.com/"},
                "tracking": {"events": [{"event": "coupon", "timestamp": STAMP, "deep": "DEEP"}]}}
    result = split(with_deep(document, 300))
    assert result.accepted == 1 and [(r["index"], r["reason"]) for r in result.rejected] == [(1, "too_deep")]


# ── Sentry: the item (or span) is refused, its envelope's other items go on ──────────────

SENTRY_NOW = datetime(2026, 11, 26, 22, 53, tzinfo=timezone.utc)  # when the fixtures were captured


def sentry_envelope(*items: tuple[dict, bytes]) -> bytes:
    lines = [b'{"event_id":"' + b"a" * 32 + b'"}']
    for headers, payload in items:
        lines += [orjson.dumps(headers), payload]
    return b"\n".join(lines)


def error_item(event_id: str = "b" * 32, fields: dict | None = None) -> tuple[dict, bytes]:
    payload = {"event_id": event_id, "timestamp": SENTRY_NOW.timestamp() - 5,
               "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]}, **(fields or {})}
    return {"type": "event"}, with_deep(payload, 300, "array")


def span_item(*spans: dict) -> tuple[dict, bytes]:
    return ({"type": "span", "content_type": "application/vnd.sentry.items.span.v2+json"},
            with_deep({"version": 2, "items": list(spans)}, 300, "array"))


def vital_span(span_id: str = "934be04f96f93534", fields: dict | None = None) -> dict:
    return {"span_id": span_id, "trace_id": "ba41a1ab7fd74bc2ae14d4c2c99ea409", "name": "LCP",
            "start_timestamp": SENTRY_NOW.timestamp() - 5, "end_timestamp": SENTRY_NOW.timestamp() - 5,
            "attributes": {"browser.web_vital.lcp.value": {"value": 1234.5, "type": "double"},
                           "url.full": {"value": "https://shop.example.com/", "type": "string"}}, **(fields or {})}


def mapped(body: bytes) -> sentry.Mapped:
    return sentry.to_events(sentry.parse_envelope(body), SENTRY_NOW)


@pytest.mark.parametrize("field, value", [("op", ["pageload"]), ("op", {"x": 1}), ("span_id", ["x"]),
                                          ("span_id", {"id": 1}), ("segment_id", "DEEP"), ("trace_id", "DEEP")])
def test_a_span_whose_op_or_ids_are_not_text_is_refused_and_its_neighbours_are_mapped(field, value):
    bad = vital_span("aaaaaaaaaaaaaaaa", {field: value})
    result = mapped(sentry_envelope(span_item(vital_span(), bad, vital_span("cccccccccccccccc"))))
    assert [e["type"] for e in result.events] == ["web_vital", "web_vital"]
    assert result.rejected == [{"item": 0, "reason": "wrong_type", "path": f"items[0].items[1].{field}",
                                "message": result.rejected[0]["message"]}]


def test_a_span_whose_sentry_op_attribute_is_an_object_is_refused():
    bad = vital_span("aaaaaaaaaaaaaaaa")
    bad["attributes"]["sentry.op"] = {"value": {"op": "pageload"}, "type": "string"}
    result = mapped(sentry_envelope(span_item(vital_span(), bad)))
    assert len(result.events) == 1
    assert [(r["reason"], r["path"]) for r in result.rejected] == [("wrong_type", "items[0].items[1].attributes.sentry.op")]


def test_a_span_that_is_not_an_object_is_refused_not_dropped_silently():
    result = mapped(sentry_envelope(span_item(vital_span(), "not a span")))  # type: ignore[arg-type]
    assert len(result.events) == 1
    assert [(r["reason"], r["path"]) for r in result.rejected] == [("not_an_object", "items[0].items[1]")]


@pytest.mark.parametrize("fields, path", [
    ({"event_id": "DEEP"}, "items[1].event_id"),
    ({"contexts": {"trace": {"trace_id": "DEEP"}}}, "items[1].contexts.trace.trace_id"),
    ({"contexts": {"trace": {"span_id": {"a": 1}}}}, "items[1].contexts.trace.span_id"),
    ({"tags": [["DEEP", "v"]]}, "items[1].tags[0]"),
])
def test_an_event_whose_ids_are_not_text_is_refused_and_the_other_items_are_mapped(fields, path):
    good = error_item()
    bad = error_item("c" * 32, fields)
    result = mapped(sentry_envelope(good, bad, error_item("d" * 32)))
    assert [e["event_id"] for e in result.events] == ["b" * 32, "d" * 32]
    assert [(r["item"], r["reason"], r["path"]) for r in result.rejected] == [(1, "wrong_type", path)]


@pytest.mark.parametrize("where", ["event", "span"])
def test_a_tag_nested_300_deep_refuses_its_event_with_a_reason(where):
    if where == "event":
        body = sentry_envelope(error_item(), error_item("c" * 32, {"tags": {"deep": "DEEP"}}))
    else:
        body = sentry_envelope(span_item(vital_span(), vital_span("aaaaaaaaaaaaaaaa", {"tags": {"deep": "DEEP"}})))
    result = mapped(body)
    document = result.envelope()
    batch_ = envelope.split(envelope.check_envelope(document, 1000), 1, CLIENT, SENTRY_NOW + timedelta(seconds=1))
    assert batch_.accepted == 1
    [refused] = batch_.rejected
    assert refused["index"] == 1 and refused["path"].startswith("tags.deep")
    assert refused["reason"] in ("wrong_type", "too_deep")


@pytest.mark.parametrize("item", ["extra", "contexts", "breadcrumb"])
def test_free_form_sentry_data_nested_300_deep_refuses_its_event_alone(item):
    fields = {"extra": {"extra": {"deep": "DEEP"}},
              "contexts": {"contexts": {"app": {"deep": "DEEP"}}},
              "breadcrumb": {"breadcrumbs": {"values": [{"category": "ui", "timestamp": 1, "data": {"deep": "DEEP"}}]}}}[item]
    result = mapped(sentry_envelope(error_item(), error_item("c" * 32, fields)))
    batch_ = envelope.split(envelope.check_envelope(result.envelope(), 1000), 1, CLIENT, SENTRY_NOW + timedelta(seconds=1))
    if item == "breadcrumb":  # mapped into the v1 error: the contract refuses that event
        assert batch_.accepted == 1 and [(r["index"], r["reason"]) for r in batch_.rejected] == [(1, "too_deep")]
    else:  # not mapped at all: both events go on
        assert batch_.accepted == 2 and batch_.rejected == []


def test_a_store_event_refused_before_mapping_is_422_with_its_reason():
    payload = with_deep({"event_id": "DEEP", "message": "hello"}, 990, "array")
    status, _, body = request(build(GOOD), "POST", "/api/1/store/", payload, {"content-type": "application/json"},
                              b"sentry_key=" + GOOD.key.encode())
    answer = orjson.loads(body)
    assert (status, answer["error"], answer["accepted"]) == (422, "no_valid_events", 0)
    assert [(r["item"], r["reason"], r["path"]) for r in answer["rejected"]] == [(0, "wrong_type", "items[0].event_id")]


def test_the_shared_vectors_for_these_bounds_exist_for_python_and_typescript():
    invalid = {v.name: v.doc for v in vectors.load("invalid")}
    assert (invalid["custom_props_too_deep"]["reason"], invalid["resource_transfer_size_too_large"]["reason"]) == (
        "too_deep", "out_of_range")
    assert "at_the_limits" in {v.name for v in vectors.load("valid")}
