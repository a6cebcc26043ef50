"""Data quality end to end: the GX suites, the processor's quality worker, Data Docs and the DLQ table.

Great Expectations takes seconds to import and set up, so one :class:`Checker` serves the
module. ClickHouse is the session's real chDB server, Kafka the session's real broker.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pandas as pd
import pytest

from pipeline import contract  # noqa: F401  (the contract's schema is the reference for the type set)
from pipeline import queries
from pipeline.broker.topics import ensure_topics
from pipeline.stream import rows as processor_rows
from pipeline.stream.processor import build_app
from pipeline.quality.check import EXPECTATIONS_DIR, Checker, read_suite, rows_frame
from pipeline.stream.quality_monitor import QualityMonitor
from pipeline.quality.result_store import write_results
from pipeline.settings import REPO_ROOT, Settings
from tests.integration.test_processor import invalid_messages, produce, valid_messages

pytestmark = pytest.mark.integration

NOW_MS = int(time.time() * 1000)


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()


def event(**overrides) -> dict:
    """A plausible events-table row (the columns the suites read), epoch-ms timestamps."""
    base = {
        "project_id": 7, "type": "page_view", "timestamp": NOW_MS - 2000, "received_at": NOW_MS,
        "event_id": uuid.uuid4().hex, "session_id": "s1", "url": "https://shop.example.com/p/1?x=1", "path": "/p/1",
        "browser": "Chrome", "os": "Android", "device": "mobile", "vital_name": "", "vital_value": 0.0,
        "error_kind": "", "error_message": "", "duration_ms": 0.0, "http_status": 0,
    }
    base.update(overrides)
    return base


def bad_batch() -> pd.DataFrame:
    """100 good events plus known violations (counts in :data:`EXPECTED_FAILURES`)."""
    good = [event() for _ in range(100)]
    good += [event(type="web_vital", vital_name="LCP", vital_value=2400.0) for _ in range(10)]
    good += [event(type="web_vital", vital_name="CLS", vital_value=0.05) for _ in range(10)]
    good += [event(type="error", error_kind="js", error_message="x is undefined") for _ in range(5)]
    bad = [
        event(event_id="dup-1"), event(event_id="dup-1"),                       # not unique: 2 values
        event(type="teleport"),                                                  # not in the contract
        event(project_id=0),                                                     # not a project
        event(type="web_vital", vital_name="LCP", vital_value=75_000.0),         # 75 s LCP
        event(type="web_vital", vital_name="CLS", vital_value=42.5),             # CLS 42.5
        event(type="web_vital", vital_name="CLS", vital_value=-1.0),             # negative
        event(type="error", error_kind="js", error_message=""),                  # error without message
        event(url="not a url at all"), event(url="https://"),                    # unparsable URLs
    ]
    return pd.DataFrame(good + bad)


EXPECTED_FAILURES = {  # expectation → unexpected count
    "event_id_unique_in_batch": 2,
    "type_in_contract": 1,
    "project_id_positive": 1,
    "lcp_plausible": 1,
    "cls_plausible": 2,
    "error_has_message": 1,
    "page_url_parses": 2,
}


def test_suites_load_with_a_version_and_follow_the_contract(checker):
    assert set(checker.suites) == {"events"}
    assert checker.versions["events"] >= 1
    document = read_suite(EXPECTATIONS_DIR / "events.json")
    names = [item["meta"]["name"] for item in document["expectations"]]
    assert len(checker.suites["events"].expectations) == len(names)
    schema = json.loads((REPO_ROOT / "contract/schema/v1/event.schema.json").read_text())
    types = next(item for item in document["expectations"] if item["meta"]["name"] == "type_in_contract")
    assert types["kwargs"]["value_set"] == schema["properties"]["type"]["enum"]


def test_a_batch_with_known_violations_fails_exactly_those_expectations(checker):
    results = {r.expectation: r for r in checker.check_batch(bad_batch())}
    failing = {name: r.unexpected_count for name, r in results.items() if not r.success}
    assert failing == EXPECTED_FAILURES
    assert sorted(results["cls_plausible"].unexpected_sample) == [-1.0, 42.5]
    assert results["cls_plausible"].element_count == 12  # only the CLS rows (row_condition)
    assert results["type_in_contract"].unexpected_sample == ["teleport"]
    # mostly-style: 2 unparsed browsers in 50 events is within the 90 % the suite asks
    mostly = pd.DataFrame([event() for _ in range(48)] + [event(browser="Other"), event(browser="")])
    assert {r.expectation: r.success for r in checker.check_batch(mostly)}["browser_parsed_mostly"]
    few = pd.DataFrame([event() for _ in range(8)] + [event(browser="Other") for _ in range(2)])
    result = {r.expectation: r for r in checker.check_batch(few)}["browser_parsed_mostly"]
    assert (result.success, result.unexpected_count, result.element_count) == (False, 2, 10)


def test_results_land_in_clickhouse_and_the_queries_chart_them(checker, clickhouse):
    client = clickhouse.client()
    results = checker.check_batch(bad_batch())
    run_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)  # a time no other test writes at
    assert write_results(client, results, source="processor", batch_rows=139, run_at=run_at) == len(results)
    clean = checker.check_batch(pd.DataFrame([event() for _ in range(20)]))
    write_results(client, clean, source="processor", batch_rows=20, run_at=run_at + timedelta(minutes=10))

    window = (run_at - timedelta(hours=1), run_at + timedelta(hours=1))
    rates = queries.quality_pass_rates(client, *window, bucket_minutes=60)
    by_name = {row["expectation"]: row for row in rates.iter_rows(named=True)}
    assert set(by_name) == {r.expectation for r in results}
    assert by_name["cls_plausible"]["checks"] == 2 and by_name["cls_plausible"]["pass_rate"] == 0.5
    assert by_name["event_id_present"]["pass_rate"] == 1.0

    failures = queries.quality_failures(client, *window)
    assert dict(zip(failures["expectation"], failures["unexpected_count"])) == EXPECTED_FAILURES
    cls = failures.filter(failures["expectation"] == "cls_plausible").row(0, named=True)
    assert sorted(json.loads(cls["unexpected_sample"])) == [-1.0, 42.5]
    assert cls["row_condition"] == 'type == "web_vital" AND vital_name == "CLS"' and cls["source"] == "processor"


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def expectation_sections(page: str, checker: Checker) -> dict[str, tuple[str, str]]:
    """Expectation name → (its status icon class, its row's visible text) in a validation page."""
    names = [e.meta["name"] for e in checker.suites["events"].expectations]
    found = sorted((page.index(f"{name}:"), name) for name in names if f"{name}:" in page)
    sections = {}
    for number, (start, name) in enumerate(found):
        end = found[number + 1][0] if number + 1 < len(found) else len(page)
        before = page[found[number - 1][0] if number else 0:start]
        icons = re.findall(r"fa-(?:times|check)", before)
        sections[name] = (icons[-1] if icons else "", _visible_text(page[start:end]))
    return sections


def test_vigil_quality_report_builds_data_docs_that_show_the_failures(checker, clickhouse, tmp_path, monkeypatch, capsys):
    client = clickhouse.client()
    frame = bad_batch()
    frame["received_at"] = int(time.time() * 1000)
    frame["timestamp"] = frame["received_at"] - 2000
    columns = list(frame.columns)
    client.insert("events", [tuple(row) for row in frame.itertuples(index=False)], column_names=columns)

    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", clickhouse.url)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "vigil"))
    from pipeline.commands import cli
    status = cli.main(["quality", "report", "--hours", "0.25"])
    captured = capsys.readouterr()
    out = captured.out
    assert status == 2, captured  # some expectations failed
    index = Path(out.strip().splitlines()[-1].removeprefix("Data Docs: "))
    assert index == tmp_path / "vigil" / "data_docs" / "index.html" and index.exists()
    for name in ("cls_plausible", "lcp_plausible", "error_has_message", "type_in_contract"):
        assert f"FAILED events.{name}" in out

    pages = list((index.parent / "validations").rglob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text()
    text = _visible_text(page)
    assert "Failed" in text
    # each expectation's row: status icon (fa-check / fa-times), then its description (which
    # starts with its name), then the unexpected values GX found
    sections = expectation_sections(page, checker)
    failed = {name for name, (icon, _) in sections.items() if icon == "fa-times"}
    assert set(sections) == {r.expectation for r in checker.check_batch(bad_batch())}
    # ClickHouse keeps one row per event_id (FINAL), so the duplicate is no failure here
    assert set(EXPECTED_FAILURES) - {"event_id_unique_in_batch"} <= failed
    assert sections["event_id_present"][0] == "fa-check"
    for name, value in (("type_in_contract", "teleport"), ("cls_plausible", "42.5"), ("lcp_plausible", "75000"),
                        ("page_url_parses", "not a url at all")):
        assert value in sections[name][1], (name, value)
    # the stored report run
    stored = client.query("SELECT expectation FROM quality_results WHERE source = 'report' AND NOT success").result_rows
    assert {"cls_plausible", "type_in_contract"} <= {row[0] for row in stored}


def test_a_stuck_quality_worker_never_slows_the_sink():
    release = threading.Event()
    checked: list[int] = []

    def stuck(sample):
        release.wait(30)
        checked.append(len(sample))
        return []

    monitor = QualityMonitor(Settings(), interval=0, sample_rows=100, check=stuck, store=lambda results, n: None)
    chunk = [(i,) for i in range(10_000)]
    started = time.perf_counter()
    for _ in range(10_000):
        monitor.offer(chunk)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"offer took {elapsed / 10_000 * 1e6:.0f} µs"
    # one sample in the worker, one in the queue, the rest skipped and counted
    assert monitor.counters.offered == 10_000
    assert monitor.counters.skipped == 10_000 - 2
    release.set()
    assert monitor.wait_idle(10)
    assert checked == [100, 100]
    monitor.close()


def test_processor_with_a_stuck_quality_worker_and_the_dlq_by_reason(kafka, clickhouse, tmp_path):
    """The real stream keeps its pace while the worker is stuck; the DLQ becomes queryable rows."""
    run = uuid.uuid4().hex[:8]
    project = 200_000 + uuid.uuid4().int % 1_000_000
    settings = Settings(kafka_brokers=kafka.bootstrap, clickhouse_url=clickhouse.url,
                        events_topic=f"test.q.events.{run}", dlq_topic=f"test.q.dlq.{run}",
                        data_dir=tmp_path / "vigil", sink_batch_size=2000, processor_commit_interval_s=0.5)
    ensure_topics(kafka.bootstrap, {settings.events_topic: 2, settings.dlq_topic: 2})
    valid = valid_messages(project, run, 0, 6000)
    invalid = invalid_messages(project, run)
    produce(kafka.bootstrap, settings.events_topic, valid[:3000] + [(k, v) for k, v, _ in invalid] + valid[3000:])

    release = threading.Event()
    monitor = QualityMonitor(settings, interval=0, sample_rows=500,
                             check=lambda sample: release.wait(60) and [], store=lambda results, n: None)
    stream = build_app(settings, consumer_group=f"test-q-{run}", quality=monitor)
    try:
        stream.app.run(timeout=8, collect=False)
    finally:
        stream.close()
        release.set()
        monitor.close()
    client = clickhouse.client()
    stored = client.query("SELECT count() FROM events FINAL WHERE project_id = {p:UInt32}",
                          parameters={"p": project}).result_rows[0][0]
    assert stored == len(valid)
    assert monitor.counters.skipped >= 1 and monitor.counters.offered >= 3  # 2000-row chunks, worker stuck

    # DLQ by reason: the drops that know their project (the others count under project 0)
    now = datetime.now(timezone.utc)
    drops = queries.dead_letters_by_reason(client, now - timedelta(hours=1), now + timedelta(minutes=1),
                                           bucket_minutes=60, project_id=project)
    expected = {}
    for _, value, reason in invalid:
        try:
            has_project = type(orjson.loads(value).get("project_id")) is int
        except Exception:
            has_project = False
        if has_project:
            expected[reason] = expected.get(reason, 0) + 1
    assert dict(zip(drops["reason"], drops["drops"])) == expected
    # a repeated dead letter (at-least-once) counts once
    by_source = client.query("SELECT count(), uniqExact(source_partition, source_offset) FROM dead_letters FINAL "
                             "WHERE source_topic = {t:String}", parameters={"t": settings.events_topic}).result_rows[0]
    assert by_source[0] == by_source[1] == len(invalid)


def test_the_worker_checks_processor_rows_with_the_suites_and_stores_the_results(checker, clickhouse):
    """The default worker: GX on its own thread, results in quality_results (source processor)."""
    settings = Settings(clickhouse_url=clickhouse.url)
    frame = bad_batch()
    defaults = {"data": b"{}", "tags": {}, "user_agent": ""}
    rows = [tuple(record.get(column, defaults.get(column, "")) for column in processor_rows.COLUMNS)
            for record in frame.to_dict("records")]
    batch_rows = len(rows) + 1000 + uuid.uuid4().int % 1000  # a batch size no other check has
    padding = [tuple(event().get(column, defaults.get(column, "")) for column in processor_rows.COLUMNS)
               for _ in range(batch_rows - len(rows))]
    monitor = QualityMonitor(settings, interval=0, sample_rows=10_000)
    monitor.offer(rows + padding)
    assert monitor.wait_idle(120), "the quality worker did not finish"
    monitor.close()
    assert (monitor.counters.checked, monitor.counters.failed) == (1, 0)
    stored = clickhouse.client().query(
        "SELECT expectation, unexpected_count FROM quality_results "
        "WHERE source = 'processor' AND batch_rows = {n:UInt64} AND NOT success", parameters={"n": batch_rows})
    assert dict(stored.result_rows) == EXPECTED_FAILURES
