"""Errors: what breaks, for how many people, since when — and one group in depth.

The error groups of the range with a sparkline, events, visitors, first and last seen and
status; pick one (kept in the URL as ``?group=<id>``) to see its stack trace (every exception
of a chain, in Sentry's order), the breadcrumbs that led to it, how it spreads over browsers,
OSes, releases and routes (a backend's errors: servers, releases, routes and transactions),
its platform, level, logger, server and transaction, and its latest events — and to resolve,
ignore or reopen it. Below: failing API calls by endpoint and status,
with latency percentiles. Everything from event data is shown as plain text. A group's detail
reads raw events: on ranges older than their retention it covers its days only, and says so.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import polars as pl
import streamlit as st

import comparison
import ui
import view_filters
from pipeline import queries
from pipeline.queries import dashboard_state

# the status picker's options (also its URL values, ?status=Resolved) → the query's status
STATUSES = {"All": "", "Unresolved": "unresolved", "Regressed": "regressed", "Resolved": "resolved",
            "Ignored": "ignored"}
STATUS_LABELS = {status: label for label, status in STATUSES.items() if status}
TAGS = (("browser", "Browser"), ("os", "OS"), ("release", "Release"), ("route", "Route"))
BACKEND_TAGS = (("server", "Server"), ("release", "Release"), ("route", "Route"), ("transaction", "Transaction"))
BACKEND_KIND = "backend"  # a server's error (contract/sentry_errors.py): no browser, OS or device
# how an exception of a chain hangs on the next one (Sentry's mechanism.source), as Python says it
LINKS = {"__cause__": "The above exception was the direct cause of the following exception:",
         "__context__": "During handling of the above exception, another exception occurred:"}
DETAILS = (("platform", "Platform"), ("level", "Level"), ("logger", "Logger"), ("server_name", "Server"),
           ("transaction", "Transaction"), ("runtime", "Runtime"), ("os", "OS"))
GROUP_KEY = "group"
GROUP_ID = re.compile(r"[0-9a-f]{1,16}", re.IGNORECASE)  # a fingerprint (UInt64) in hex

selection = view_filters.current()
assert selection is not None
filters = selection.filters()
client = view_filters.warehouse()

st.title("Errors")
view_filters.check_choice("status", STATUSES, "an error status")
if not GROUP_ID.fullmatch(st.query_params.get(GROUP_KEY) or "0"):
    view_filters.refuse_parameter(GROUP_KEY, "an error group id (up to 16 hex digits, as in the Group id column)")
status = st.segmented_control("Status", list(STATUSES), default="All", required=True, key="status",
                              bind="query-params")
with view_filters.warehouse_errors():
    groups = queries.error_groups(client, filters, bucket_minutes=selection.bucket_minutes, status=STATUSES[status])


def title(row: dict[str, Any]) -> str:
    """A group as one line of plain text: ``TypeError: Cannot read …``."""
    kind = row["error_type"] or row["kind"]
    return f"{kind}: {row['message']}"


if groups.is_empty():
    ui.no_data("errors")
else:
    shown = groups.with_columns(
        pl.struct("error_type", "kind", "message").map_elements(title, return_dtype=pl.String).alias("error"))
    ui.table(shown.select("error", "trend", "events", "visitors", "first_seen", "last_seen", "status", "error_group"),
             "error_groups", {
                 "error": st.column_config.TextColumn("Error", width="large"),
                 "trend": st.column_config.BarChartColumn(f"Events per {selection.bucket_minutes} min", y_min=0),
                 "events": st.column_config.NumberColumn("Events", format="localized"),
                 "visitors": st.column_config.NumberColumn("Visitors", format="localized"),
                 "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD HH:mm"),
                 "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
                 "status": st.column_config.TextColumn("Status"),
                 "error_group": st.column_config.TextColumn("Group id"),
             })

# ── one group ────────────────────────────────────────────────────────────────────────────
# the picked group is kept in the URL by its id (?group=…), so a group can be shared as a link
labels = {row["error_group"]: f"{title(row)} · {row['events']:,} events" for row in groups.iter_rows(named=True)}
requested = st.query_params.get(GROUP_KEY, "")
options = list(labels) + ([requested] if requested and requested not in labels else [])
chosen = st.selectbox("Error group", options, index=options.index(requested) if requested else None,
                      key="error_group_picker", format_func=lambda group: labels.get(group, group),
                      placeholder="Pick a group to see its stack trace, breadcrumbs and events")
if chosen:
    st.query_params[GROUP_KEY] = chosen
elif GROUP_KEY in st.query_params:
    del st.query_params[GROUP_KEY]


def minified_position(frame: dict[str, Any]) -> str:
    """A symbolicated frame's position as the browser reported it (``raw_*``): ``n app.min.js:1:41``."""
    if "raw_filename" not in frame:
        return ""
    return (f"{frame.get('raw_function') or '?'} {frame['raw_filename']}:"
            f"{frame.get('raw_lineno', '')}:{frame.get('raw_colno', '')}")


def frames_table(raw_frames: list[Any], key: str) -> bool:
    """One exception's frames (innermost call first) as a table; whether any was symbolicated."""
    usable = [frame for frame in raw_frames if type(frame) is dict]
    symbolicated = any("raw_filename" in frame for frame in usable)
    frames = pl.DataFrame([{**frame, "minified": minified_position(frame)} for frame in usable], schema={
        "function": pl.String, "filename": pl.String, "lineno": pl.Int64, "colno": pl.Int64, "in_app": pl.Boolean,
        "minified": pl.String}, strict=False)
    if frames.height:
        shown = ["function", "filename", "lineno", "colno", "in_app"] + (["minified"] if symbolicated else [])
        ui.table(frames.select(shown), key, {
            "function": st.column_config.TextColumn("Function"),
            "filename": st.column_config.TextColumn("File", width="large"),
            "lineno": st.column_config.NumberColumn("Line"), "colno": st.column_config.NumberColumn("Column"),
            "in_app": st.column_config.CheckboxColumn("In app"),
            "minified": st.column_config.TextColumn("Minified (as reported)"),
        })
    return symbolicated


def details(event: dict[str, Any], data: dict[str, Any]) -> str:
    """The event's platform, level, logger, server, transaction, runtime and OS as one line of text."""
    values = {**{name: data.get(name) for name, _ in DETAILS}, **{name: event.get(name) for name, _ in DETAILS[:5]}}
    return " · ".join(f"{label}: {values[name]}" for name, label in DETAILS if values.get(name))


def show_chain(exceptions: list[Any]) -> bool:
    """Every exception of a chain in Sentry's order — the first cause first, the thrown one last —
    each as ``Type: message`` and its frames, with how it led to the next (as Python prints it)
    or, in an exception group, which group holds it (``exceptions[1] of #0``); whether any
    frame was symbolicated."""
    chain = [exception for exception in exceptions if type(exception) is dict]
    symbolicated = False
    for number, exception in enumerate(chain):
        mechanism = exception.get("mechanism") or {}
        previous = (chain[number - 1].get("mechanism") or {}) if number else {}
        if number and "parent_id" not in previous:
            st.caption(LINKS.get(previous.get("source")) or "The above exception led to the following one:")
        label = f"#{mechanism['exception_id']} " if "exception_id" in mechanism else ""
        st.text(f"{label}{exception.get('type') or 'Error'}: {exception.get('message') or ''}")
        if "parent_id" in mechanism:
            st.caption(f"{mechanism.get('source') or 'linked'} of #{mechanism['parent_id']}")
        symbolicated = frames_table(exception.get("frames") or [], f"error_chain_{number}") or symbolicated
    return symbolicated


def show_group(group: str) -> None:
    fingerprint = int(group, 16)
    raw = comparison.raw_part(filters, "This group's stack trace, spread and events")
    if raw is None:
        return
    with view_filters.warehouse_errors():
        events = queries.error_events(client, raw, fingerprint, limit=20)
        tags = queries.error_tags(client, raw, fingerprint)
    if events.is_empty():
        ui.no_data("events of this group")
        return
    latest = events.row(0, named=True)
    st.text(title({"error_type": latest["error_type"], "kind": latest["kind"], "message": latest["message"]}))
    backend = latest["kind"] == BACKEND_KIND
    row = groups.filter(pl.col("error_group") == group)
    current = row["status"][0] if row.height else "unresolved"
    st.caption(f"Status: {STATUS_LABELS.get(current, current)}")
    resolve, ignore, reopen, _ = st.columns([1, 1, 1, 5])
    by = str(st.session_state.get("vigil_user") or "")
    for column, action, label, icon in ((resolve, "resolved", "Resolve", ":material/check:"),
                                        (ignore, "ignored", "Ignore", ":material/notifications_off:"),
                                        (reopen, "unresolved", "Reopen", ":material/undo:")):
        if column.button(label, icon=icon, key=f"status_{action}", disabled=current == action):
            dashboard_state.set_error_group_status(client, selection.project_id, fingerprint, action, by=by)
            st.rerun()

    samples = events.with_columns(pl.col("timestamp").alias("time"))
    picked = st.selectbox("Event", list(range(samples.height)), key="error_event",
                          format_func=lambda i: f"{samples['time'][i]:%Y-%m-%d %H:%M:%S} · {samples['release'][i]} · "
                                                + (f"{samples['server_name'][i]} · {samples['transaction'][i]}" if backend
                                                   else f"{samples['browser'][i]} {samples['browser_version'][i]} · "
                                                        f"{samples['os'][i]}") + f" · {samples['path'][i]}")
    event = samples.row(picked, named=True)
    data = orjson.loads(event["data"])
    st.text(details(event, data))

    stack_column, crumbs_column = st.columns(2)
    with stack_column:
        st.subheader("Stack trace")
        raw_frames = [frame for frame in data.get("frames") or [] if type(frame) is dict]
        chain = data.get("exceptions") if type(data.get("exceptions")) is list else []
        if chain:
            st.caption(f"{len(chain)} exceptions, chained: the first cause first, the one raised last (Sentry's order)")
            symbolicated = show_chain(chain)
        else:
            symbolicated = frames_table(raw_frames, "error_frames")
        if raw_frames and not backend:
            st.caption("Original positions from the release's source maps; the minified ones as the browser reported "
                       "them." if symbolicated else "Frames as the browser reported them. Upload the release's "
                       "source maps (`vigil sourcemaps upload`, docs/errors.md) to see original files and functions.")
        if data.get("stack"):
            st.code(data["stack"], language=None)
        elif data.get("request"):
            st.code(orjson.dumps(data["request"], option=orjson.OPT_INDENT_2).decode(), language="json")
        elif not raw_frames:
            st.caption("This error carries no stack (e.g. a failed resource or request).")
    with crumbs_column:
        st.subheader("Breadcrumbs")
        crumbs = pl.DataFrame(data.get("breadcrumbs") or [], schema={
            "timestamp": pl.String, "category": pl.String, "level": pl.String, "message": pl.String}, strict=False)
        if crumbs.height:
            ui.table(crumbs.select("timestamp", "category", "level", "message"), "error_breadcrumbs", {
                "timestamp": st.column_config.TextColumn("Time"), "category": st.column_config.TextColumn("Category"),
                "level": st.column_config.TextColumn("Level"), "message": st.column_config.TextColumn("What", width="large"),
            })
        else:
            st.caption("No breadcrumbs were recorded before this error.")

    st.subheader("Where it happens")
    shown_tags = BACKEND_TAGS if backend else TAGS
    for column, (tag, label) in zip(st.columns(len(shown_tags)), shown_tags):
        with column:
            spread = tags.filter(pl.col("tag") == tag).select("value", "events", "share").with_columns(
                pl.when(pl.col("value") == "").then(pl.lit("(unknown)")).otherwise(pl.col("value")).alias("value"))
            ui.table(spread, f"error_tags_{tag}", {"value": st.column_config.TextColumn(label),
                                                   "events": st.column_config.NumberColumn("Events"),
                                                   "share": ui.share_column("Share")})

    st.subheader("Latest events")
    where = ["server_name", "transaction"] if backend else ["browser", "os", "device", "country"]
    ui.table(events.select("timestamp", "platform", "level", "release", *where, "path", "url", "session_id"),
             "error_events", {
                 "timestamp": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss"),
                 "url": st.column_config.TextColumn("URL", width="large"),
             })


if chosen:
    show_group(chosen)

# ── API failures ─────────────────────────────────────────────────────────────────────────
st.header("API calls")
with view_filters.warehouse_errors():
    endpoints = queries.api_endpoints(client, filters)
    failures = queries.api_failures(client, filters)
if endpoints.is_empty():
    ui.no_data("API calls")
else:
    ui.table(endpoints, "api_endpoints", {
        "method": st.column_config.TextColumn("Method"),
        "endpoint": st.column_config.TextColumn("Endpoint", width="large"),
        "calls": st.column_config.NumberColumn("Calls", format="localized"),
        "failures": st.column_config.NumberColumn("Failures", format="localized"),
        "failure_rate": ui.share_column("Failure rate"),
        "p50": st.column_config.NumberColumn("p50", format="%.0f ms"),
        "p75": st.column_config.NumberColumn("p75", format="%.0f ms"),
        "p95": st.column_config.NumberColumn("p95", format="%.0f ms"),
    })
    st.subheader("Failures by endpoint and status")
    if failures.is_empty():
        ui.no_data("failed API calls")
    else:
        ui.table(failures, "api_failures", {
            "endpoint": st.column_config.TextColumn("Endpoint", width="large"),
            "status": st.column_config.NumberColumn("Status", help="0: no response (network error, timeout, abort)"),
            "failure": st.column_config.TextColumn("Failure"),
            "calls": st.column_config.NumberColumn("Calls", format="localized"),
        })
