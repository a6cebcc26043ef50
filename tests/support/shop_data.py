"""Warehouse rows of the simulated shop, made the way production makes them.

Sessions from ``pipeline.simulation`` go through the collector's ``envelope.split`` (context
merge, contract validation, stamps), the processor's enrichment ``steps.run`` (user agent →
browser/OS/device, path, …) and its ``rows.event_row`` — the real code, in-process, without
Kafka. Without a GeoIP database ``country`` would be empty, so each visitor is given one the
way a GeoIP lookup would (some stay unknown); ``connection_type``, which the processor does not
fill, is added as its migration's default would derive it.

:func:`shop_events` returns the rows to insert and :func:`truth_frame` the same events as a
polars frame for computing ground truth independently of ClickHouse.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson
import polars as pl
from clickhouse_connect.driver import Client

from pipeline.simulation import shop_catalog, shop_sessions
from pipeline.collector import envelope
from pipeline.processor import rows as processor_rows
from pipeline.processor import steps

COLUMNS: tuple[str, ...] = processor_rows.COLUMNS + ("connection_type",)
# a GeoIP lookup's answer per visitor; "" = no match (shown as unknown)
COUNTRIES = (("DE", 0.28), ("US", 0.2), ("FR", 0.12), ("GB", 0.1), ("NL", 0.07), ("ES", 0.06), ("PL", 0.05),
             ("", 0.12))
CONNECTIONS = (("4g", 0.78), ("3g", 0.12), ("", 0.10))
CLIENT_IP = "203.0.113.7"


@dataclass(frozen=True)
class ShopData:
    rows: list[tuple]  # one per event, in COLUMNS order
    sessions: list[shop_sessions.Session]


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


def shop_events(project_id: int, sessions: int, seed: int, start: datetime, span: timedelta,
                incident_share: float = 0.2) -> ShopData:
    """``sessions`` simulated visits starting uniformly in ``[start, start + span)`` (events may run
    a few minutes past it), as ``events`` rows."""
    rng = random.Random(seed)
    pool = shop_catalog.VisitorPool(rng)
    countries: dict[str, str] = {}
    rows: list[tuple] = []
    made: list[shop_sessions.Session] = []
    for _ in range(sessions):
        at = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
        session = shop_sessions.generate_session(rng, at, visitor=pool.next_visitor(),
                                             incident=rng.random() < incident_share)
        pool.remember(session.visitor)
        made.append(session)
        visitor_id = session.visitor.visitor_id
        country = countries.setdefault(visitor_id, _pick(rng, COUNTRIES))
        connection = _pick(rng, CONNECTIONS)
        for batch in session.batches:
            split = envelope.split(batch.envelope, project_id, {"ip": CLIENT_IP, "user_agent": batch.user_agent},
                                   now=batch.at)
            assert not split.rejected, split.rejected
            for _key, message in split.messages:
                event = steps.run(message)
                assert not isinstance(event, steps.Dropped), event
                event["country"] = country
                row = processor_rows.event_row(event)
                assert not isinstance(row, steps.Dropped), row
                rows.append(row + (connection,))
    return ShopData(rows, made)


def vital_rows(project_id: int, at: datetime, measurements: list[tuple[str, float]]) -> list[tuple]:
    """One ``web_vital`` row per ``(name, value)``, sent without a rating (as a Sentry SDK sends
    them) and made as :func:`shop_events` makes its rows, so the rating is the processor's."""
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    events = [{"event_id": f"vital_{index:06d}", "type": "web_vital", "timestamp": stamp,
               "data": {"name": name, "value": value}} for index, (name, value) in enumerate(measurements)]
    doc = {"version": 1, "sdk": {"name": "vigil-browser", "version": "0.1.0"},
           "context": {"session_id": "s_vital_rows", "visitor_id": "v_vital_rows",
                       "page": {"url": "https://shop.example.com/"}},
           "events": events}
    split = envelope.split(doc, project_id, {"ip": CLIENT_IP, "user_agent": "Mozilla/5.0"}, now=at)
    assert not split.rejected, split.rejected
    made = []
    for _key, message in split.messages:
        event = steps.run(message)
        assert not isinstance(event, steps.Dropped), event
        row = processor_rows.event_row(event)
        assert not isinstance(row, steps.Dropped), row
        made.append(row + ("",))
    return made


def insert(client: Client, rows: list[tuple], chunk: int = 20_000) -> None:
    """Insert rows as the processor's sink does (named columns, batches)."""
    for offset in range(0, len(rows), chunk):
        client.insert("events", rows[offset:offset + chunk], column_names=list(COLUMNS))


def truth_frame(rows: list[tuple]) -> pl.DataFrame:
    """The events as polars, one row per distinct event id, with ClickHouse's names and types for
    what ground truth needs (``timestamp`` as UTC datetime; ``data`` parsed lazily by callers)."""
    wanted = ("project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "user_id", "release",
              "environment", "url", "path", "referrer", "referrer_source", "browser", "os", "device", "vital_name", "vital_value",
              "error_kind", "error_type", "error_message", "duration_ms", "http_method", "http_url", "http_status",
              "target", "name", "data", "country", "connection_type")
    wanted += ("fingerprint",) if "fingerprint" in COLUMNS else ()  # once the processor computes them
    index = [COLUMNS.index(name) for name in wanted]
    frame = pl.DataFrame([[row[i] for i in index] for row in rows], schema=list(wanted), orient="row",
                         infer_schema_length=None)
    return (frame.with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC"),
                               pl.col("data").map_elements(bytes.decode, return_dtype=pl.String)
                               if frame.schema["data"] == pl.Binary else pl.col("data"))
            .unique("event_id", keep="first", maintain_order=True))


def data_of(text: str) -> dict:
    return orjson.loads(text)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
