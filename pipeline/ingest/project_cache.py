"""The collector's view of the projects: an in-memory map, refreshed from ClickHouse.

Every request needs its project (key, allowed origins), so lookups are a dict read. A
background task reloads the map every ``VIGIL_PROJECTS_REFRESH`` seconds. A request for an
id the map does not know waits for the next reload that starts after it arrived; such early
reloads happen at most once a second and are shared by every request waiting for them. So
a project created a moment ago works on its first request (answered within about a second),
while a flood of made-up ids costs ClickHouse one query a second.

If ClickHouse is unreachable the last good map stays in use. Before the first successful
load there is nothing to check keys against, so requests are answered 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from pipeline.ingest.problems import RETRY_AFTER_UNAVAILABLE, problem
from pipeline.warehouse.projects import Project, list_projects
from pipeline.settings import Settings

log = logging.getLogger(__name__)

# the least time between two reloads triggered by unknown project ids
EARLY_REFRESH_INTERVAL_S = 1.0


def clickhouse_loader(settings: Settings) -> Callable[[], list[Project]]:
    """A blocking loader over one clickhouse-connect client, (re)connected when needed."""
    from pipeline.warehouse.client import connect

    client = None

    def load() -> list[Project]:
        nonlocal client
        if client is None:
            client = connect(settings)
        try:
            return list_projects(client)
        except Exception:
            client = None  # reconnect next time (ClickHouse restarted, connection dropped)
            raise

    return load


class ProjectCache:
    """Projects by id, kept fresh in the background; :meth:`lookup` may reload early once."""

    def __init__(
        self,
        load: Callable[[], list[Project]],
        refresh_s: float,
        early_refresh_interval_s: float = EARLY_REFRESH_INTERVAL_S,
        source: str = "ClickHouse",
    ) -> None:
        self._load = load
        self.refresh_s = refresh_s
        self.early_refresh_interval_s = early_refresh_interval_s
        self.source = source
        self.projects: dict[int, Project] = {}
        self.loaded_at: float | None = None  # monotonic time of the last successful load
        self.last_error: str | None = None
        self._started_at = float("-inf")  # monotonic start of the last (or running) reload
        self._inflight: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    # ── lifecycle ──────────────────────────────────────────────────────────────────────

    async def start(self) -> None:
        """First load (failure is logged, not raised: the refresher keeps trying), then refresh."""
        await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever(), name="vigil-projects-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _refresh_forever(self) -> None:
        while True:
            # retry sooner while nothing was ever loaded: the collector is useless until then
            await asyncio.sleep(self.refresh_s if self.loaded_at is not None else min(self.refresh_s, 1.0))
            await self.refresh()

    # ── loading ────────────────────────────────────────────────────────────────────────

    async def refresh(self) -> None:
        """Reload now; concurrent callers share one reload."""
        if self._inflight is not None:
            return await asyncio.shield(self._inflight)
        self._inflight = asyncio.get_running_loop().create_future()
        self._started_at = time.monotonic()
        try:
            projects = await asyncio.to_thread(self._load)
        except Exception as error:  # ClickHouse down or unreachable: keep the last good map
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning("could not load projects from %s: %s", self.source, self.last_error)
        else:
            self.projects = {project.id: project for project in projects}
            self.loaded_at = time.monotonic()
            self.last_error = None
        finally:
            self._inflight.set_result(None)
            self._inflight = None

    # ── lookups ────────────────────────────────────────────────────────────────────────

    async def lookup(self, project_id: int) -> Project | None:
        """The project; if unknown, after the next reload; ``None`` if it still is unknown."""
        project = self.projects.get(project_id)
        if project is not None:
            return project
        await self._reload_after(time.monotonic())
        if self.loaded_at is None:
            raise problem(
                "projects_unavailable",
                f"the collector could not read its projects from {self.source} yet ({self.last_error}); "
                "check that ClickHouse is up and migrated (`vigil migrate`), then resend",
                retry_after=RETRY_AFTER_UNAVAILABLE,
            )
        return self.projects.get(project_id)

    async def _reload_after(self, asked: float) -> None:
        """Return once a reload that started at or after ``asked`` finished (one per interval at most)."""
        while True:
            if self._inflight is not None:
                started = self._started_at
                await asyncio.shield(self._inflight)
                if started >= asked:
                    return
                continue
            if self._started_at >= asked:
                return
            delay = self._started_at + self.early_refresh_interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # every waiter wakes; the first starts the reload, the rest share it
                continue
            await self.refresh()
            return

    def status(self) -> dict[str, object]:
        """For /healthz: how many projects, how old the map is, the last error if any."""
        age = None if self.loaded_at is None else round(time.monotonic() - self.loaded_at, 1)
        status: dict[str, object] = {"loaded": self.loaded_at is not None, "count": len(self.projects), "age_s": age}
        if self.last_error:
            status["error"] = self.last_error
        return status
