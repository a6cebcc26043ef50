"""Projects on the real warehouse: `vigil project create --json`, ids, keys, origins."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from pipeline.warehouse import projects
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_project_create_prints_a_numeric_id_and_a_random_key(clickhouse, vigil_env):
    first = vigil(vigil_env, "project", "create", "shop", "--origin", "https://shop.example.com/", "--json")
    second = vigil(vigil_env, "project", "create", "blog", "--json")
    assert first.returncode == 0, first.stderr
    shop, blog = json.loads(first.stdout), json.loads(second.stdout)
    assert set(shop) == {"id", "name", "key", "origins"}
    assert isinstance(shop["id"], int) and blog["id"] > shop["id"]
    assert shop["name"] == "shop" and shop["origins"] == ["https://shop.example.com"]
    assert len(shop["key"]) == 32 and shop["key"] != blog["key"]
    listed = {p.id: p for p in projects.list_projects(clickhouse.client())}
    assert listed[shop["id"]].key == shop["key"]


def test_a_bad_origin_is_refused_with_what_to_write_instead(vigil_env):
    result = vigil(vigil_env, "project", "create", "shop", "--origin", "shop.example.com/path")
    assert result.returncode == 2
    assert "https://shop.example.com" in result.stderr


def test_ensure_returns_the_existing_project(clickhouse):
    client = clickhouse.client()
    demo = projects.ensure(client, "demo-ensure")
    assert projects.ensure(client, "demo-ensure") == demo


def test_origin_allow_list():
    open_project = projects.Project(1, "any", "k" * 32)
    shop = projects.Project(2, "shop", "k" * 32, ("https://shop.example.com",))
    assert open_project.allows_origin("https://anything.example")
    assert shop.allows_origin("https://shop.example.com")
    assert not shop.allows_origin("https://evil.example")
    assert shop.allows_origin(None)  # server-to-server senders have no Origin


def test_twenty_concurrent_creates_get_twenty_ids_and_every_key_works(clickhouse):
    """Twenty `create`s at one instant (each with its own connection, as twenty hosts would)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    start = Barrier(20)

    def create_at_once(n: int) -> projects.Project:
        client = clickhouse.client()
        start.wait()
        return projects.create(client, f"race-{n}")

    with ThreadPoolExecutor(20) as pool:
        created = list(pool.map(create_at_once, range(20)))
    assert len({p.id for p in created}) == 20
    stored = {p.id: p for p in projects.list_projects(clickhouse.client())}
    assert all(stored[p.id].key == p.key and stored[p.id].name == p.name for p in created)


def test_an_id_claimed_elsewhere_is_never_given_out_again(clickhouse):
    """Another host claimed the next id but has not written its project yet: ours takes the one after."""
    client = clickhouse.client()
    taken = projects.next_free_id(client)
    client.insert("project_id_claims", [[taken, "another-host", datetime.now(timezone.utc)]],
                  column_names=["id", "claim", "claimed_at"])
    created = projects.create(client, "after-a-claim")
    assert created.id > taken
