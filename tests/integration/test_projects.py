"""Projects on the real warehouse: `vigil project create --json`, ids, keys, origins."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline import projects
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=REPO_ROOT, env=env,
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
