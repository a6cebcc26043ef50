"""What a notebook looks at: :func:`open_project` turns the parameters cell's project and range
into a warehouse client and the query layer's :class:`~pipeline.queries.filters.Filters`.

The curated notebooks (``notebooks/``, ``vigil notebooks``) start with it; every question
after that goes through :mod:`pipeline.queries`, like the dashboards'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from clickhouse_connect.driver import Client

from pipeline import settings as settings_module
from pipeline.queries.filters import Filters
from pipeline.settings import redacted

# bucket widths (minutes) a notebook's time series may use; the narrowest giving ≤ MAX_BUCKETS bars
BUCKET_MINUTES = (1, 5, 15, 60, 360, 1440)
MAX_BUCKETS = 200


@dataclass(frozen=True)
class ProjectView:
    """What a notebook looks at: a warehouse client, the project and the time range as ``filters``."""

    client: Client
    project_id: int
    project: str
    filters: Filters

    @property
    def bucket_minutes(self) -> int:
        """A bar width for time series over the range: at most :data:`MAX_BUCKETS` bars."""
        minutes = self.filters.span / timedelta(minutes=1)
        return next((width for width in BUCKET_MINUTES if minutes / width <= MAX_BUCKETS), BUCKET_MINUTES[-1])

    def __repr__(self) -> str:
        return (f"{self.project} (project #{self.project_id}): {self.filters.start:%Y-%m-%d %H:%M} → "
                f"{self.filters.end:%Y-%m-%d %H:%M} UTC ({self.filters.span / timedelta(days=1):g} days)")


def open_project(project: str | int = "demo", days: float = 7.0, end: str | datetime | None = None,
                 **dimensions: str) -> ProjectView:
    """Connect to the warehouse and look at ``project`` (name or id) over the ``days`` before ``end``
    (an ISO 8601 time or datetime, UTC if no zone; default: the end of the current minute),
    optionally narrowed by dimensions (``environment=``, ``release=``, ``route=``, ``device=``, …)."""
    from pipeline.warehouse.projects import list_projects
    from pipeline.warehouse.client import connect_reader

    client = connect_reader()
    known = list_projects(client)
    match = next((p for p in known if p.name == str(project) or str(p.id) == str(project)), None)
    if match is None:
        names = ", ".join(f"{p.name} (#{p.id})" for p in known) or "none yet — run `vigil up` or `vigil simulate`"
        warehouse = redacted(settings_module.load().clickhouse_url)
        raise ValueError(f"no project {project!r} in the warehouse at {warehouse}; "
                         f"the projects are: {names}. Set PROJECT in the parameters cell.")
    if end is None:
        until = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    else:
        until = datetime.fromisoformat(end) if isinstance(end, str) else end
        until = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
    if days <= 0:
        raise ValueError(f"DAYS must be positive, got {days}")
    return ProjectView(client, match.id, match.name, Filters(match.id, until - timedelta(days=days), until,
                                                             **dimensions))
