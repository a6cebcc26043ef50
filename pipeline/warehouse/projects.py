"""Projects: a numeric id, a name, a public ingest key and the browser origins allowed to send.

Stored in the warehouse's ``projects`` table (a ReplacingMergeTree: the latest version of a
row wins), so the collector, the CLI and the dashboards share one source of truth without a
second database. ``vigil project create NAME --origin URL --json`` is the operator's way in.

Creating one is safe from any number of hosts at once: an id is claimed in
``project_id_claims`` (migration 077) before the project is written, and a creator whose claim
is not the only one for that id takes the next (:func:`claim_id`).
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any


_SELECT = "SELECT id, name, key, origins FROM projects FINAL ORDER BY id"
_NEXT_FREE_ID = """
SELECT greatest((SELECT max(id) FROM projects FINAL), (SELECT max(id) FROM project_id_claims)) + 1
"""
_CLAIMS_OF = "SELECT claim FROM project_id_claims WHERE id = {id:UInt32}"
CLAIM_ATTEMPTS = 100  # ids tried before giving up (each lost one means another creator won it)


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    key: str
    origins: tuple[str, ...] = ()

    def allows_origin(self, origin: str | None) -> bool:
        """No list = any origin; requests without an Origin header (servers, curl) always pass."""
        if not self.origins or origin is None:
            return True
        return origin.rstrip("/") in self.origins

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["origins"] = list(self.origins)
        return data


def new_key() -> str:
    """A public ingest key: 32 hex characters, like a Sentry DSN's public key."""
    return secrets.token_hex(16)


def list_projects(client) -> list[Project]:
    rows = client.query(_SELECT).result_rows
    return [Project(int(r[0]), r[1], r[2], tuple(r[3])) for r in rows]


def create(client, name: str, origins: list[str] | tuple[str, ...] = ()) -> Project:
    name = name.strip()
    if not name:
        raise ValueError("a project needs a name, e.g. `vigil project create shop`")
    clean_origins = tuple(_normalise_origin(o) for o in origins)
    project = Project(claim_id(client), name, new_key(), clean_origins)
    client.insert(
        "projects",
        [[project.id, project.name, project.key, list(project.origins), datetime.now(timezone.utc), time.time_ns()]],
        column_names=["id", "name", "key", "origins", "created_at", "version"],
    )
    return project


class ProjectIdUnavailable(RuntimeError):
    """Every id tried was claimed by another creator first."""


def next_free_id(client) -> int:
    """One more than any id a project has or a creator claimed."""
    return int(client.query(_NEXT_FREE_ID).result_rows[0][0])


def claim_id(client, attempts: int = CLAIM_ATTEMPTS) -> int:
    """An id no other creator gets, on this host or any other.

    Insert a claim (id, a random token), then read the id's claims back: the id is ours only if
    our claim is the only one. Inserts are synchronous, so of two claims of one id the later
    one's reader always sees the earlier one, and two creators can never both win; both may
    lose, and then both try again higher. The claim carries a deduplication token naming the
    id, so the server itself drops every claim of an id after the first (within the table's
    deduplication window), and exactly one of the creators racing for an id wins it.
    """
    for attempt in range(attempts):
        candidate = next_free_id(client)
        token = secrets.token_hex(16)
        client.insert("project_id_claims", [[candidate, token, datetime.now(timezone.utc)]],
                      column_names=["id", "claim", "claimed_at"],
                      settings={"async_insert": 0, "insert_deduplicate": 1,
                                "insert_deduplication_token": f"project-id-{candidate}"})
        claims = [row[0] for row in client.query(_CLAIMS_OF, parameters={"id": candidate}).result_rows]
        if claims == [token]:
            return candidate
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # spread creators that keep colliding
    raise ProjectIdUnavailable(f"no free project id after {attempts} attempts: other creators took every one; "
                               "try again")


def ensure(client, name: str, origins: tuple[str, ...] = ()) -> Project:
    """The project called ``name``, created if there is none (``vigil up`` uses it for ``demo``)."""
    for project in list_projects(client):
        if project.name == name:
            return project
    return create(client, name, origins)


def _normalise_origin(origin: str) -> str:
    origin = origin.strip().rstrip("/")
    if not origin.startswith(("http://", "https://")) or origin.count("/") > 2:
        raise ValueError(f"origin {origin!r} must look like https://shop.example.com (scheme and host, no path)")
    return origin
