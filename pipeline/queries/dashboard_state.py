"""What people save from the dashboards: funnels, and the status of error groups.

Both live in the warehouse (``migrations/005_dashboard_state.sql``) as versioned rows — a
save is one insert of a new version, the highest version wins — so every dashboard
process, the notebooks and the alerts see the same state without another database.

    from pipeline.queries import dashboard_state
    dashboard_state.save_funnel(client, 1, FunnelDefinition("Checkout", steps, window_minutes=60), by="ana")
    dashboard_state.saved_funnels(client, 1)                # name → FunnelDefinition
    dashboard_state.set_error_group_status(client, 1, fingerprint, "resolved", by="ana")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import orjson
from clickhouse_connect.driver import Client

from pipeline.queries import FUNNEL_UNITS, MAX_FUNNEL_STEPS, FunnelStep

# what a person can set; "unresolved" removes a resolution (a reopen), "regressed" is derived
SETTABLE_STATUSES = ("unresolved", "resolved", "ignored")


def _version() -> int:
    """A version that grows with each save (nanoseconds since the epoch)."""
    return time.time_ns()


# ── funnels ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FunnelDefinition:
    """A funnel as saved: its ``name``, ``steps``, the conversion window and the counting unit."""

    name: str
    steps: tuple[FunnelStep, ...] = field(default_factory=tuple)
    window_minutes: int = 60
    unit: str = "session"

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name:
            raise ValueError("a saved funnel needs a name")
        if len(name) > 200:
            raise ValueError("a funnel's name is at most 200 characters")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", tuple(self.steps))
        if not 2 <= len(self.steps) <= MAX_FUNNEL_STEPS:
            raise ValueError(f"a funnel has 2 to {MAX_FUNNEL_STEPS} steps, not {len(self.steps)}")
        if self.window_minutes < 1:
            raise ValueError("a funnel's conversion window is at least one minute")
        if self.unit not in FUNNEL_UNITS:
            raise ValueError(f"a funnel counts per {' or '.join(FUNNEL_UNITS)}, not {self.unit!r}")

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def to_json(self) -> str:
        return orjson.dumps({
            "steps": [{"kind": s.kind, "match": s.match, "property_name": s.property_name,
                       "property_value": s.property_value} for s in self.steps],
            "window_minutes": self.window_minutes, "unit": self.unit,
        }).decode()

    @classmethod
    def from_json(cls, name: str, text: str) -> FunnelDefinition:
        document = orjson.loads(text)
        steps = tuple(FunnelStep(**step) for step in document["steps"])
        return cls(name, steps, int(document["window_minutes"]), document["unit"])


_FUNNEL_COLUMNS = ["project_id", "name", "definition", "deleted", "updated_at", "updated_by", "version"]


def save_funnel(client: Client, project_id: int, funnel: FunnelDefinition, by: str = "") -> None:
    """Save ``funnel`` under its name in the project (replacing a funnel of that name)."""
    client.insert("funnels", [[project_id, funnel.name, funnel.to_json(), 0, datetime.now(timezone.utc), by,
                               _version()]], column_names=_FUNNEL_COLUMNS)


def delete_funnel(client: Client, project_id: int, name: str, by: str = "") -> None:
    """Delete the saved funnel ``name`` (a last version marked deleted)."""
    client.insert("funnels", [[project_id, name, "{}", 1, datetime.now(timezone.utc), by, _version()]],
                  column_names=_FUNNEL_COLUMNS)


SAVED_FUNNELS = """
SELECT name, definition
FROM funnels FINAL
WHERE project_id = {project_id:UInt32} AND deleted = 0
ORDER BY name
"""


def saved_funnels(client: Client, project_id: int) -> dict[str, FunnelDefinition]:
    """The project's saved funnels by name, in name order."""
    rows = client.query(SAVED_FUNNELS, parameters={"project_id": project_id}).result_rows
    return {name: FunnelDefinition.from_json(name, definition) for name, definition in rows}


# ── error group status ───────────────────────────────────────────────────────────────────


def set_error_group_status(client: Client, project_id: int, fingerprint: int, status: str, by: str = "") -> None:
    """Resolve, ignore or reopen (``"unresolved"``) an error group. A resolved group that has
    events after this moment shows as regressed (``queries.error_groups``)."""
    if status not in SETTABLE_STATUSES:
        raise ValueError(f"an error group can be set {', '.join(SETTABLE_STATUSES)}; not {status!r}")
    client.insert("error_group_states",
                  [[project_id, fingerprint, status, datetime.now(timezone.utc), by, _version()]],
                  column_names=["project_id", "fingerprint", "status", "updated_at", "updated_by", "version"])
