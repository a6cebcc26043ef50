"""Web Vitals: how fast the site is for real users, and where it is slow.

One metric at a time (picked at the top, kept in the URL): its p50 / p75 / p95 and the
shares rated good / needs improvement / poor; the percentiles over time against Google's
thresholds; the distribution; breakdowns by route, device, browser, country, release and
connection; the worst routes; what the SDK blamed (LCP element, INP target); the
navigation-timing waterfall of a page load; and the slowest resources. With the sidebar's
comparison on: each headline's change against the previous period (the p75's exact over the raw
measurements up to 24 hours, so only while they cover both periods; past 24 hours from both periods'
hourly histograms, marked ≈) and the previous period's p75 as a faded line.
The drill-downs read their sealed hours, which outlive the raw events, and raw events for the rest
(a filter on a dimension the hourly rows lack reads raw events only: then on ranges older than their
retention they cover its days only).
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

import comparison
import ui
import view_filters
from pipeline import queries
from pipeline.queries import vitals

# the breakdown picker's options (also its URL values, ?breakdown=Country) → the query's dimension
BREAKDOWNS = {"Route": "route", "Device": "device", "Browser": "browser", "Country": "country",
              "Release": "release", "Connection": "connection"}
DETAILS = ("Attribution", "Navigation timing", "Slowest resources")  # one drill-down at a time
DETAIL_FAMILY = {"Attribution": "vital_target", "Navigation timing": "navigation", "Slowest resources": "resource"}
WORST_ROUTES_MIN_SAMPLES = 5
HISTOGRAM_BARS = 40

selection = view_filters.current()
assert selection is not None

st.title("Web Vitals")
view_filters.check_choice("vital", vitals.VITAL_NAMES, "a Web Vital")
view_filters.check_choice("breakdown", BREAKDOWNS, "a breakdown")
view_filters.check_choice("details", DETAILS, "a drill-down")
vital = st.segmented_control("Metric", list(vitals.VITAL_NAMES), default="LCP", required=True, key="vital",
                             bind="query-params", help="Core Web Vitals first: LCP, INP, CLS.")
unitless = vitals.THRESHOLDS[vital].unit == ""
unit_format = "%.3f" if unitless else "%.0f ms"
threshold = vitals.THRESHOLDS[vital]
st.caption(f"{ui.VITAL_TITLES[vital]} · good ≤ {vitals.format_value(vital, threshold.good)}, poor > "
           f"{vitals.format_value(vital, threshold.poor)} at the 75th percentile · {selection.time_range.label} · "
           "percentiles within 1 % (log-bucketed histograms), counts exact")

filters = selection.filters()
client = view_filters.warehouse()
estimated_change = queries.estimated(filters, "p75_change")  # past 24 hours: from both periods' histograms (≈)
with view_filters.warehouse_errors():
    summary = queries.vital_summary(client, filters).filter(pl.col("vital") == vital)
    trend = queries.vital_trend(client, filters, vital, selection.bucket_minutes)
    histogram = queries.vital_histogram(client, filters, vital)
    before = trend_before = p75_change = None
    if selection.compare:
        previous = filters.previous()
        summary_before = queries.vital_summary(client, previous).filter(pl.col("vital") == vital)
        before = summary_before.row(0, named=True) if summary_before.height else None
        trend_before = queries.vital_trend(client, previous, vital, selection.bucket_minutes)
        changes = None
        if estimated_change:
            changes = queries.vital_p75_change_estimated(summary, summary_before)
        elif comparison.raw_covers(previous):
            changes = queries.vital_p75_change(client, filters).filter(pl.col("vital") == vital)
        if changes is not None and changes.height:
            p75_change = changes["change"][0]

if summary.is_empty():
    ui.no_data(f"{vital} measurements")
    st.stop()
headline = summary.row(0, named=True)

# two rows of four: seven cards in one row cut values such as "27,562" short at 1440 px
def share_change(key: str) -> str | None:
    return comparison.share_delta(headline[key], before[key]) if before else None


p50, p75, p95, samples = st.columns(4)
p50.metric("p50", vitals.format_value(vital, headline["p50"]), border=True)
p75.metric("p75", vitals.format_value(vital, headline["p75"]), border=True, delta_color="inverse",
           delta=None if p75_change is None else ui.vital_delta(vital, p75_change),
           help="The value Google assesses a page by: 3 in 4 measurements are at most this. " + (
               ui.ESTIMATED_CHANGE_HELP if estimated_change else
               "The change is exact: the difference of both periods' exact 75th percentiles over the raw measurements."))
ui.rating_badge(p75, headline["rating"])
p95.metric("p95", vitals.format_value(vital, headline["p95"]), border=True)
samples.metric("Measurements", ui.count(headline["samples"]), border=True,
               delta=comparison.count_delta(headline["samples"], before["samples"]) if before else None)
good, improve, poor, _ = st.columns(4)
good.metric("Good", ui.percent(headline["good"]), border=True, delta=share_change("good"))
improve.metric("Needs improvement", ui.percent(headline["needs_improvement"]), border=True,
               delta=share_change("needs_improvement"), delta_color="inverse")
poor.metric("Poor", ui.percent(headline["poor"]), border=True, delta=share_change("poor"), delta_color="inverse")
if selection.compare and p75_change is not None and estimated_change:
    st.caption("≈ p75 change: over ranges longer than 24 hours, the difference of both periods' p75 from the hourly "
               "histograms (each within 1 %).")
elif selection.compare and before is not None and p75_change is None:
    st.caption(f"No p75 change: it is exact over the raw measurements, which are kept {comparison.raw_days()} days "
               "(`VIGIL_RETENTION_DAYS`), and the previous period starts before that.")

# ── over time ────────────────────────────────────────────────────────────────────────────
st.subheader("Percentiles over time")
figure = go.Figure()
for name, dash in (("p95", "dot"), ("p75", "solid"), ("p50", "dash")):
    figure.add_trace(go.Scatter(x=trend["time"].to_list(), y=trend[name].to_list(), name=name, mode="lines+markers",
                                line={"dash": dash, "width": 3 if name == "p75" else 1.5}))
if trend_before is not None:
    comparison.previous_line(figure, trend_before, "time", "p75", filters.span, "p75")
ui.threshold_bands(figure, vital, float(trend["p95"].max() or threshold.poor))
figure.update_xaxes(range=[filters.start, filters.end])
figure.update_yaxes(title=None if unitless else "ms", rangemode="tozero")
ui.chart(ui.compact(figure), "vital_trend")

# ── distribution ─────────────────────────────────────────────────────────────────────────
st.subheader("Distribution")
cumulative = histogram.sort("value")["samples"].cum_sum()
cap_at = int(np.searchsorted(cumulative.to_numpy(), 0.99 * cumulative[-1]))
cap = float(histogram.sort("value")["value"][cap_at]) or float(histogram["value"].max()) or 1.0
width = cap / HISTOGRAM_BARS
bars = (histogram.with_columns((pl.col("value") / width).floor().clip(upper_bound=HISTOGRAM_BARS - 1).alias("bar"))
        .group_by("bar", "rating").agg(pl.col("samples").sum())
        .with_columns(((pl.col("bar") + 0.5) * width).alias("at"),
                      # rows stored without a rating (written by hand, not by the processor) are shown, not fatal
                      pl.col("rating").replace_strict(ui.RATING_LABELS, default="Not rated").alias("rated")))
figure = px.bar(bars, x="at", y="samples", color="rated", color_discrete_map={
    ui.RATING_LABELS[r]: ui.RATING_COLOURS[r] for r in vitals.RATINGS},
    category_orders={"rated": [*(ui.RATING_LABELS[r] for r in vitals.RATINGS), "Not rated"]})
figure.update_layout(bargap=0.05, xaxis_title=("score" if unitless else "ms") + f" (the last bar: ≥ {vitals.format_value(vital, cap - width)})",
                     yaxis_title="measurements")
ui.chart(ui.compact(figure, 280), "vital_histogram")

# ── breakdowns ───────────────────────────────────────────────────────────────────────────
RATED_COLUMNS = {
    "samples": st.column_config.NumberColumn("Measurements", format="localized"),
    "p50": st.column_config.NumberColumn("p50", format=unit_format),
    "p75": st.column_config.NumberColumn("p75", format=unit_format),
    "p95": st.column_config.NumberColumn("p95", format=unit_format),
    "rating": st.column_config.TextColumn("p75 rating"),
    "good": ui.share_column("Good"),
    "needs_improvement": ui.share_column("Needs improvement"),
    "poor": ui.share_column("Poor"),
}


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.when(pl.col("value") == "").then(pl.lit("(unknown)")).otherwise(pl.col("value"))
                              .alias("value"))


st.subheader("Breakdown")
by = st.segmented_control("By", list(BREAKDOWNS), default="Route", required=True, key="breakdown",
                          bind="query-params")
dimension = BREAKDOWNS[by]
with view_filters.warehouse_errors():
    routes = queries.vital_breakdown(client, filters, vital, "route", limit=500)
    breakdown = routes.head(50) if dimension == "route" else queries.vital_breakdown(client, filters, vital, dimension)
ui.table(labelled(breakdown), "vital_breakdown", {"value": st.column_config.TextColumn(by), **RATED_COLUMNS})

st.subheader("Worst routes")
worst = (routes.filter(pl.col("samples") >= WORST_ROUTES_MIN_SAMPLES)
         .sort(["p75", "value"], descending=[True, False]).head(10))
if worst.is_empty():
    ui.no_data(f"routes with {WORST_ROUTES_MIN_SAMPLES}+ measurements")
else:
    ui.table(worst, "worst_routes", {"value": st.column_config.TextColumn("Route"), **RATED_COLUMNS})
    st.caption(f"The routes with the highest p75, among those with at least {WORST_ROUTES_MIN_SAMPLES} measurements.")

# ── one drill-down at a time (sealed hours and the raw rest, percentiles within 1 %): each sums a range's hours ──
details = st.segmented_control("Details", DETAILS, default="Attribution" if vital in ("LCP", "INP") else
                               "Navigation timing", required=True, key="details", bind="query-params")
if details == "Attribution" and vital not in ("LCP", "INP"):
    st.caption("The SDK attributes LCP (the element painted) and INP (the element interacted with); pick one "
               "of them for this view.")
raw = comparison.detail_part(filters, details, DETAIL_FAMILY[details])
if raw is not None and details == "Attribution" and vital in ("LCP", "INP"):
    st.subheader("LCP element" if vital == "LCP" else "INP target")
    with view_filters.warehouse_errors():
        blamed = queries.vital_attribution(client, raw, vital)
    blamed = blamed.with_columns(pl.when(pl.col("target") == "").then(pl.lit("(not attributed)"))
                                 .otherwise(pl.col("target")).alias("target"))
    ui.table(blamed, "vital_attribution", {
        "target": st.column_config.TextColumn("Element (CSS selector)" if vital == "LCP" else "Interaction target"),
        "samples": st.column_config.NumberColumn("Measurements", format="localized"),
        "p75": st.column_config.NumberColumn("p75", format=unit_format),
        "rating": st.column_config.TextColumn("p75 rating"),
    })

if raw is not None and details == "Navigation timing":
    st.subheader("Navigation timing")
    with view_filters.warehouse_errors():
        timing = queries.navigation_timing(client, raw)
    if timing.is_empty():
        ui.no_data("page loads with a timing breakdown")
    else:
        figure = go.Figure(go.Bar(y=timing["phase"].to_list(), x=timing["mean"].to_list(),
                                  base=timing["offset"].to_list(), orientation="h", marker_color="#4C78A8",
                                  hovertemplate="%{y}: %{x:.0f} ms from %{base:.0f} ms<extra></extra>"))
        figure.update_yaxes(autorange="reversed")
        figure.update_xaxes(title="ms since navigation start (mean page load)")
        ui.chart(ui.compact(figure, 300), "navigation_waterfall")
if raw is not None and details == "Slowest resources":
    st.subheader("Slowest resources")
    with view_filters.warehouse_errors():
        resources = queries.slowest_resources(client, raw, limit=15, min_loads=3)
    if resources.is_empty():
        ui.no_data("resources loaded 3+ times")
    else:
        ui.table(resources, "slowest_resources", {
            "resource": st.column_config.TextColumn("Resource", width="large"),
            "initiator": st.column_config.TextColumn("Type"),
            "loads": st.column_config.NumberColumn("Loads", format="localized"),
            "p50": st.column_config.NumberColumn("p50", format="%.0f ms"),
            "p75": st.column_config.NumberColumn("p75", format="%.0f ms"),
            "transfer_size": st.column_config.NumberColumn("Size", format="bytes"),
        })
