"""`vigil simulate` through the real path: collector → Kafka → processor → ClickHouse.

What it sends is accepted, lands once, and reads back through the query layer as the
traffic it models (returning visitors, several browsers and devices, every event type);
a rate-limited collector's 429s are waited out with Retry-After and nothing is lost.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest

from pipeline.warehouse import projects
from pipeline import queries
from pipeline.broker.topics import ensure_topics
from pipeline.settings import REPO_ROOT
from tests.support import processes

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(kafka, clickhouse, vigil_env, tmp_path):
    """A collector and a processor on topics of their own; yields (env, collector URL, project, start)."""

    def start(**limits: str):
        run = uuid.uuid4().hex[:8]
        topics = {"VIGIL_EVENTS_TOPIC": f"sim.{run}.events", "VIGIL_DLQ_TOPIC": f"sim.{run}.dlq"}
        ensure_topics(kafka.bootstrap, {topics["VIGIL_EVENTS_TOPIC"]: 4, topics["VIGIL_DLQ_TOPIC"]: 1})
        env = {**vigil_env, **topics, "VIGIL_PROCESSOR_GROUP": f"sim-{run}", "VIGIL_RATE_LIMIT_PER_IP": "1000000",
               "VIGIL_RATE_LIMIT_PER_KEY": "1000000", **limits}
        project = projects.create(clickhouse.client(), f"sim-{run}")
        collector, url = processes.collector(env, tmp_path / f"collector-{run}.log")
        processor = processes.VigilProcess(["process"], env, tmp_path / f"processor-{run}.log").start()
        started.extend([collector, processor])
        return env, url, project

    started: list[processes.VigilProcess] = []
    yield start
    for process in started:
        process.stop()


def simulate(env: dict[str, str], url: str, project, *args: str) -> dict[str, int]:
    """Run `vigil simulate` to the end; return the summary's numbers by row name."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.commands.cli", "simulate", "--url", url, "--project", str(project.id),
         "--key", project.key, "--quiet", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    numbers = {}
    for name in ("events sent", "accepted", "rejected", "not delivered", "retries (429/503/connection)"):
        found = re.search(rf"│ {re.escape(name)}\s+│\s+([\d,]+)", done.stdout)
        numbers[name] = int(found.group(1).replace(",", "")) if found else 0
    return numbers


def wait_for_rows(client, project_id: int, expected: int, timeout: float = 60.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        rows, unique = client.query(
            "SELECT count(), uniqExact(event_id) FROM events FINAL WHERE project_id = {p:UInt32}",
            parameters={"p": project_id}).result_rows[0]
        if rows >= expected or time.monotonic() > deadline:
            return rows, unique
        time.sleep(0.5)


def test_simulated_traffic_lands_once_and_reads_back_as_the_shop_it_models(stack, clickhouse):
    env, url, project = stack()
    numbers = simulate(env, url, project, "--rate", "300", "--duration", "8", "--seed", "7")
    assert numbers["events sent"] >= 0.5 * 300 * 8  # about the rate asked for (loose: CI machines are busy)
    assert numbers["accepted"] == numbers["events sent"] and numbers["rejected"] == 0
    assert numbers["not delivered"] == 0

    client = clickhouse.client()
    assert wait_for_rows(client, project.id, numbers["accepted"]) == (numbers["accepted"], numbers["accepted"])

    window = queries.Filters.last(project.id, timedelta(hours=1))
    summary = queries.traffic_summary(client, window).row(0, named=True)
    assert summary["events"] == numbers["accepted"]
    assert 0 < summary["unique_visitors"] < summary["sessions"] <= summary["page_views"]  # visitors come back
    types = set(queries.events_per_minute(client, window)["type"])
    assert {"page_view", "web_vital", "resource", "api_call", "click", "time_on_page"} <= types
    assert set(queries.vital_percentiles(client, window)["vital"]) >= {"LCP", "FCP", "TTFB", "CLS", "LOAD", "TTI"}
    # the processor parsed the simulated user agents into a real mix
    devices, browsers = client.query(
        "SELECT uniqExact(device), uniqExact(browser) FROM events FINAL WHERE project_id = {p:UInt32}",
        parameters={"p": project.id}).result_rows[0]
    assert devices >= 2 and browsers >= 4


def test_a_rate_limited_collector_is_waited_out_and_nothing_is_lost(stack, clickhouse):
    env, url, project = stack(VIGIL_RATE_LIMIT_PER_KEY="150", VIGIL_RATE_LIMIT_BURST_SECONDS="1")
    numbers = simulate(env, url, project, "--rate", "250", "--duration", "4", "--seed", "8")
    assert numbers["retries (429/503/connection)"] > 0
    assert numbers["accepted"] == numbers["events sent"] and numbers["rejected"] == numbers["not delivered"] == 0
    rows, unique = wait_for_rows(clickhouse.client(), project.id, numbers["accepted"])
    assert rows == unique == numbers["accepted"]
