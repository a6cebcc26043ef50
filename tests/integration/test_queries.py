"""The query layer against the real engine: every answer equals ground truth computed
independently in polars on the same generated events — including duplicates the pipeline
may deliver twice, other projects, and events just outside the time range."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from pipeline import queries
from pipeline.contract import merge_context
from pipeline.queries import Filters
from pipeline.simulation import shop_catalog, shop_sessions

pytestmark = pytest.mark.integration

PROJECT = 9101
OTHER_PROJECT = 9102
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# deliberately not on whole seconds: the bounds must be exact to the millisecond
WINDOW = Filters(PROJECT, NOW - timedelta(minutes=40, milliseconds=250), NOW - timedelta(minutes=5, milliseconds=750))
COLUMNS = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "vital_name", "vital_value"]


def warehouse_row(project_id: int, event: dict) -> dict:
    data = event["data"]
    is_vital = event["type"] == "web_vital"
    return {
        "project_id": project_id,
        "type": event["type"],
        "timestamp": datetime.fromisoformat(event["timestamp"]),
        "event_id": event["event_id"],
        "session_id": event["session_id"],
        "visitor_id": event["visitor_id"],
        "vital_name": data["name"] if is_vital else "",
        "vital_value": float(data["value"]) if is_vital else 0.0,
    }


def generated_rows(project_id: int, sessions: int, seed: int) -> list[dict]:
    """Events of ``sessions`` simulated visits starting over the last 50 minutes."""
    rng = random.Random(seed)
    pool = shop_catalog.VisitorPool(rng)
    rows = []
    for _ in range(sessions):
        start = NOW - timedelta(seconds=rng.uniform(0, 50 * 60))
        session = shop_sessions.generate_session(rng, start, visitor=pool.next_visitor(), incident=rng.random() < 0.3)
        pool.remember(session.visitor)
        for batch in session.batches:
            for event in merge_context(batch.envelope):
                rows.append(warehouse_row(project_id, event))
    return rows


def boundary_rows() -> list[dict]:
    """One page view exactly at the window's start (in) and one exactly at its end (out)."""
    def page_view(at: datetime, event_id: str) -> dict:
        return {"project_id": PROJECT, "type": "page_view", "timestamp": at, "event_id": event_id,
                "session_id": "boundary-session", "visitor_id": "boundary-visitor", "vital_name": "", "vital_value": 0.0}

    return [page_view(WINDOW.start, "boundary-at-start"), page_view(WINDOW.end, "boundary-at-end")]


@pytest.fixture(scope="module")
def dataset(clickhouse):
    """Insert the events (a tenth of them twice, in a separate insert) and return the unique set."""
    client = clickhouse.client()
    rows = generated_rows(PROJECT, 400, seed=7) + generated_rows(OTHER_PROJECT, 60, seed=8) + boundary_rows()
    # no background merge while these tests run: the duplicates stay on disk and only FINAL hides them
    client.command("SYSTEM STOP MERGES events")
    client.insert("events", [[row[c] for c in COLUMNS] for row in rows], column_names=COLUMNS)
    again = random.Random(9).sample(rows, len(rows) // 10)
    client.insert("events", [[row[c] for c in COLUMNS] for row in again], column_names=COLUMNS)
    yield pl.DataFrame(rows).with_columns(pl.col("timestamp").dt.cast_time_unit("ms"))
    client.command("SYSTEM START MERGES events")


def in_window(dataset: pl.DataFrame, filters: Filters = WINDOW) -> pl.DataFrame:
    return dataset.filter(
        (pl.col("project_id") == filters.project_id)
        & (pl.col("timestamp") >= filters.start)
        & (pl.col("timestamp") < filters.end)
    )


def test_the_dataset_has_duplicates_in_storage(clickhouse, dataset):
    client = clickhouse.client()
    stored = client.query("SELECT count() FROM events WHERE project_id IN (9101, 9102)").result_rows[0][0]
    assert stored > dataset.height, "the duplicates must really be in the table for the FINAL checks to mean something"


def test_traffic_summary_equals_ground_truth(clickhouse, dataset):
    truth = in_window(dataset)
    summary = queries.traffic_summary(clickhouse.client(), WINDOW)
    assert summary.to_dicts() == [{
        "page_views": truth.filter(pl.col("type") == "page_view").height,
        "unique_visitors": truth["visitor_id"].n_unique(),
        "sessions": truth["session_id"].n_unique(),
        "errors": truth.filter(pl.col("type") == "error").height,
        "events": truth.height,
    }]
    assert summary["errors"][0] > 0 and summary["page_views"][0] > 100


@pytest.mark.parametrize("bucket_minutes", [1, 5, 60])
def test_events_per_minute_equals_ground_truth(clickhouse, dataset, bucket_minutes):
    truth = (
        in_window(dataset)
        .group_by(pl.col("timestamp").dt.truncate(f"{bucket_minutes}m").alias("minute"), "type")
        .agg(pl.len().cast(pl.UInt64).alias("events"))
        .sort("minute", "type")
    )
    answer = queries.events_per_minute(clickhouse.client(), WINDOW, bucket_minutes=bucket_minutes)
    assert answer.schema == {"minute": queries.UTC_MS, "type": pl.String, "events": pl.UInt64}
    assert answer.equals(truth.select("minute", "type", "events"))


def test_a_bucket_must_be_at_least_a_minute(clickhouse):
    with pytest.raises(ValueError, match="at least 1"):
        queries.events_per_minute(clickhouse.client(), WINDOW, bucket_minutes=0)


def test_vital_percentiles_equal_ground_truth(clickhouse, dataset):
    vitals_in_window = in_window(dataset).filter(pl.col("type") == "web_vital")
    truth = (
        vitals_in_window.group_by(pl.col("vital_name").alias("vital"))
        .agg(
            pl.len().cast(pl.UInt64).alias("samples"),
            *(pl.col("vital_value").quantile(q, interpolation="linear").alias(name)
              for q, name in ((0.5, "p50"), (0.75, "p75"), (0.95, "p95"))),
        )
        .sort("vital")
    )
    answer = queries.vital_percentiles(clickhouse.client(), WINDOW)
    assert answer["vital"].to_list() == truth["vital"].to_list() == sorted(["CLS", "FCP", "INP", "LCP", "LOAD", "TTFB", "TTI"])
    assert answer["samples"].to_list() == truth["samples"].to_list()
    for column in ("p50", "p75", "p95"):
        assert answer[column].to_list() == pytest.approx(truth[column].to_list(), rel=1e-12), column


def test_vital_percentiles_rate_the_p75(clickhouse, dataset):
    answer = queries.vital_percentiles(clickhouse.client(), WINDOW)
    lcp = answer.filter(pl.col("vital") == "LCP").row(0, named=True)
    expected = "good" if lcp["p75"] <= 2500 else "needs-improvement" if lcp["p75"] <= 4000 else "poor"
    assert lcp["rating"] == expected


def test_other_projects_and_times_outside_the_range_are_not_counted(clickhouse, dataset):
    client = clickhouse.client()
    just_the_start = Filters(PROJECT, WINDOW.start, WINDOW.start + timedelta(milliseconds=1))
    just_the_end = Filters(PROJECT, WINDOW.end, WINDOW.end + timedelta(milliseconds=1))
    assert queries.traffic_summary(client, just_the_start)["page_views"][0] >= 1
    start_ids = in_window(dataset, just_the_start)["event_id"].to_list()
    assert "boundary-at-start" in start_ids
    assert "boundary-at-end" not in in_window(dataset)["event_id"].to_list()
    assert queries.traffic_summary(client, just_the_end)["events"][0] == in_window(dataset, just_the_end).height
    other = Filters(OTHER_PROJECT, WINDOW.start, WINDOW.end)
    assert queries.traffic_summary(client, other)["events"][0] == in_window(dataset, other).height


def test_an_empty_range_gives_empty_frames_with_the_same_columns(clickhouse, dataset):
    client = clickhouse.client()
    nothing = Filters(PROJECT, NOW + timedelta(days=1), NOW + timedelta(days=2))
    assert queries.events_per_minute(client, nothing).schema == {"minute": queries.UTC_MS, "type": pl.String,
                                                                 "events": pl.UInt64}
    assert queries.events_per_minute(client, nothing).height == 0
    assert queries.traffic_summary(client, nothing).to_dicts() == [
        {"page_views": 0, "unique_visitors": 0, "sessions": 0, "errors": 0, "events": 0}]
    empty_vitals = queries.vital_percentiles(client, nothing)
    assert empty_vitals.height == 0
    assert empty_vitals.columns == ["vital", "samples", "p50", "p75", "p95", "rating"]


def test_projects_lists_created_projects(clickhouse):
    from pipeline.warehouse.projects import create

    client = clickhouse.client()
    made = create(client, "queries-test-shop")
    listed = queries.projects(client)
    assert listed.schema == {"id": pl.UInt32, "name": pl.String}
    assert (made.id, "queries-test-shop") in listed.rows()
