"""Source maps end to end: `vigil sourcemaps upload` into a real warehouse, errors with
minified frames through a real `vigil process` on a real broker, and the original
file:line:function in the stored events and in the error groups (050_error_groups.sql)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline.warehouse import projects
from pipeline import queries
from pipeline.settings import REPO_ROOT
from pipeline.queries import dashboard_state
from tests.integration.test_dashboard_pages import frame_with, run_page
from tests.integration.test_processor import iso, make_processor, produce, wait_for_rows  # noqa: F401 (fixture)
from tests.unit.test_symbolication import DIST, ORIGINAL, URL, browser_frames, positions

pytestmark = pytest.mark.integration

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"


def vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def error_event(project_id: int, release: str, index: int, run: str, frames: list[dict]) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "event_id": f"err-{run}-{index:05d}", "type": "error", "timestamp": iso(now - timedelta(seconds=3)),
        "session_id": f"s-{run}-{index % 3}", "visitor_id": f"v-{run}-{index % 3}", "user_id": f"u-{index % 2}",
        "page": {"url": "http://shop.example.com/checkout", "title": "Checkout"},
        "release": release, "sdk": {"name": "vigil-browser", "version": "0.1.0"},
        "data": {"kind": "js", "type": "TypeError", "message": f"item {index} has no product", "frames": frames},
        "project_id": project_id, "received_at": iso(now), "client": {"ip": "198.51.100.7", "user_agent": UA},
    }


def stored_frames(client, project_id: int, release: str) -> list[list[dict]]:
    result = client.query("SELECT data FROM events FINAL WHERE project_id = {p:UInt32} AND release = {r:String} "
                          "ORDER BY event_id", parameters={"p": project_id, "r": release})
    return [orjson.loads(data)["frames"] for (data,) in result.result_rows]


def summaries_once_counted(client, project_id: int, events: int, timeout: float = 30.0):
    """The error group summaries once they count ``events``: an INSERT commits the events' part
    before its materialized views' parts, so a reader can briefly see a row the groups lack."""
    deadline = time.monotonic() + timeout
    while True:
        groups = queries.error_group_summaries(client, project_id)
        if groups["events"].sum() >= events or time.monotonic() > deadline:
            return groups
        time.sleep(0.2)


@pytest.fixture
def shop(clickhouse):
    return projects.create(clickhouse.client(), f"shop-{uuid.uuid4().hex[:8]}")


def test_upload_and_list_show_each_map_under_its_minified_file_url(vigil_env, shop):
    uploaded = vigil(vigil_env, "sourcemaps", "upload", "--project", shop.name, "--release", "shop@2.0.0", str(DIST))
    assert uploaded.returncode == 0, uploaded.stderr
    assert "~/static/js/app.min.js" in uploaded.stdout
    assert f"uploaded 1 source map for project {shop.id}, release 'shop@2.0.0'" in uploaded.stdout
    listed = vigil(vigil_env, "sourcemaps", "list", "--project", str(shop.id))
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [["shop@2.0.0", "~/static/js/app.min.js"]]


def test_the_cli_says_what_to_do_about_an_unknown_project_no_maps_and_a_bad_map(vigil_env, shop, tmp_path):
    unknown = vigil(vigil_env, "sourcemaps", "upload", "--project", "no-such-shop", "--release", "1", str(DIST))
    assert unknown.returncode == 2
    assert "unknown project 'no-such-shop'" in unknown.stderr and "vigil project create" in unknown.stderr
    empty = vigil(vigil_env, "sourcemaps", "upload", "--project", shop.name, "--release", "1", str(tmp_path))
    assert empty.returncode == 2 and "no *.js.map files" in empty.stderr
    (tmp_path / "app.js.map").write_text("{not json")
    bad = vigil(vigil_env, "sourcemaps", "upload", "--project", shop.name, "--release", "1", str(tmp_path))
    assert bad.returncode == 2 and "app.js.map is not a usable source map: it is not JSON" in bad.stderr
    nothing = vigil(vigil_env, "sourcemaps", "list", "--project", shop.name)
    assert nothing.returncode == 1 and "no source maps for project" in nothing.stderr


def test_errors_are_symbolicated_grouped_by_original_frames_counted_once_and_shown(
        vigil_env, make_processor, kafka, clickhouse, shop, monkeypatch):
    release, late_release = "shop@1.0.0", "shop@1.1.0"
    assert vigil(vigil_env, "sourcemaps", "upload", "--project", shop.name, "--release", release,
                 str(DIST)).returncode == 0
    processor = make_processor(clickhouse.url)
    processor.env["VIGIL_SOURCEMAP_TTL"] = "1"
    run = processor.run
    mapped = [error_event(shop.id, release, n, run, browser_frames()) for n in range(6)]
    # the same bug from a release whose maps are uploaded only after its first error
    early = error_event(shop.id, late_release, 100, run, browser_frames(URL + "?v=1"))
    messages = [(e["session_id"].encode(), orjson.dumps(e)) for e in [*mapped, early]]
    produce(kafka.bootstrap, processor.events_topic, messages)
    processor.start()
    client = clickhouse.client()
    wait_for_rows(client, shop.id, len(messages), processor)

    for frames in stored_frames(client, shop.id, release):
        assert positions(frames) == ORIGINAL
        assert (frames[0]["raw_filename"], frames[0]["raw_lineno"], frames[0]["raw_colno"]) == (URL, 1, 41)
    assert positions(stored_frames(client, shop.id, late_release)[0]) == positions(browser_frames(URL + "?v=1"))

    assert vigil(vigil_env, "sourcemaps", "upload", "--project", shop.name, "--release", late_release,
                 str(DIST)).returncode == 0
    time.sleep(1.5)  # past VIGIL_SOURCEMAP_TTL: the processor looks at the release's maps again
    late = error_event(shop.id, late_release, 101, run, browser_frames(URL + "?v=1"))
    produce(kafka.bootstrap, processor.events_topic, [(late["session_id"].encode(), orjson.dumps(late))]
            + messages[:3])  # and a replay of three events already stored
    wait_for_rows(client, shop.id, len(messages) + 1, processor)
    assert positions(stored_frames(client, shop.id, late_release)[1]) == ORIGINAL

    groups = summaries_once_counted(client, shop.id, events=len(messages) + 1)
    assert groups.height == 2  # the symbolicated errors in one group, the minified one in another
    group = groups.sort("events", descending=True).row(0, named=True)
    assert (group["culprit"], group["error_type"], group["events"]) == ("priceOf (/src/cart.js:4)", "TypeError", 7)
    assert (group["visitors"], group["users"], group["releases"]) == (3, 2, [release, late_release])
    assert group["status"] == "unresolved"

    dashboard_state.set_error_group_status(client, shop.id, group["fingerprint"], "resolved", by="ana")
    resolved = queries.error_group_summaries(client, shop.id, fingerprints=[group["fingerprint"]])
    assert resolved["status"].to_list() == ["resolved"]
    assert queries.error_group_summaries(client, shop.id, status="resolved")["error_group"].to_list() == [
        group["error_group"]]

    page = run_page(clickhouse, monkeypatch, "errors", project=str(shop.id), group=group["error_group"])
    frames = frame_with(page, "minified")
    top = frames.iloc[0].to_dict()  # of the latest event: the late release's, reported with ?v=1
    assert top == {"function": "priceOf", "filename": "/src/cart.js", "lineno": 4, "colno": 11, "in_app": True,
                   "minified": f"n {URL}?v=1:1:41"}
    assert any("Original positions" in caption.value for caption in page.caption)
