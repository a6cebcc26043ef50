"""The read model: the warehouse's questions, answered for the dashboards, notebooks and alerts.

Owns every statement that reads the warehouse (``sql/*.sql``, one file per answer, plain
ClickHouse SQL with ``{name:Type}`` parameters, loaded by name: :mod:`.statements`), the
:class:`Filters` a view passes (:mod:`.filters`), the one choice of rollup tier or raw table
(:func:`~.tiers.pick_source`), and the functions that run them and shape their answers
(:mod:`.audience`, :mod:`.performance`, :mod:`.api_calls`, :mod:`.visits`, :mod:`.triage`,
:mod:`.conversion`, :mod:`.health`). It may import the ``warehouse`` (the ClickHouse client, projects), the ``contract`` (the
vitals' thresholds, the name of a direct visit) and the settings; of the warehouse it writes only
the dashboards' own state (:mod:`.dashboard_state`). It is all the app sees of Vigil besides the
settings: the pages connect, read, and show thresholds through it (``queries.connect_reader``,
``queries.vitals``), and their users are :mod:`.dashboard_users`.

Every function takes a ``clickhouse-connect`` client and (most) a :class:`Filters` and returns a
polars DataFrame with a fixed schema — an empty answer has the same columns, so callers never
special-case "no data". Two kinds of source:

- **Raw events**, read with ``FINAL``, so an event the pipeline delivered twice (a retry, a
  replay after a crash) is counted once. Time bounds are exact to the millisecond and
  percentiles exact (``quantilesExactInclusive``, the same linear interpolation as polars'
  and numpy's default), so every answer can be checked against ground truth computed elsewhere.
- **Rollups** (``pipeline/warehouse/migrations/003_rollups.sql``, ``004_sessions.sql``, …):
  per-minute and per-hour aggregate states that materialized views keep as events arrive, for
  the dashboards' hot paths. They cover whole minutes (a range counts the minutes that start in
  it), count with idempotent sets of event-id hashes (a duplicate is counted once), and give
  percentiles from log-bucketed histograms within :data:`RELATIVE_ACCURACY` (1 %).
"""

from pipeline.contract import vitals  # the thresholds and formats a page shows beside the answers
from pipeline.queries.api_calls import api_call_totals, api_endpoints, api_failures
from pipeline.queries.audience import (events_by_type, events_per_minute, filter_options, projects, top_pages,
                                       traffic_summary, traffic_totals, traffic_trend)
from pipeline.queries.conversion import (FUNNEL_BREAKDOWNS, FUNNEL_UNITS, MAX_FUNNEL_STEPS, RETENTION_PERIODS,
                                         FunnelStep, funnel, funnel_sql, visitor_retention)
from pipeline.queries.filters import DIMENSION_NAMES, UNKNOWN_COUNTRY, Filters, like_pattern
from pipeline.queries.health import (dead_letters_by_reason, quality_failures, quality_pass_rates, quality_sample,
                                     refusals_by_reason)
from pipeline.queries.histograms import (GAMMA, PERCENTILES, RELATIVE_ACCURACY, ZERO_BUCKET, bucket_value,
                                         histogram_percentiles)
from pipeline.queries.notebook_views import ProjectView, open_project
from pipeline.queries.performance import (BREAKDOWNS, NAVIGATION_PHASES, navigation_timing, slowest_resources,
                                          vital_attribution, vital_breakdown, vital_histogram, vital_p75_change,
                                          vital_p75_change_estimated, vital_percentiles, vital_summary, vital_trend)
from pipeline.queries.statements import UTC_MS, sql
from pipeline.queries.tiers import ESTIMATED_PAST, SEALED_FROM, estimated, hourly, pick_source
from pipeline.queries.triage import (ERROR_STATUSES, error_events, error_group_summaries, error_groups,
                                     error_tags)
from pipeline.warehouse.client import WarehouseUnavailable, connect_reader  # how the pages connect
from pipeline.queries.visits import (campaigns, entry_pages, exit_pages, form_submits, session_breakdowns,
                                     session_summary, sources, time_on_page, top_clicks)

__all__ = [
    "ProjectView", "WarehouseUnavailable", "connect_reader", "open_project", "vitals",
    "BREAKDOWNS", "DIMENSION_NAMES", "ERROR_STATUSES", "ESTIMATED_PAST", "FUNNEL_BREAKDOWNS", "FUNNEL_UNITS",
    "GAMMA", "MAX_FUNNEL_STEPS", "NAVIGATION_PHASES", "PERCENTILES", "RELATIVE_ACCURACY", "RETENTION_PERIODS",
    "SEALED_FROM", "UNKNOWN_COUNTRY", "UTC_MS", "ZERO_BUCKET", "Filters", "FunnelStep",
    "api_call_totals", "api_endpoints", "api_failures", "bucket_value", "campaigns", "dead_letters_by_reason",
    "entry_pages", "error_events", "error_group_summaries", "error_groups", "error_tags", "events_by_type",
    "estimated", "events_per_minute", "exit_pages", "filter_options", "form_submits", "funnel", "funnel_sql",
    "histogram_percentiles", "hourly", "like_pattern", "navigation_timing", "pick_source", "projects",
    "quality_failures", "quality_pass_rates", "quality_sample", "refusals_by_reason", "session_breakdowns", "session_summary",
    "slowest_resources", "sources", "sql", "time_on_page", "top_clicks", "top_pages", "traffic_summary",
    "traffic_totals", "traffic_trend", "visitor_retention", "vital_attribution", "vital_breakdown",
    "vital_histogram", "vital_p75_change", "vital_p75_change_estimated", "vital_percentiles", "vital_summary",
    "vital_trend",
]
