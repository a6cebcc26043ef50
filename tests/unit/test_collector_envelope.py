"""From request bytes to Kafka messages: content checks, gzip limits, envelope parsing,
per-event validation and the collector's stamps — against the shared contract vectors."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import orjson
import pytest

from pipeline.ingest import encodings, envelope
from pipeline.ingest.problems import Problem
from tests.support import vectors

VALID = vectors.load("valid")
INVALID = vectors.load("invalid")
CLIENT = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


def body_of(name: str, kind: str = "valid") -> bytes:
    vector = next(v for v in vectors.load(kind) if v.name == name)
    return vector.body(shift_to=datetime.now(timezone.utc))


def refusal(call, *args) -> Problem:
    with pytest.raises(Problem) as caught:
        call(*args)
    return caught.value


# ── content type and encoding ──────────────────────────────────────────────────────────


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "text/plain;charset=UTF-8", "Application/JSON"])
def test_json_and_beacon_text_are_accepted(content_type):
    envelope.check_media_type(content_type)


@pytest.mark.parametrize("content_type", [None, "", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml"])
def test_other_media_types_are_refused_with_415(content_type):
    issue = refusal(envelope.check_media_type, content_type)
    assert (issue.status, issue.reason) == (415, "unsupported_media_type")
    assert "application/json" in issue.message


def test_the_four_codings_and_identity_are_known_and_others_refused():
    assert [encodings.coding_of(c) for c in ("gzip", "GZIP", "x-gzip", "deflate", "br", " zstd ")] == [
        "gzip", "gzip", "gzip", "deflate", "br", "zstd"]
    assert {encodings.coding_of(c) for c in (None, "", "identity", "UTF-8")} == {None}  # as Relay reads them
    for other in ("compress", "lz4", "gzip, br"):
        issue = refusal(encodings.coding_of, other)
        assert (issue.status, issue.reason) == (415, "unsupported_encoding")
        assert "gzip, deflate, br, zstd" in issue.message


def test_gzip_body_is_decompressed():
    plain = body_of("mixed_batch")
    assert encodings.gunzip(gzip.compress(plain), limit=len(plain)) == plain


def test_gzip_bomb_is_refused_by_its_decompressed_size():
    bomb = gzip.compress(b" " * 50_000_000)  # ~50 KB on the wire, 50 MB inflated
    assert len(bomb) < 100_000
    issue = refusal(encodings.gunzip, bomb, 1024 * 1024)
    assert (issue.status, issue.reason) == (413, "body_too_large")


@pytest.mark.parametrize("broken", [b"not gzip at all", gzip.compress(b'{"version": 1}')[:-6]])
def test_broken_gzip_is_a_bad_request(broken):
    issue = refusal(encodings.gunzip, broken, 1024)
    assert (issue.status, issue.reason) == (400, "bad_gzip")


# ── envelopes ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("vector", [v for v in INVALID if v.doc["level"] == "envelope"], ids=lambda v: v.name)
def test_envelope_level_vectors_are_refused_with_400_and_their_reason(vector):
    issue = refusal(envelope.parse_envelope, vector.body(shift_to=datetime.now(timezone.utc)), 1000)
    assert (issue.status, issue.reason, issue.path) == (400, vector.doc["reason"], vector.doc["path"])
    assert issue.message


def test_a_batch_over_the_configured_maximum_is_refused_even_within_the_schema():
    issue = refusal(envelope.parse_envelope, body_of("mixed_batch"), 5)
    assert (issue.status, issue.reason, issue.path) == (400, "too_many", "events")
    assert "at most 5" in issue.message


def test_unified_document_is_mapped_to_a_v1_envelope():
    vector = vectors.load("unified")[0]
    raw = json.dumps(vectors.shift_timestamps(vector.doc["document"], datetime.now(timezone.utc) - vector.now))
    parsed = envelope.parse_envelope(raw.encode(), 1000)
    assert parsed["version"] == 1
    assert len(parsed["events"]) == sum(vector.doc["expected_types"].values())


def test_malformed_unified_document_is_a_bad_request_not_a_crash():
    raw = orjson.dumps({"event_id": "abc", "platform": "javascript", "exception": "boom"})
    issue = refusal(envelope.parse_envelope, raw, 1000)
    assert (issue.status, issue.reason) == (400, "wrong_type")


def test_body_that_is_not_utf8_is_invalid_json():
    issue = refusal(envelope.parse_envelope, b'{"version": 1, "sdk": "\xff"}', 1000)
    assert (issue.status, issue.reason) == (400, "invalid_json")


# ── events ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("vector", [v for v in INVALID if v.doc["level"] == "event"], ids=lambda v: v.name)
def test_event_level_vectors_are_rejected_by_index_and_reason(vector):
    parsed = envelope.parse_envelope(vector.body(), 1000)
    batch = envelope.split(parsed, 7, CLIENT, now=vector.now)
    assert batch.messages == []
    [rejected] = batch.rejected
    assert (rejected["index"], rejected["reason"], rejected["path"]) == (
        vector.doc["index"], vector.doc["reason"], vector.doc["path"])
    status, answer = envelope.outcome(batch)
    assert status == 422
    assert answer["error"] == "no_valid_events" and answer["accepted"] == 0
    assert answer["rejected"] == [rejected]


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vectors_become_one_stamped_message_per_event(vector):
    now = datetime(2026, 6, 15, 12, 0, 0, 123456, tzinfo=timezone.utc)
    parsed = envelope.parse_envelope(vector.body(shift_to=now), 1000)
    batch = envelope.split(parsed, 7, CLIENT, now=now)
    assert batch.rejected == []
    assert batch.accepted == len(vector.doc["envelope"]["events"])
    for key, value in batch.messages:
        event = orjson.loads(value)
        assert key == event["session_id"].encode()
        assert event["project_id"] == 7
        assert event["received_at"] == "2026-06-15T12:00:00.123Z"
        assert event["client"] == CLIENT
        assert event["sdk"] == vector.doc["envelope"]["sdk"]
    assert envelope.outcome(batch) == (202, {"accepted": batch.accepted, "rejected": []})


def test_a_bad_event_does_not_sink_its_batch():
    now = datetime.now(timezone.utc)
    parsed = orjson.loads(body_of("mixed_batch"))
    parsed["events"][2] = {**parsed["events"][2], "event_id": "x"}
    parsed["events"].append("not an event")
    batch = envelope.split(parsed, 1, CLIENT, now=now)
    assert [(r["index"], r["reason"]) for r in batch.rejected] == [(2, "too_short"), (len(parsed["events"]) - 1, "not_an_object")]
    assert batch.accepted == len(parsed["events"]) - 2
    assert envelope.outcome(batch)[0] == 202


def test_the_collectors_stamps_override_what_a_client_claims():
    now = datetime.now(timezone.utc)
    parsed = orjson.loads(body_of("page_view"))
    parsed["events"][0].update(project_id=999, received_at="1999-01-01T00:00:00Z", client={"ip": "6.6.6.6"})
    [(_, value)] = envelope.split(parsed, 3, CLIENT, now=now).messages
    event = orjson.loads(value)
    assert (event["project_id"], event["client"]) == (3, CLIENT)
    assert event["received_at"] == envelope.received_at(now)


def test_received_at_is_rfc3339_milliseconds_utc():
    assert envelope.received_at(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.678Z"


# ── the envelope fast path gives the contract's verdicts ───────────────────────────────


def _mutations(document, rng):
    """Random small breakages of a valid envelope: a key dropped, a value of another type."""
    import copy

    odd_values = [None, True, False, 0, 1, -1, 1.0, 2, 1.5, "", "x", "x" * 300, [], {}, ["a"], {"a": 1}]
    for _ in range(40):
        mutated = copy.deepcopy(document)
        node, parents = mutated, []
        while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            parents.append((node, key))
            node = node[key]
        if not parents:
            continue
        parent, key = parents[-1]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[key]
        else:
            parent[key] = rng.choice(odd_values)
        yield mutated


def test_the_envelope_fast_path_agrees_with_the_contract():
    import random

    from pipeline import contract

    rng = random.Random(5)
    documents = []
    for vector in VALID + INVALID + vectors.load("unified"):
        try:
            documents.append(json.loads(vector.body()) if "document" not in vector.doc else vector.doc["document"])
        except ValueError:
            continue
    for document in list(documents):
        if isinstance(document, dict):
            documents.extend(_mutations(document, rng))
    assert len(documents) > 1000
    for document in documents:
        assert envelope.validate_envelope(document) == contract.validate_envelope(document), document
