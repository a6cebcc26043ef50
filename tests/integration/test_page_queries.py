"""The dashboards' queries against the real engine, each compared with ground truth computed
independently in polars on the same simulated shop — made by the real collector split,
processor steps and row mapping — with a tenth of the events inserted twice (as a replay
after a processor crash would), a neighbouring project, and every dimension filter.

Rollup answers (``traffic_totals``, ``vital_summary``, …) cover whole minutes, so the window
here is minute-aligned; their percentiles must be within ``RELATIVE_ACCURACY`` (1 %) of the
exact ones, every count and unique exact. Raw-event answers must be exact.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import orjson
import polars as pl
import pytest

from pipeline import queries
from pipeline.contract import vitals
from pipeline.queries import RELATIVE_ACCURACY, Filters, FunnelStep
from pipeline.queries.filters import clickhouse_time
from pipeline.queries import dashboard_state
from tests.support import shop_data

pytestmark = pytest.mark.integration

PROJECT = 9201
NEIGHBOUR = 9202
ANCHOR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
WINDOW = Filters(PROJECT, ANCHOR + timedelta(minutes=10), ANCHOR + timedelta(minutes=70))
ROLLUPS = ("web_vitals_hour", "web_vitals_route_hour", "error_groups_hour", "api_calls_hour", "sessions", "traffic_hour",
           "audience_hour", "vital_target_hour", "time_on_page_hour", "resource_hour", "resource_day", "navigation_hour")
# one filter per dimension, each leaving a fair share of the data
DIMENSION_FILTERS = [
    {}, {"device": "mobile"}, {"browser": "Chrome"}, {"country": "DE"}, {"country": "unknown"},
    {"release": "shop@2.5.0"}, {"environment": "production"}, {"route": "/p/*"},
    {"device": "desktop", "country": "US"},
]


@pytest.fixture(scope="module")
def shop(clickhouse):
    """The shop's events, once each in the truth frame; in the warehouse a tenth of them twice."""
    client = clickhouse.client()
    made = shop_data.shop_events(PROJECT, 450, seed=21, start=ANCHOR, span=timedelta(minutes=90))
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=22, start=ANCHOR, span=timedelta(minutes=90))
    # no background merges: the duplicates stay in their own parts, only the queries' FINAL folds them
    for table in ("events",) + ROLLUPS:
        client.command(f"SYSTEM STOP MERGES {table}")
    shop_data.insert(client, made.rows + neighbour.rows)
    replayed = random.Random(23).sample(made.rows, len(made.rows) // 10)
    shop_data.insert(client, sorted(replayed, key=lambda row: row[2]))
    yield shop_data.truth_frame(made.rows + neighbour.rows)
    for table in ("events",) + ROLLUPS:
        client.command(f"SYSTEM START MERGES {table}")


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


# ── ground truth helpers ─────────────────────────────────────────────────────────────────


def like(pattern: str, value: str) -> bool:
    """A route filter's ``*`` wildcard, independently of SQL LIKE."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def matching(frame: pl.DataFrame, filters: Filters, *, minutes: bool = False, route: bool = True) -> pl.DataFrame:
    """Events of ``filters`` (project, range, dimensions). ``minutes``: by the minute an event falls in."""
    time = pl.col("timestamp").dt.truncate("1m") if minutes else pl.col("timestamp")
    selected = frame.filter((pl.col("project_id") == filters.project_id)
                            & (time >= filters.start) & (time < filters.end))
    for name, value in filters.dimensions().items():
        if name == "route":
            if route:
                selected = selected.filter(pl.col("path").map_elements(lambda p, v=value: like(v, p),
                                                                        return_dtype=pl.Boolean))
        elif name == "country":
            selected = selected.filter(pl.col("country") == ("" if value == "unknown" else value))
        else:
            selected = selected.filter(pl.col(name) == value)
    return selected


def exact_quantiles(values: pl.Series) -> dict[str, float]:
    return {name: values.quantile(level, interpolation="linear") for name, level in queries.PERCENTILES}


def assert_percentiles_close(answer: dict, truth: dict) -> None:
    for name, _ in queries.PERCENTILES:
        assert answer[name] == pytest.approx(truth[name], rel=RELATIVE_ACCURACY, abs=1e-9), name


def with_filters(**dimensions: str) -> Filters:
    return Filters(PROJECT, WINDOW.start, WINDOW.end, **dimensions)


def test_the_warehouse_really_holds_duplicates(client, shop):
    project = {"project": PROJECT}
    stored = client.command("SELECT count() FROM events WHERE project_id = {project:UInt32}", parameters=project)
    assert stored > shop.filter(pl.col("project_id") == PROJECT).height
    # and a query without FINAL would count them: the errors too, which no insert-time view rolls up
    # any more (every family is sealed from events FINAL since 092)
    errors = shop.filter((pl.col("project_id") == PROJECT) & (pl.col("type") == "error")).height
    assert client.command("SELECT count() FROM events WHERE project_id = {project:UInt32} AND type = 'error'",
                          parameters=project) > errors
    assert client.command("SELECT count() FROM events FINAL WHERE project_id = {project:UInt32} AND type = 'error'",
                          parameters=project) == errors


# ── traffic ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("dimensions", DIMENSION_FILTERS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "all")
def test_traffic_totals_equal_ground_truth(client, shop, dimensions):
    filters = with_filters(**dimensions)
    truth = matching(shop, filters)
    answer = queries.traffic_totals(client, filters).row(0, named=True)
    assert answer == {
        "page_views": truth.filter(pl.col("type") == "page_view").height,
        "unique_visitors": truth["visitor_id"].n_unique(),
        "sessions": truth["session_id"].n_unique(),
        "errors": truth.filter(pl.col("type") == "error").height,
        "events": truth.height,
    }
    assert answer["events"] > 0


# a range with whole hours inside: the hourly rollups answer those, the minute ones the edges
WIDE = Filters(PROJECT, ANCHOR - timedelta(minutes=50), ANCHOR + timedelta(hours=2, minutes=10))


@pytest.mark.parametrize("dimensions", [{}, {"release": "shop@2.4.1"}, {"route": "/p/*"}, {"device": "tablet"}],
                         ids=["hours", "hours-release", "hours-route", "minutes-only-device"])
def test_the_hourly_tier_answers_whole_hours_exactly(client, shop, dimensions):
    filters = Filters(PROJECT, WIDE.start, WIDE.end, **dimensions)
    truth = matching(shop, filters)
    assert queries.traffic_totals(client, filters).row(0, named=True) == {
        "page_views": truth.filter(pl.col("type") == "page_view").height,
        "unique_visitors": truth["visitor_id"].n_unique(), "sessions": truth["session_id"].n_unique(),
        "errors": truth.filter(pl.col("type") == "error").height, "events": truth.height,
    }
    hourly = (truth.group_by(pl.col("timestamp").dt.truncate("1h").alias("time"))
              .agg((pl.col("type") == "page_view").sum().cast(pl.UInt64).alias("page_views"),
                   pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"),
                   pl.col("session_id").n_unique().cast(pl.UInt64).alias("sessions")).sort("time"))
    assert queries.traffic_trend(client, filters, 60).equals(hourly)
    by_type = (truth.group_by(pl.col("timestamp").dt.truncate("1h").alias("minute"), "type")
               .agg(pl.len().cast(pl.UInt64).alias("events")).sort("minute", "type"))
    assert queries.events_by_type(client, filters, 60).equals(by_type)
    pages = (truth.group_by("path").agg((pl.col("type") == "page_view").sum().cast(pl.UInt64).alias("page_views"),
                                        pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"))
             .filter(pl.col("page_views") > 0).sort(["page_views", "path"], descending=[True, False]).head(10))
    assert queries.top_pages(client, filters, limit=10).equals(pages)
    measured = rated(truth.filter(pl.col("type") == "web_vital"))
    summary = queries.vital_summary(client, filters)
    for row in summary.iter_rows(named=True):
        values = measured.filter(pl.col("vital_name") == row["vital"])
        assert row["samples"] == values.height
        assert_percentiles_close(row, exact_quantiles(values["vital_value"]))
        assert row["poor"] == pytest.approx(values.filter(pl.col("rating") == "poor").height / values.height)
    by_release = queries.vital_breakdown(client, filters, "LCP", "release")
    lcp = measured.filter(pl.col("vital_name") == "LCP")
    assert dict(by_release.select("value", "samples").iter_rows()) == dict(lcp.group_by("release").len().iter_rows())
    by_route = queries.vital_breakdown(client, filters, "LCP", "route", 500)
    assert dict(by_route.select("value", "samples").iter_rows()) == dict(lcp.group_by("path").len().iter_rows())
    calls = api_truth(shop, filters)
    endpoints = queries.api_endpoints(client, filters, limit=1000)
    assert {(row["method"], row["endpoint"]): (row["calls"], row["failures"]) for row in endpoints.iter_rows(named=True)} \
        == {(method, endpoint): (n, failed) for method, endpoint, n, failed
            in calls.group_by("http_method", "endpoint").agg(pl.len(), pl.col("failed").sum()).iter_rows()}
    for row in endpoints.iter_rows(named=True):
        durations = calls.filter((pl.col("http_method") == row["method"]) & (pl.col("endpoint") == row["endpoint"]))
        assert_percentiles_close(row, exact_quantiles(durations["duration_ms"]))
    assert queries.api_failures(client, filters, limit=1000)["calls"].sum() == calls["failed"].sum() > 0
    resources = queries.slowest_resources(client, filters, limit=1000)
    truth_resources = resource_truth(shop, filters)
    assert sorted(resources["resource"]) == sorted(truth_resources["resource"]) and resources.height > 5
    assert_resources_close(resources, truth_resources)
    assert_navigation_timing(queries.navigation_timing(client, filters), navigation_truth(shop, filters))


def test_the_hourly_tier_is_used_only_when_it_can_answer():
    def hours(source: queries.tiers.Source) -> dict[str, str]:
        return {name: source.parameters()[name] for name in ("hours_start", "hours_end")}

    assert hours(queries.pick_source(WIDE, "traffic")) == {"hours_start": clickhouse_time(ANCHOR),
                                                           "hours_end": clickhouse_time(ANCHOR + timedelta(hours=2))}
    empty = {"hours_start": clickhouse_time(WIDE.start), "hours_end": clickhouse_time(WIDE.start)}
    assert hours(queries.pick_source(Filters(PROJECT, WIDE.start, WIDE.end, device="mobile"), "traffic")) == empty
    assert hours(queries.pick_source(WIDE, "api_calls", 15)) == empty  # buckets narrower than an hour
    assert hours(queries.pick_source(WIDE, "web_vitals", group="device")) == empty  # grouped by what hours lack
    by_route = queries.pick_source(WIDE, "web_vitals", group="route")  # 093: the hours with the route
    assert (by_route.hour_table, hours(by_route)) == ("web_vitals_route_hour", hours(queries.pick_source(WIDE, "traffic")))
    routed = Filters(PROJECT, WIDE.start, WIDE.end, route="/p/*")
    assert queries.pick_source(routed, "web_vitals", group="release").hour_table == "web_vitals_route_hour"
    for family in ("resource", "navigation"):  # 095: the drill-downs' hours, without route, device, browser, country
        assert (queries.pick_source(WIDE, family).hour_table, hours(queries.pick_source(WIDE, family))) == (
            f"{family}_hour", hours(queries.pick_source(WIDE, "traffic")))
        assert hours(queries.pick_source(routed, family)) == empty
        assert hours(queries.pick_source(Filters(PROJECT, WIDE.start, WIDE.end, browser="Chrome"), family)) == empty
    assert hours(queries.pick_source(routed, "web_vitals", group="connection")) == empty
    assert queries.pick_source(WIDE, "web_vitals", group="environment").hour_table == "web_vitals_hour"
    assert hours(queries.pick_source(WINDOW, "traffic")) == {"hours_start": clickhouse_time(WINDOW.start),
                                                             "hours_end": clickhouse_time(WINDOW.start)}


def test_rollup_totals_agree_with_the_raw_summary_on_whole_minutes(client, shop):
    assert queries.traffic_totals(client, WINDOW).to_dicts() == queries.traffic_summary(client, WINDOW).to_dicts()


@pytest.mark.parametrize("bucket_minutes", [1, 15])
def test_events_by_type_equal_ground_truth(client, shop, bucket_minutes):
    truth = (matching(shop, WINDOW)
             .group_by(pl.col("timestamp").dt.truncate(f"{bucket_minutes}m").alias("minute"), "type")
             .agg(pl.len().cast(pl.UInt64).alias("events")).sort("minute", "type"))
    answer = queries.events_by_type(client, WINDOW, bucket_minutes)
    assert answer.equals(truth.select("minute", "type", "events"))


@pytest.mark.parametrize("dimensions", [{}, {"device": "mobile"}], ids=["all", "mobile"])
def test_traffic_trend_equals_ground_truth(client, shop, dimensions):
    filters = with_filters(**dimensions)
    truth = (matching(shop, filters)
             .group_by(pl.col("timestamp").dt.truncate("5m").alias("time"))
             .agg((pl.col("type") == "page_view").sum().cast(pl.UInt64).alias("page_views"),
                  pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"),
                  pl.col("session_id").n_unique().cast(pl.UInt64).alias("sessions"))
             .sort("time"))
    assert queries.traffic_trend(client, filters, 5).equals(truth)


def test_top_pages_equal_ground_truth(client, shop):
    events = matching(shop, WINDOW)
    truth = (events.group_by("path")
             .agg((pl.col("type") == "page_view").sum().cast(pl.UInt64).alias("page_views"),
                  pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"))
             .filter(pl.col("page_views") > 0)
             .sort(["page_views", "path"], descending=[True, False]).head(10))
    assert queries.top_pages(client, WINDOW, limit=10).equals(truth)


def test_filter_options_list_what_the_range_has(client, shop):
    options = queries.filter_options(client, WINDOW)
    events = matching(shop, WINDOW)
    started = session_truth(shop, WINDOW)
    assert set(options["device"]) == set(started["device"]) <= set(events["device"])
    assert set(options["release"]) == set(events["release"].unique()) == {"shop@2.4.1", "shop@2.5.0"}
    assert set(options["country"]) >= {c or "unknown" for c in started["country"]}
    assert "unknown" in options["country"]
    assert set(options["route"]) >= set(events.filter(pl.col("type") == "page_view")["path"].unique())


# ── Web Vitals ───────────────────────────────────────────────────────────────────────────


def rated(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.struct("vital_name", "vital_value").map_elements(
        lambda v: vitals.rate(v["vital_name"], v["vital_value"]), return_dtype=pl.String).alias("rating"))


@pytest.mark.parametrize("dimensions", DIMENSION_FILTERS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "all")
def test_vital_summary_is_within_one_percent_of_exact_percentiles(client, shop, dimensions):
    filters = with_filters(**dimensions)
    measured = rated(matching(shop, filters).filter(pl.col("type") == "web_vital"))
    answer = queries.vital_summary(client, filters)
    expected_order = [name for name in vitals.VITAL_NAMES if name in set(measured["vital_name"])]
    assert answer["vital"].to_list() == expected_order
    for row in answer.iter_rows(named=True):
        values = measured.filter(pl.col("vital_name") == row["vital"])
        assert row["samples"] == values.height
        assert_percentiles_close(row, exact_quantiles(values["vital_value"]))
        assert row["rating"] == vitals.rate(row["vital"], row["p75"])
        for rating in vitals.RATINGS:
            share = values.filter(pl.col("rating") == rating).height / values.height
            assert row[rating.replace("-", "_")] == pytest.approx(share, abs=1e-12), rating


@pytest.mark.parametrize("dimensions", DIMENSION_FILTERS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "all")
def test_the_p75_change_equals_the_difference_of_exact_percentiles(client, shop, dimensions):
    """The Overview's "vs previous period" of a Web Vital: exact, recomputed in polars from both periods."""
    filters = Filters(PROJECT, ANCHOR + timedelta(minutes=45), ANCHOR + timedelta(minutes=90), **dimensions)
    answer = {row["vital"]: row for row in queries.vital_p75_change(client, filters).iter_rows(named=True)}

    def exact_p75(period: Filters) -> dict[str, float]:
        measured = matching(shop, period).filter(pl.col("type") == "web_vital")
        return {name: values["vital_value"].quantile(0.75, interpolation="linear")
                for (name,), values in measured.group_by("vital_name")}

    now, before = exact_p75(filters), exact_p75(filters.previous())
    assert set(answer) == set(now) | set(before)
    assert {name for name, row in answer.items() if row["change"] is not None} == set(now) & set(before)
    for name in set(now) & set(before):
        assert answer[name]["p75"] == pytest.approx(now[name], abs=1e-9)
        assert answer[name]["p75_before"] == pytest.approx(before[name], abs=1e-9)
        assert answer[name]["change"] == pytest.approx(now[name] - before[name], abs=1e-9)


def test_vital_trend_per_bucket_is_within_one_percent(client, shop):
    values = matching(shop, WINDOW).filter((pl.col("type") == "web_vital") & (pl.col("vital_name") == "LCP"))
    answer = queries.vital_trend(client, WINDOW, "LCP", bucket_minutes=10)
    truth = values.group_by(pl.col("timestamp").dt.truncate("10m").alias("time")).agg(pl.col("vital_value")).sort("time")
    assert answer["time"].to_list() == truth["time"].to_list()
    for row, samples in zip(answer.iter_rows(named=True), truth["vital_value"]):
        assert row["samples"] == len(samples)
        assert_percentiles_close(row, exact_quantiles(pl.Series(samples)))


@pytest.mark.parametrize("dimension, column", [("route", "path"), ("device", "device"), ("browser", "browser"),
                                               ("country", "country"), ("release", "release"),
                                               ("connection", "connection_type")])
def test_vital_breakdown_equals_ground_truth(client, shop, dimension, column):
    values = rated(matching(shop, WINDOW).filter((pl.col("type") == "web_vital") & (pl.col("vital_name") == "INP")))
    answer = queries.vital_breakdown(client, WINDOW, "INP", dimension)
    truth = values.group_by(column).agg(pl.col("vital_value"), pl.col("rating"))
    assert sorted(answer["value"].to_list()) == sorted(truth[column].to_list())
    counts = dict(zip(truth[column], truth["vital_value"].list.len()))
    assert answer["samples"].to_list() == sorted(counts.values(), reverse=True)
    for row in answer.iter_rows(named=True):
        group = truth.filter(pl.col(column) == row["value"]).row(0, named=True)
        assert_percentiles_close(row, exact_quantiles(pl.Series(group["vital_value"])))
        assert row["poor"] == pytest.approx(group["rating"].count("poor") / len(group["rating"]), abs=1e-12)


def test_a_breakdown_names_an_allowed_dimension(client):
    with pytest.raises(ValueError, match="cannot break down by 'user_agent'"):
        queries.vital_breakdown(client, WINDOW, "LCP", "user_agent")


def test_vital_histogram_counts_every_sample_in_its_bucket(client, shop):
    values = rated(matching(shop, WINDOW).filter((pl.col("type") == "web_vital") & (pl.col("vital_name") == "CLS")))
    answer = queries.vital_histogram(client, WINDOW, "CLS")
    assert answer["samples"].sum() == values.height
    assert answer.filter(pl.col("bucket") == queries.ZERO_BUCKET)["samples"].sum() == values.filter(
        pl.col("vital_value") == 0).height > 0
    by_rating = answer.group_by("rating").agg(pl.col("samples").sum())
    assert dict(by_rating.iter_rows()) == dict(values.group_by("rating").len().iter_rows())
    for row in answer.filter(pl.col("bucket") != queries.ZERO_BUCKET).iter_rows(named=True):
        inside = values.filter((pl.col("vital_value") > row["lower"] * (1 - 1e-12))
                               & (pl.col("vital_value") <= row["upper"] * (1 + 1e-12))
                               & (pl.col("rating") == row["rating"]))
        assert inside.height == row["samples"]
        assert row["lower"] < row["value"] <= row["upper"] * (1 + 1e-12)


def test_vital_attribution_equals_ground_truth(client, shop):
    values = matching(shop, WINDOW).filter((pl.col("type") == "web_vital") & (pl.col("vital_name") == "LCP"))
    truth = (values.group_by("target").agg(pl.len().cast(pl.UInt64).alias("samples"),
                                           pl.col("vital_value").quantile(0.75, interpolation="linear").alias("p75"))
             .sort(["samples", "target"], descending=[True, False]).head(5))
    answer = queries.vital_attribution(client, WINDOW, "LCP", limit=5)
    assert answer.select("target", "samples").equals(truth.select("target", "samples"))
    # from log buckets (096): within 1 %, as the Web Vitals summary
    assert answer["p75"].to_list() == pytest.approx(truth["p75"].to_list(), rel=RELATIVE_ACCURACY, abs=1e-9)
    assert "main > section.hero > img" in answer["target"].to_list()
    assert answer["rating"].to_list() == [vitals.rate("LCP", p) for p in truth["p75"]]


def navigation_truth(shop: pl.DataFrame, filters: Filters) -> dict[str, pl.Series]:
    """Per Navigation Timing phase, its milliseconds in the LOAD measurements of ``filters``."""
    loads = matching(shop, filters).filter((pl.col("type") == "web_vital") & (pl.col("vital_name") == "LOAD"))
    phases: dict[str, list[float]] = defaultdict(list)
    for text in loads["data"]:
        for phase, ms in orjson.loads(text).get("breakdown", {}).items():
            phases[phase].append(float(ms))
    return {phase: pl.Series(values) for phase, values in phases.items()}


def assert_navigation_timing(answer: pl.DataFrame, phases: dict[str, pl.Series]) -> None:
    """Samples exact, the mean exact (to float rounding), the p75 within 1 %, the offsets the means before."""
    assert answer["phase"].to_list() == [p for p in queries.NAVIGATION_PHASES if p in phases]
    offset = 0.0
    for row in answer.iter_rows(named=True):
        series = phases[row["phase"]]
        assert row["samples"] == len(series)
        assert row["mean"] == pytest.approx(series.mean(), rel=1e-9)
        assert row["p75"] == pytest.approx(series.quantile(0.75, interpolation="linear"), rel=RELATIVE_ACCURACY, abs=1e-9)
        assert row["offset"] == pytest.approx(offset, rel=1e-9, abs=1e-9)
        offset += row["mean"]


def test_navigation_timing_equals_ground_truth(client, shop):
    phases = navigation_truth(shop, WINDOW)
    assert_navigation_timing(queries.navigation_timing(client, WINDOW), phases)


def resource_truth(shop: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Per resource loaded in ``filters``: its loads, exact p50 and p75 ms and median transfer size."""
    loads = matching(shop, filters).filter(pl.col("type") == "resource").with_columns(
        pl.col("data").str.json_path_match("$.transfer_size").cast(pl.Float64).fill_null(0).alias("transfer_size"))
    return (loads.group_by(pl.col("http_url").alias("resource"))
            .agg(pl.len().cast(pl.UInt64).alias("loads"),
                 pl.col("duration_ms").quantile(0.5, interpolation="linear").alias("p50"),
                 pl.col("duration_ms").quantile(0.75, interpolation="linear").alias("p75"),
                 pl.col("transfer_size").quantile(0.5, interpolation="linear").alias("transfer_size")))


def assert_resources_close(answer: pl.DataFrame, truth: pl.DataFrame) -> None:
    """Each answered resource's loads exact, its p50, p75 and median size within 1 % (the size
    rounded down to a byte)."""
    expected = {row["resource"]: row for row in truth.iter_rows(named=True)}
    for row in answer.iter_rows(named=True):
        exact = expected[row["resource"]]
        assert row["loads"] == exact["loads"], row["resource"]
        for name in ("p50", "p75"):
            assert row[name] == pytest.approx(exact[name], rel=RELATIVE_ACCURACY, abs=1e-9), (row["resource"], name)
        assert row["transfer_size"] == pytest.approx(exact["transfer_size"], rel=RELATIVE_ACCURACY, abs=1)


def test_slowest_resources_equal_ground_truth(client, shop):
    truth = (resource_truth(shop, WINDOW).filter(pl.col("loads") >= 5)
             .sort(["p75", "resource"], descending=[True, False]).head(8))
    answer = queries.slowest_resources(client, WINDOW, limit=8, min_loads=5)
    assert answer.select("resource", "loads").equals(truth.select("resource", "loads"))
    assert_resources_close(answer, truth)
    assert answer["initiator"].to_list() == [initiator_of(shop, url) for url in answer["resource"]]


def initiator_of(shop: pl.DataFrame, url: str) -> str:
    loads = shop.filter((pl.col("type") == "resource") & (pl.col("http_url") == url))
    return min(orjson.loads(text).get("initiator_type", "") for text in loads["data"])


# ── sessions ─────────────────────────────────────────────────────────────────────────────


def session_truth(shop: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Every session of the project (over all its events), then those that started in the range."""
    project = shop.filter(pl.col("project_id") == filters.project_id)
    views = project.filter(pl.col("type") == "page_view").sort("timestamp")
    pages = views.group_by("session_id").agg(pl.len().alias("pages"), pl.col("path").first().alias("entry"),
                                             pl.col("path").last().alias("exit"),
                                             pl.col("referrer").first().alias("referrer"),
                                             pl.col("referrer_source").first().alias("source"),
                                             pl.col("url").first().alias("entry_url"))
    visits = (project.group_by("session_id")
              .agg(pl.col("timestamp").min().alias("started"), pl.col("timestamp").max().alias("ended"),
                   (pl.col("type") == "error").any().alias("with_error"),
                   *(pl.col(c).first() for c in ("device", "browser", "country", "release", "environment")))
              .join(pages, on="session_id"))
    visits = visits.filter((pl.col("started") >= filters.start) & (pl.col("started") < filters.end))
    for name, value in filters.dimensions().items():
        if name == "route":
            visits = visits.filter(pl.col("entry").map_elements(lambda p, v=value: like(v, p), return_dtype=pl.Boolean))
        elif name == "country":
            visits = visits.filter(pl.col("country") == ("" if value == "unknown" else value))
        else:
            visits = visits.filter(pl.col(name) == value)
    return visits


@pytest.mark.parametrize("dimensions", [{}, {"device": "mobile"}, {"route": "/"}, {"country": "unknown"}],
                         ids=["all", "mobile", "entering-home", "unknown-country"])
def test_session_summary_equals_ground_truth(client, shop, dimensions):
    filters = with_filters(**dimensions)
    truth = session_truth(shop, filters)
    answer = queries.session_summary(client, filters).row(0, named=True)
    durations = ((truth["ended"] - truth["started"]).dt.total_milliseconds() / 1000)
    assert answer["sessions"] == truth.height > 0
    assert answer["bounces"] == truth.filter(pl.col("pages") == 1).height
    assert answer["bounce_rate"] == pytest.approx(answer["bounces"] / truth.height)
    assert answer["with_errors"] == truth["with_error"].sum()
    assert answer["error_rate"] == pytest.approx(answer["with_errors"] / truth.height)
    assert answer["pages_per_session"] == pytest.approx(truth["pages"].mean())
    assert answer["median_duration_s"] == pytest.approx(durations.quantile(0.5, interpolation="linear"))


def test_entry_and_exit_pages_equal_ground_truth(client, shop):
    truth = session_truth(shop, WINDOW)
    for query, column in ((queries.entry_pages, "entry"), (queries.exit_pages, "exit")):
        expected = (truth.group_by(pl.col(column).alias("page"))
                    .agg(pl.len().cast(pl.UInt64).alias("sessions"), (pl.col("pages") == 1).mean().alias("bounce_rate"))
                    .sort(["sessions", "page"], descending=[True, False]).head(6))
        answer = query(client, WINDOW, limit=6)
        assert answer.select("page", "sessions").equals(expected.select("page", "sessions")), column
        assert answer["bounce_rate"].to_list() == pytest.approx(expected["bounce_rate"].to_list()), column


def test_sources_and_campaigns_equal_ground_truth(client, shop):
    truth = session_truth(shop, WINDOW)
    expected = truth.group_by("source").len().sort(["len", "source"], descending=[True, False])
    answer = queries.sources(client, WINDOW, limit=50)
    assert list(zip(answer["source"], answer["sessions"])) == list(expected.iter_rows())
    # one name per source, whatever host it came from; a newsletter's utm_source=newsletter is its own
    names = answer["source"].to_list()
    assert {"Google", "Bing", "Facebook", "Twitter", "Direct / None", "news.example.org"} <= set(names)
    assert not any("google" in name for name in names)

    def utm(url: str, name: str) -> str:
        return parse_qs(urlsplit(url).query).get(name, [""])[0]

    tagged = [(utm(u, "utm_source"), utm(u, "utm_medium"), utm(u, "utm_campaign")) for u in truth["entry_url"]]
    counts: dict[tuple, int] = defaultdict(int)
    for key in tagged:
        if any(key):
            counts[key] += 1
    campaigns = queries.campaigns(client, WINDOW)
    assert {(s, m, c): n for s, m, c, n in campaigns.select("source", "medium", "campaign", "sessions").iter_rows()} == counts
    assert ("newsletter", "email", "spring") in counts


# ── behaviour ────────────────────────────────────────────────────────────────────────────


def test_time_on_page_equals_ground_truth(client, shop):
    views = matching(shop, WINDOW).filter(pl.col("type") == "time_on_page")
    truth = (views.group_by("path").agg(pl.len().cast(pl.UInt64).alias("views"),
                                        (pl.col("duration_ms").quantile(0.5, interpolation="linear") / 1000).alias("median_s"),
                                        (pl.col("duration_ms").quantile(0.75, interpolation="linear") / 1000).alias("p75_s"))
             .sort(["views", "path"], descending=[True, False]).head(5))
    answer = queries.time_on_page(client, WINDOW, limit=5)
    assert answer.select("path", "views").equals(truth.select("path", "views"))
    # from log buckets (096): within 1 %, as the Web Vitals summary
    for name in ("median_s", "p75_s"):
        assert answer[name].to_list() == pytest.approx(truth[name].to_list(), rel=RELATIVE_ACCURACY, abs=1e-9), name


def test_clicks_and_form_submits_equal_ground_truth(client, shop):
    events = matching(shop, WINDOW)
    # the element's text and href from each click's own JSON, not from the columns the query reads
    def field(name: str) -> pl.Expr:
        return pl.col("data").map_elements(lambda d: shop_data.data_of(d).get(name, ""), return_dtype=pl.String).alias(name)

    clicks = (events.filter(pl.col("type") == "click").with_columns(field("text"), field("href"))
              .group_by("target", "text", "href")
              .agg(pl.len().cast(pl.UInt64).alias("clicks"), pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"))
              .sort(["clicks", "target", "text", "href"], descending=[True, False, False, False]).head(5))
    assert queries.top_clicks(client, WINDOW, limit=5).equals(clicks)
    forms = (events.filter(pl.col("type") == "form_submit").group_by(pl.col("target").alias("form"))
             .agg(pl.len().cast(pl.UInt64).alias("submits"))
             .sort(["submits", "form"], descending=[True, False]))
    answer = queries.form_submits(client, WINDOW)
    assert answer.select("form", "submits").equals(forms)
    assert "checkout" in answer["form"].to_list()


# ── errors ───────────────────────────────────────────────────────────────────────────────


def error_group_truth(shop: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Errors grouped by their fingerprint: the processor's, when it computes one; otherwise
    the warehouse's default (kind, type, message with numbers masked), rebuilt here by hand."""
    errors = shop.filter(pl.col("type") == "error")
    if "fingerprint" in errors.columns:
        errors = errors.with_columns(pl.col("fingerprint").cast(pl.String).alias("group"))
    else:
        errors = errors.with_columns(pl.struct("error_kind", "error_type", "error_message").map_elements(
            lambda e: f"{e['error_kind']}|{e['error_type']}|{re.sub(r'[0-9]+', '<n>', e['error_message'])}",
            return_dtype=pl.String).alias("group"))
    history = matching(errors, Filters(filters.project_id, datetime(2000, 1, 1, tzinfo=timezone.utc), filters.end,
                                       **filters.dimensions()), minutes=True)
    in_range = matching(errors, filters, minutes=True)
    return (in_range.group_by("group").agg(pl.len().cast(pl.UInt64).alias("events"),
                                           pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"),
                                           pl.col("error_kind").first(), pl.col("error_type").first())
            .join(history.group_by("group").agg(pl.col("timestamp").min().alias("first_seen"),
                                                pl.col("timestamp").max().alias("last_seen")), on="group"))


@pytest.mark.parametrize("dimensions", [{}, {"release": "shop@2.5.0"}, {"browser": "Safari"}],
                         ids=["all", "buggy-release", "safari"])
def test_error_groups_equal_ground_truth(client, shop, dimensions):
    filters = with_filters(**dimensions)
    truth = error_group_truth(shop, filters)
    answer = queries.error_groups(client, filters, bucket_minutes=10)
    assert answer.height == truth.height > 0
    assert sorted(answer["events"].to_list(), reverse=True) == answer["events"].to_list()
    got = {(r["kind"], r["error_type"], r["events"], r["visitors"], r["first_seen"], r["last_seen"])
           for r in answer.iter_rows(named=True)}
    assert got == {(r["error_kind"], r["error_type"], r["events"], r["visitors"], r["first_seen"], r["last_seen"])
                   for r in truth.iter_rows(named=True)}
    assert all(len(trend) == 6 and sum(trend) == events for trend, events in zip(answer["trend"], answer["events"]))
    assert set(answer["status"]) == {"unresolved"}
    assert all(re.fullmatch(r"[0-9a-f]+", group) for group in answer["error_group"])


def test_the_buggy_release_tops_the_error_groups(client, shop):
    top = queries.error_groups(client, WINDOW).row(0, named=True)
    assert (top["error_type"], top["message"]) == ("TypeError", "Cannot read properties of undefined (reading 'amount')")


def test_one_error_groups_events_and_tags_equal_ground_truth(client, shop):
    top = queries.error_groups(client, WINDOW).row(0, named=True)
    errors = matching(shop, WINDOW).filter((pl.col("type") == "error") & (pl.col("error_message") == top["message"]))
    events = queries.error_events(client, WINDOW, top["fingerprint"], limit=500)
    assert sorted(events["event_id"].to_list()) == sorted(errors["event_id"].to_list())
    assert events["timestamp"].to_list() == sorted(events["timestamp"].to_list(), reverse=True)
    sample = orjson.loads(events["data"][0])
    assert sample["frames"][0]["function"] == "formatPrice" and sample["breadcrumbs"]
    tags = queries.error_tags(client, WINDOW, top["fingerprint"])
    for tag, column in (("browser", "browser"), ("release", "release"), ("route", "path"), ("os", "os")):
        expected = dict(errors.group_by(column).len().iter_rows())
        assert dict(tags.filter(pl.col("tag") == tag).select("value", "events").iter_rows()) == expected, tag
    assert tags.filter(pl.col("tag") == "release")["value"].to_list() == ["shop@2.5.0"]
    assert tags.group_by("tag").agg(pl.col("share").sum())["share"].to_list() == pytest.approx([1.0] * 8)
    # a browser's errors have no server or transaction (079): one empty value each
    assert tags.filter(pl.col("tag").is_in(["server", "transaction"]))["value"].to_list() == ["", ""]


def test_error_group_status_resolve_ignore_reopen_and_regress(clickhouse):
    client = clickhouse.client()
    project = 9203
    now = datetime.now(timezone.utc)
    made = shop_data.shop_events(project, 60, seed=24, start=now - timedelta(minutes=50), span=timedelta(minutes=20),
                                 incident_share=1.0)
    shop_data.insert(client, made.rows)
    window = Filters.last_minutes(project, timedelta(hours=1), now + timedelta(minutes=5))
    groups = queries.error_groups(client, window)
    first, second = groups["fingerprint"][0], groups["fingerprint"][1]
    dashboard_state.set_error_group_status(client, project, first, "resolved", by="ana")
    dashboard_state.set_error_group_status(client, project, second, "ignored", by="ana")
    statuses = dict(queries.error_groups(client, window).select("fingerprint", "status").iter_rows())
    assert (statuses[first], statuses[second]) == ("resolved", "ignored")
    assert queries.error_groups(client, window, status="ignored")["fingerprint"].to_list() == [second]
    # the resolved group happens again: it is shown as regressed
    resolved = groups.row(0, named=True)
    column = shop_data.COLUMNS.index
    again = next(row for row in made.rows if row[column("type")] == "error"
                 and (row[column("error_kind")], row[column("error_message")]) == (resolved["kind"], resolved["message"]))
    later = list(again)
    later[shop_data.COLUMNS.index("event_id")] = "regression0000001"
    later[shop_data.COLUMNS.index("timestamp")] = int((now + timedelta(minutes=1)).timestamp() * 1000)
    shop_data.insert(client, [tuple(later)])
    assert dict(queries.error_groups(client, window).select("fingerprint", "status").iter_rows())[first] == "regressed"
    dashboard_state.set_error_group_status(client, project, second, "unresolved")
    assert dict(queries.error_groups(client, window).select("fingerprint", "status").iter_rows())[second] == "unresolved"
    with pytest.raises(ValueError, match="resolved"):
        dashboard_state.set_error_group_status(client, project, first, "regressed")


# ── API calls ────────────────────────────────────────────────────────────────────────────


def endpoint_of(http_url: str, page_url: str) -> str:
    """The rollup's endpoint, rebuilt independently: id-like path segments as :id, host if foreign."""
    target, page = urlsplit(http_url), urlsplit(page_url)
    segments = [":id" if re.fullmatch(r"[0-9]+|[0-9a-fA-F-]{16,}", s) else s for s in target.path.split("/")]
    host = target.hostname if target.hostname and target.hostname != page.hostname else ""
    return host + "/".join(segments)


def api_truth(shop: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    calls = matching(shop, filters, minutes=True).filter(pl.col("type") == "api_call")
    return calls.with_columns(
        pl.struct("http_url", "url").map_elements(lambda c: endpoint_of(c["http_url"], c["url"]),
                                                   return_dtype=pl.String).alias("endpoint"),
        ((pl.col("http_status") == 0) | (pl.col("http_status") >= 400)).alias("failed"))


def test_api_endpoints_equal_ground_truth(client, shop):
    truth = api_truth(shop, WINDOW)
    answer = queries.api_endpoints(client, WINDOW)
    assert answer.height == truth.select("http_method", "endpoint").n_unique()
    assert "/api/products/:id/reviews" in answer["endpoint"].to_list()
    for row in answer.iter_rows(named=True):
        calls = truth.filter((pl.col("http_method") == row["method"]) & (pl.col("endpoint") == row["endpoint"]))
        assert (row["calls"], row["failures"]) == (calls.height, calls["failed"].sum())
        assert_percentiles_close(row, exact_quantiles(calls["duration_ms"]))


def test_api_failures_equal_ground_truth(client, shop):
    truth = api_truth(shop, WINDOW).filter(pl.col("failed")).with_columns(
        pl.col("data").map_elements(lambda d: orjson.loads(d).get("failure", ""), return_dtype=pl.String).alias("failure"))
    expected = {(m, e, s, f): n for m, e, s, f, n in
                truth.group_by("http_method", "endpoint", "http_status", "failure").len().iter_rows()}
    answer = queries.api_failures(client, WINDOW, limit=1000)
    assert {(m, e, s, f): n for m, e, s, f, n in answer.iter_rows()} == expected
    assert {"status", "network", "timeout"} <= set(answer["failure"])


# ── funnels ──────────────────────────────────────────────────────────────────────────────


def step_matches(step: FunnelStep, event: dict) -> bool:
    if step.kind == "page":
        hit = event["type"] == "page_view" and like(step.match, event["path"])
    else:
        hit = event["type"] == step.match or (event["type"] == "custom" and event["name"] == step.match)
    if not hit or not step.property_name:
        return hit
    data = orjson.loads(event["data"])
    raw = [orjson.dumps(where[step.property_name]).decode().strip('"')
           for where in (data.get("props") or {}, data) if step.property_name in where]
    return step.property_value in raw


def reference_funnel(events: list[dict], steps: list[FunnelStep], window_ms: int) -> int:
    """ClickHouse's windowFunnel (default mode), written out: the deepest step reached."""
    hits = sorted((int(e["timestamp"].timestamp() * 1000), index)
                  for e in events for index, step in enumerate(steps) if step_matches(step, e))
    started: list[int | None] = [None] * len(steps)
    for at, index in hits:
        if index == 0:
            started[0] = at
        elif started[index - 1] is not None and at <= started[index - 1] + window_ms:
            started[index] = started[index - 1]
            if index + 1 == len(steps):
                return len(steps)
    return max((i + 1 for i, first in enumerate(started) if first is not None), default=0)


def funnel_truth(shop: pl.DataFrame, filters: Filters, steps: list[FunnelStep], window: timedelta,
                 unit: str = "session_id", segment: str = "") -> dict[str, list[int]]:
    events = matching(shop, filters, route=False)
    levels: dict[str, list[int]] = defaultdict(lambda: [0] * len(steps))
    for group in events.partition_by(unit):
        rows = group.to_dicts()
        matched = [e for e in rows if any(step_matches(s, e) for s in steps)]
        level = reference_funnel(rows, steps, int(window.total_seconds() * 1000))
        key = matched[0][segment] if segment and matched else ""
        for k in range(level):
            levels[key][k] += 1
    return dict(levels)


SHOP_FUNNEL = [FunnelStep("page", "/"), FunnelStep("page", "/c/*"), FunnelStep("page", "/p/*"),
               FunnelStep("page", "/cart"), FunnelStep("page", "/checkout"),
               FunnelStep("page", "/checkout/confirmation")]
PURCHASE_FUNNEL = [FunnelStep("event", "add_to_cart"), FunnelStep("event", "form_submit", "form_id", "checkout"),
                   FunnelStep("event", "purchase")]


@pytest.mark.parametrize("steps, window, unit", [
    (SHOP_FUNNEL, timedelta(hours=1), "session"),
    (SHOP_FUNNEL, timedelta(minutes=3), "session"),
    (PURCHASE_FUNNEL, timedelta(minutes=30), "session"),
    (PURCHASE_FUNNEL, timedelta(minutes=30), "visitor"),
], ids=["pages-1h", "pages-3min", "events-with-property", "per-visitor"])
def test_funnel_conversion_equals_ground_truth(client, shop, steps, window, unit):
    truth = funnel_truth(shop, WINDOW, steps, window, "session_id" if unit == "session" else "visitor_id")[""]
    answer = queries.funnel(client, WINDOW, steps, window, unit=unit)
    assert answer["units"].to_list() == truth
    assert truth[0] > truth[-1] > 0
    assert answer["conversion"].to_list() == pytest.approx([n / truth[0] for n in truth])
    assert answer["step_conversion"].to_list() == pytest.approx([1.0] + [b / a for a, b in zip(truth, truth[1:])])
    assert answer["dropped"].to_list() == [0] + [a - b for a, b in zip(truth, truth[1:])]
    assert answer["label"].to_list() == [step.label for step in steps]


def test_a_funnel_by_device_sums_to_the_whole(client, shop):
    steps = SHOP_FUNNEL[2:]
    truth = funnel_truth(shop, WINDOW, steps, timedelta(hours=1), segment="device")
    answer = queries.funnel(client, WINDOW, steps, timedelta(hours=1), breakdown="device")
    assert {segment: answer.filter(pl.col("segment") == segment)["units"].to_list()
            for segment in answer["segment"].unique()} == truth
    assert set(truth) == {"desktop", "mobile", "tablet"}


def test_funnels_check_their_definition(client):
    with pytest.raises(ValueError, match="2 to 10 steps"):
        queries.funnel(client, WINDOW, SHOP_FUNNEL[:1], timedelta(hours=1))
    with pytest.raises(ValueError, match="cannot break a funnel down by 'route'"):
        queries.funnel(client, WINDOW, SHOP_FUNNEL, timedelta(hours=1), breakdown="route")
    with pytest.raises(ValueError, match="'page' or an 'event'"):
        FunnelStep("url", "/")


def test_saved_funnels_round_trip(clickhouse):
    client = clickhouse.client()
    checkout = dashboard_state.FunnelDefinition("Checkout", tuple(PURCHASE_FUNNEL), window_minutes=30, unit="visitor")
    dashboard_state.save_funnel(client, 9204, checkout, by="ana")
    dashboard_state.save_funnel(client, 9204, dashboard_state.FunnelDefinition("Browse", tuple(SHOP_FUNNEL[:3])))
    assert dashboard_state.saved_funnels(client, 9204) == {"Browse": dashboard_state.FunnelDefinition(
        "Browse", tuple(SHOP_FUNNEL[:3])), "Checkout": checkout}
    dashboard_state.delete_funnel(client, 9204, "Browse")
    assert list(dashboard_state.saved_funnels(client, 9204)) == ["Checkout"]


# ── empty answers ────────────────────────────────────────────────────────────────────────


def test_an_empty_range_gives_empty_frames_with_the_same_columns(client, shop):
    nothing = Filters(PROJECT, ANCHOR + timedelta(days=2), ANCHOR + timedelta(days=3))
    assert queries.traffic_totals(client, nothing).to_dicts() == [
        {"page_views": 0, "unique_visitors": 0, "sessions": 0, "errors": 0, "events": 0}]
    summary = queries.session_summary(client, nothing).row(0, named=True)
    assert summary["sessions"] == 0 and summary["bounce_rate"] is None
    for frame, columns in (
        (queries.vital_summary(client, nothing), ["vital", "samples", "p50", "p75", "p95", "rating", "good",
                                                  "needs_improvement", "poor"]),
        (queries.vital_trend(client, nothing, "LCP"), ["time", "samples", "p50", "p75", "p95"]),
        (queries.vital_breakdown(client, nothing, "LCP", "route"), ["value", "samples", "p50", "p75", "p95", "rating",
                                                                    "good", "needs_improvement", "poor"]),
        (queries.vital_histogram(client, nothing, "LCP"), ["bucket", "lower", "upper", "value", "rating", "samples"]),
        (queries.error_groups(client, nothing), ["error_group", "fingerprint", "kind", "error_type", "message",
                                                 "events", "visitors", "first_seen", "last_seen", "status", "trend"]),
        (queries.api_endpoints(client, nothing), ["method", "endpoint", "calls", "failures", "failure_rate",
                                                  "p50", "p75", "p95"]),
        (queries.events_by_type(client, nothing), ["minute", "type", "events"]),
        (queries.traffic_trend(client, nothing), ["time", "page_views", "visitors", "sessions"]),
        (queries.entry_pages(client, nothing), ["page", "sessions", "bounce_rate"]),
    ):
        assert frame.height == 0 and frame.columns == columns
    empty_funnel = queries.funnel(client, nothing, SHOP_FUNNEL[:2], timedelta(hours=1))
    assert empty_funnel["units"].to_list() == [0, 0]
