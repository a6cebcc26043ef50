"""Data quality: can the numbers on the other pages be trusted?

Expectation pass rates over time per suite and expectation (the Great Expectations suites in
``expectations/``, run by the processor on samples of what it writes and by ``vigil quality
report``), the rate of each over the range, the latest failing examples with their offending
values, dead-letter (DLQ) volume by reason, what the collector refused (by project, transport and
reason: refused input never reaches Kafka, so it is not in the DLQ), and the GX Data Docs that ``vigil quality report``
builds. Quality is the pipeline's, not one project's: the sidebar's time range applies, its
project and dimension filters do not.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import plotly.express as px
import polars as pl
import streamlit as st

import ui
import view_filters
from pipeline import queries, settings

selection = view_filters.current()
assert selection is not None
filters = selection.filters()
start, end = filters.start, filters.end
bucket = max(selection.bucket_minutes, 5)  # checks run every few seconds at most: finer bars are noise
client = view_filters.warehouse()

st.title("Data quality")
st.caption(f"{selection.time_range.label} · all projects · pass rates per {bucket} min · times in UTC")

with view_filters.warehouse_errors():
    rates = queries.quality_pass_rates(client, start, end, bucket_minutes=bucket)
    failures = queries.quality_failures(client, start, end, limit=50)
    drops = queries.dead_letters_by_reason(client, start, end, bucket_minutes=bucket)
    refusals = queries.refusals_by_reason(client, start, end, bucket_minutes=bucket)

per_expectation = (rates.group_by("suite", "expectation")
                   .agg(pl.col("checks").sum(), pl.col("passed").sum(), pl.col("unexpected").sum(),
                        pl.col("elements").sum(), pl.col("bucket").max().alias("last_checked"))
                   .with_columns((pl.col("passed") / pl.col("checks")).alias("pass_rate"))
                   .sort(["pass_rate", "suite", "expectation"]))
checks, passed = int(per_expectation["checks"].sum() or 0), int(per_expectation["passed"].sum() or 0)

checked_column, rate_column, failing_column, dropped_column, refused_column = st.columns(5)
checked_column.metric("Expectations checked", f"{checks:,}", border=True,
                      help="Each expectation once per checked batch.")
rate_column.metric("Pass rate", ui.percent(passed / checks if checks else None), border=True)
failing_column.metric("Failing expectations", f"{per_expectation.filter(pl.col('pass_rate') < 1).height:,}",
                      border=True, help="Expectations that failed at least once in the range.")
dropped_column.metric("Dead letters", f"{int(drops['drops'].sum() or 0):,}", border=True,
                      help="Events the pipeline refused, each with its reason.")
refused_requests = int(refusals.filter(pl.col("unit") == "request")["refusals"].sum() or 0)
refused_column.metric("Refused requests", f"{refused_requests:,}", border=True,
                      help="Requests the collector answered with a 4xx/5xx refusal. Events refused one by one "
                           "inside a batch are counted below.")

# ── pass rates ───────────────────────────────────────────────────────────────────────────
st.subheader("Expectation pass rates")
if rates.is_empty():
    st.info("No quality checks in this range. The processor checks samples of what it writes "
            "(VIGIL_QUALITY_INTERVAL); `vigil quality report` checks recent data on demand.",
            icon=":material/hourglass_empty:")
else:
    # one row per suite · expectation, one column per time bucket: a failing check is a red cell
    grid = (rates.with_columns((pl.col("suite") + " · " + pl.col("expectation")).alias("check"))
            .pivot(on="bucket", index="check", values="pass_rate", sort_columns=True).sort("check"))
    buckets = grid.columns[1:]
    figure = px.imshow(grid.drop("check").to_numpy(), x=[datetime.fromisoformat(str(b)) for b in buckets],
                       y=grid["check"].to_list(), zmin=0, zmax=1, aspect="auto",
                       color_continuous_scale=[(0, "#FF4E42"), (0.9, "#FFA400"), (1, "#0CCE6B")],
                       labels={"color": "pass rate", "x": "", "y": ""})
    figure.update_layout(coloraxis_colorbar={"tickformat": ".0%", "title": ""})
    ui.chart(ui.compact(figure, height=max(220, 26 * grid.height + 60)), "quality_pass_rates")
    ui.table(per_expectation.select("suite", "expectation", "pass_rate", "checks", "passed", "unexpected",
                                    "elements", "last_checked"), "quality_expectations", {
        "suite": st.column_config.TextColumn("Suite"),
        "expectation": st.column_config.TextColumn("Expectation"),
        "pass_rate": ui.share_column("Pass rate", help="Checked batches in which the expectation held."),
        "checks": st.column_config.NumberColumn("Checks", format="localized"),
        "passed": st.column_config.NumberColumn("Passed", format="localized"),
        "unexpected": st.column_config.NumberColumn("Unexpected values", format="localized"),
        "elements": st.column_config.NumberColumn("Values checked", format="localized"),
        "last_checked": st.column_config.DatetimeColumn("Last checked", format="YYYY-MM-DD HH:mm"),
    })

# ── failing examples ─────────────────────────────────────────────────────────────────────
st.subheader("Latest failing examples")
if failures.is_empty():
    st.success("Every expectation checked in this range held.", icon=":material/verified:")
else:
    ui.table(failures.select("run_at", "suite", "expectation", "column", "unexpected_count", "unexpected_percent",
                             "unexpected_sample", "observed_value", "source"), "quality_failures", {
        "run_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
        "suite": st.column_config.TextColumn("Suite"), "expectation": st.column_config.TextColumn("Expectation"),
        "column": st.column_config.TextColumn("Column"),
        "unexpected_count": st.column_config.NumberColumn("Unexpected", format="localized"),
        "unexpected_percent": st.column_config.NumberColumn("Unexpected %", format="%.2f %%"),
        "unexpected_sample": st.column_config.TextColumn("Offending values (sample)", width="large"),
        "observed_value": st.column_config.TextColumn("Observed"),
        "source": st.column_config.TextColumn("Checked by"),
    })

# ── dead letters ─────────────────────────────────────────────────────────────────────────
st.subheader("Dead letters by reason")
if drops.is_empty():
    st.success("Nothing was refused in this range.", icon=":material/inbox:")
else:
    figure = px.bar(drops, x="bucket", y="drops", color="reason", hover_data=["step"])
    figure.update_layout(barmode="stack", xaxis_title=None, yaxis_title=f"drops per {bucket} min",
                         legend_title_text="")
    ui.chart(ui.compact(figure, height=300), "dead_letters")
    totals = (drops.group_by("reason", "step").agg(pl.col("drops").sum())
              .sort(["drops", "reason"], descending=[True, False]))
    ui.table(totals, "dead_letter_reasons", {
        "reason": st.column_config.TextColumn("Reason"), "step": st.column_config.TextColumn("Step"),
        "drops": st.column_config.NumberColumn("Drops", format="localized"),
    })

# ── refusals at the collector ────────────────────────────────────────────────────────────
st.subheader("Refused at the collector")
st.caption("Refused input never reaches Kafka, so it is not in the DLQ: each collector worker counts its refusals "
           "per minute and saves them every VIGIL_REFUSALS_FLUSH seconds (10 by default). A request is one "
           "refused whole (401, 403, 413, 429, …); an event is one refused inside a batch whose other events "
           "were taken. Project 0: the path named none.")
if refusals.is_empty():
    st.success("The collector refused nothing in this range.", icon=":material/task_alt:")
else:
    figure = px.bar(refusals, x="bucket", y="refusals", color="reason", pattern_shape="unit",
                    hover_data=["project_id", "transport", "unit"])
    figure.update_layout(barmode="stack", xaxis_title=None, yaxis_title=f"refusals per {bucket} min",
                         legend_title_text="")
    ui.chart(ui.compact(figure, height=300), "refusals")
    refusal_totals = (refusals.group_by("project_id", "project", "transport", "reason", "unit")
                      .agg(pl.col("refusals").sum())
                      .sort(["refusals", "project_id", "transport", "reason", "unit"],
                            descending=[True, False, False, False, False]))
    ui.table(refusal_totals, "refusal_reasons", {
        "project_id": st.column_config.NumberColumn("Project id", format="%d"),
        "project": st.column_config.TextColumn("Project", help="Empty: no such project (unknown_project) or none."),
        "transport": st.column_config.TextColumn("Transport"), "reason": st.column_config.TextColumn("Reason"),
        "unit": st.column_config.TextColumn("Refused", help="request: the whole request; event: one event in a batch."),
        "refusals": st.column_config.NumberColumn("Refusals", format="localized"),
    })

# ── Data Docs ────────────────────────────────────────────────────────────────────────────
st.subheader("Great Expectations Data Docs")
docs_dir = settings.load().data_dir / "data_docs"
index = docs_dir / "index.html"


@st.cache_data(show_spinner=False, max_entries=2)
def zipped(directory: str, built: float) -> bytes:
    """The Data Docs site as a zip (``built`` = its mtime: a rebuilt site is zipped again)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory))
    return buffer.getvalue()


if index.is_file():
    built = datetime.fromtimestamp(index.stat().st_mtime, timezone.utc)
    st.markdown(f"Built {built:%Y-%m-%d %H:%M} UTC by `vigil quality report`, at")
    st.code(str(index), language=None)
    st.download_button("Download the Data Docs (zip)", zipped(str(docs_dir), index.stat().st_mtime),
                       file_name=f"vigil-data-docs-{built:%Y%m%d-%H%M}.zip", mime="application/zip",
                       icon=":material/download:", key="data_docs_zip")
    st.caption("Open index.html from the path above on this machine, or unzip the download anywhere.")
else:
    st.info("No Data Docs yet: run `vigil quality report` (it checks the last 24 h of events and writes the "
            f"site to {docs_dir}).", icon=":material/description:")
