"""The collector's project map: lookups, the one early reload for unknown ids, and what
happens while the warehouse is unreachable. (The real ClickHouse path is covered by
tests/integration/test_collector.py; here the loader is a plain function so each policy
can be pinned down on its own.)"""

from __future__ import annotations

import asyncio

import pytest

from pipeline.ingest.problems import Problem
from pipeline.ingest.project_cache import ProjectCache
from pipeline.warehouse.projects import Project

SHOP = Project(1, "shop", "a" * 32, ("https://shop.example.com",))
BLOG = Project(2, "blog", "b" * 32)


class Warehouse:
    """Stands in for the projects table: what it holds, whether it answers, how often asked."""

    def __init__(self, *projects: Project) -> None:
        self.projects = list(projects)
        self.reachable = True
        self.loads = 0

    def load(self) -> list[Project]:
        self.loads += 1
        if not self.reachable:
            raise ConnectionError("ClickHouse is not answering")
        return list(self.projects)


def run(coroutine):
    return asyncio.run(coroutine)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


def test_known_projects_are_served_from_memory():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=60)
        await cache.start()
        try:
            assert await cache.lookup(1) == SHOP
            assert await cache.lookup(1) == SHOP
            return warehouse.loads
        finally:
            await cache.stop()

    assert run(scenario()) == 1


def test_a_new_project_is_found_by_one_early_reload():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=60, early_refresh_interval_s=0.2)
        await cache.start()
        try:
            await asyncio.sleep(0.25)
            warehouse.projects.append(BLOG)  # `vigil project create blog` just now
            assert await cache.lookup(2) == BLOG
            return warehouse.loads
        finally:
            await cache.stop()

    assert run(scenario()) == 2


def test_a_burst_of_unknown_ids_shares_the_reloads():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=60, early_refresh_interval_s=0.3)
        await cache.start()
        try:
            await asyncio.sleep(0.35)
            answers = await asyncio.gather(*(cache.lookup(999) for _ in range(50)))
            return answers, warehouse.loads
        finally:
            await cache.stop()

    answers, loads = run(scenario())
    assert answers == [None] * 50
    # the start, the early reload the first lookup began, and one more for the lookups that
    # arrived while it already ran (it may have read the table before their project existed)
    assert loads == 3


def test_unknown_ids_reload_at_most_once_per_interval():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=60, early_refresh_interval_s=0.2)
        await cache.start()
        try:
            started = loop_time()
            while loop_time() - started < 1.0:
                assert await cache.lookup(999) is None
            return warehouse.loads, loop_time() - started
        finally:
            await cache.stop()

    loads, elapsed = run(scenario())
    assert 2 <= loads <= 1 + elapsed / 0.2 + 1


def test_a_project_created_just_after_a_reload_is_found_by_the_next_one():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=60, early_refresh_interval_s=0.3)
        await cache.start()  # a reload a moment ago ...
        try:
            warehouse.projects.append(BLOG)  # ... and only then the project is created
            started = loop_time()
            return await cache.lookup(2), loop_time() - started
        finally:
            await cache.stop()

    project, waited = run(scenario())
    assert project == BLOG
    assert waited < 0.3 + 0.2


def test_the_last_good_map_survives_an_unreachable_warehouse():
    async def scenario():
        warehouse = Warehouse(SHOP)
        cache = ProjectCache(warehouse.load, refresh_s=0.05)
        await cache.start()
        try:
            warehouse.reachable = False
            deadline = loop_time() + 10
            while "error" not in cache.status() and loop_time() < deadline:  # a reload found it down
                await asyncio.sleep(0.05)
            return await cache.lookup(1), cache.status()
        finally:
            await cache.stop()

    project, status = run(scenario())
    assert project == SHOP
    assert status["loaded"] is True and "not answering" in status["error"]


def test_before_the_first_load_requests_are_told_to_come_back():
    async def scenario():
        warehouse = Warehouse(SHOP)
        warehouse.reachable = False
        cache = ProjectCache(warehouse.load, refresh_s=60, early_refresh_interval_s=0)
        await cache.start()
        try:
            with pytest.raises(Problem) as caught:
                await cache.lookup(1)
            warehouse.reachable = True
            return caught.value, await cache.lookup(1)
        finally:
            await cache.stop()

    issue, project = run(scenario())
    assert (issue.status, issue.reason, issue.retry_after) == (503, "projects_unavailable", 5)
    assert "not answering" in issue.message
    assert project == SHOP
