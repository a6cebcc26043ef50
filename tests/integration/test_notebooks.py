"""The curated notebooks, executed top to bottom by a real Jupyter kernel against the real
warehouse seeded with a week of the simulated shop: none fails, each draws its charts, and the
two query functions the notebooks and alerts added to the query layer equal ground truth
computed in polars on the same events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
import polars as pl
import pytest

from pipeline import queries
from pipeline.commands.notebooks import execute, notebooks
from pipeline.queries import open_project
from pipeline.warehouse.projects import create
from pipeline.queries import Filters
from pipeline.settings import REPO_ROOT, redacted
from tests.support import shop_data
from tests.support.alerts import private_database
from tests.support.clickhouse import free_port

pytestmark = pytest.mark.integration

END = datetime(2025, 6, 9, 0, 0, tzinfo=timezone.utc)
PLOTLY = "application/vnd.plotly.v1+json"
# the charts each notebook draws on a week of shop traffic
CHARTS = {"01_web_vitals.ipynb": 7, "02_error_triage.ipynb": 4, "03_funnels_and_retention.ipynb": 4,
          "04_traffic.ipynb": 4}


@pytest.fixture(scope="module")
def shop(clickhouse):
    """A private database with a week of the simulated shop (600 sessions) ending at END."""
    settings, client = private_database(clickhouse, prefix="notebooks")
    project = create(client, "shop")
    data = shop_data.shop_events(project.id, 600, seed=5, start=END - timedelta(days=7), span=timedelta(days=7))
    shop_data.insert(client, data.rows)
    return settings, client, project, shop_data.truth_frame(data.rows)


@pytest.fixture(scope="module")
def executed(shop):
    """Each notebook run once on the shop's week (by a kernel that reads the warehouse's address
    from the environment, like `vigil notebooks` gives it): name → the executed notebook."""
    settings, *_ = shop
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIGIL_CLICKHOUSE_URL", settings.clickhouse_url)
        patch.setenv("VIGIL_CLICKHOUSE_DATABASE", settings.clickhouse_database)
        for path in notebooks():
            runs[path.name] = execute(path, {"PROJECT": "shop", "DAYS": 7, "END": END.isoformat()}, timeout=180)
        yield runs


def outputs(notebook, kind: str | None = None) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
            if kind is None or kind in output.get("data", {})]


def printed(notebook) -> str:
    return "".join(output.get("text", "") for output in outputs(notebook) if output.get("output_type") == "stream")


def test_every_curated_notebook_is_covered():
    assert [path.name for path in notebooks()] == list(CHARTS)


@pytest.mark.parametrize("name", list(CHARTS))
def test_the_notebook_runs_top_to_bottom_and_draws_its_charts(name, executed):
    notebook = executed[name]
    assert not [o for o in outputs(notebook) if o.get("output_type") == "error"]
    charts = outputs(notebook, PLOTLY)
    assert len(charts) == CHARTS[name]
    for chart in charts:
        figure = chart["data"][PLOTLY]
        assert figure["data"], f"an empty chart in {name}: {json.dumps(figure['layout'].get('title'))}"
    # the setup cell shows what the notebook is looking at
    assert outputs(notebook, "text/plain")[0]["data"]["text/plain"].startswith("shop (project #")


def test_the_notebooks_say_what_they_found(executed):
    assert printed(executed["01_web_vitals.ipynb"]).startswith("Slowest route for LCP: /")
    assert printed(executed["03_funnels_and_retention.ipynb"]).startswith("Biggest drop: before step ")


def test_a_wrong_project_says_which_ones_exist(shop, monkeypatch):
    settings, *_ = shop
    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", settings.clickhouse_url)
    monkeypatch.setenv("VIGIL_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    with pytest.raises(ValueError, match=r"no project 'nope' in the warehouse .*; the projects are: shop \(#\d+\)\. "
                                         r"Set PROJECT in the parameters cell\."):
        open_project("nope")


# ── the query layer's additions, against ground truth ────────────────────────────────────


def test_visitor_retention_equals_ground_truth(shop):
    _, client, project, truth = shop
    window = Filters(project.id, END - timedelta(days=7), END)
    retention = queries.visitor_retention(client, window, period="day")

    seen = (truth.filter((pl.col("timestamp") >= window.start) & (pl.col("timestamp") < window.end)
                         & (pl.col("visitor_id") != ""))
            .select("visitor_id", pl.col("timestamp").dt.date().alias("day")).unique())
    cohorts = seen.group_by("visitor_id").agg(pl.col("day").min().alias("cohort"))
    expected = (seen.join(cohorts, on="visitor_id")
                .with_columns((pl.col("day") - pl.col("cohort")).dt.total_days().cast(pl.UInt32).alias("period"))
                .group_by("cohort", "period").agg(pl.len().cast(pl.UInt64).alias("visitors"))
                .sort("cohort", "period"))
    assert retention.select("cohort", "period", "visitors").equals(expected)
    assert retention.filter(pl.col("period") == 0)["retention"].to_list() == [1.0] * expected["cohort"].n_unique()
    assert retention.filter(pl.col("period") > 0)["visitors"].sum() > 0, "a week of the shop has returning visitors"


def test_weekly_retention_counts_from_mondays(shop):
    _, client, project, _ = shop
    weekly = queries.visitor_retention(client, Filters(project.id, END - timedelta(days=7), END), period="week")
    assert all(cohort.weekday() == 0 for cohort in weekly["cohort"])
    with pytest.raises(ValueError, match="retention is per day or week, not 'month'"):
        queries.visitor_retention(client, Filters(project.id, END - timedelta(days=7), END), period="month")


def test_api_call_totals_equal_ground_truth_in_whole_minutes(shop):
    _, client, project, truth = shop
    window = Filters(project.id, END - timedelta(days=2, minutes=30), END - timedelta(days=1))  # whole minutes
    calls = truth.filter((pl.col("type") == "api_call") & (pl.col("timestamp") >= window.start)
                         & (pl.col("timestamp") < window.end))
    failed = calls.filter((pl.col("http_status") == 0) | (pl.col("http_status") >= 400))
    assert queries.api_call_totals(client, window).to_dicts() == [{"api_calls": calls.height,
                                                                   "api_failures": failed.height}]
    assert failed.height > 0


# ── vigil notebooks ──────────────────────────────────────────────────────────────────────


def test_vigil_notebooks_serves_jupyterlab_on_the_notebooks(shop, tmp_path):
    settings, *_ = shop
    port = free_port()
    env = {**os.environ, "VIGIL_CLICKHOUSE_URL": settings.clickhouse_url,
           "VIGIL_CLICKHOUSE_DATABASE": settings.clickhouse_database, "JUPYTER_TOKEN": "vigil-test",
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = open(tmp_path / "jupyterlab.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "pipeline.commands.cli", "notebooks", "--port", str(port), "--no-browser"],
                               env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                listing = httpx.get(f"http://127.0.0.1:{port}/api/contents?token=vigil-test", timeout=2)
                if listing.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "jupyterlab.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "jupyterlab.log").read_text()
            time.sleep(0.5)
        names = sorted(item["name"] for item in listing.json()["content"] if item["type"] == "notebook")
        assert names == list(CHARTS)
        assert httpx.get(f"http://127.0.0.1:{port}/lab?token=vigil-test", timeout=5).status_code == 200
        banner = (tmp_path / "jupyterlab.log").read_text()
        shown = redacted(settings.clickhouse_url)  # the URL carries vigil's password; the banner masks it
        assert f"vigil notebooks: JupyterLab on {REPO_ROOT / 'notebooks'} (warehouse {shown}" in banner
    finally:
        process.terminate()
        process.wait(30)
        log.close()
