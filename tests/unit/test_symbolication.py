"""Symbolication alone: a real esbuild map, Sentry's URL forms, hostile maps, the caches and
what a warehouse outage does — with the maps served from memory instead of ClickHouse (the
integration test, tests/integration/test_sourcemaps.py, reads them from a real warehouse)."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from pipeline import sourcemaps
from pipeline.processor import fingerprints, steps
from pipeline.processor.steps import Options
from pipeline.processor.symbolication import RETRY_AFTER_FAILURE, SourceMaps, candidate_urls
from tests.unit.test_processor_steps import message

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sourcemaps"
DIST = FIXTURE / "dist"
MAP = (DIST / "static/js/app.min.js.map").read_bytes()
MINIFIED = (DIST / "static/js/app.min.js").read_bytes()
URL = "http://shop.example.com/static/js/app.min.js"
PROJECT, RELEASE = 7, "shop@1.0.0"


def browser_frames(filename: str = URL) -> list[dict]:
    """The frames V8 reports for the fixture's error (tests/fixtures/sourcemaps/README.md)."""
    return [{"function": "n", "filename": filename, "lineno": 1, "colno": 41, "in_app": True},
            {"function": "r", "filename": filename, "lineno": 1, "colno": 160, "in_app": True},
            {"function": "c", "filename": filename, "lineno": 1, "colno": 194, "in_app": True},
            {"function": "window.checkout", "filename": filename, "lineno": 1, "colno": 290, "in_app": True}]


ORIGINAL = [("priceOf", "/src/cart.js", 4, 11), ("cartTotal", "/src/cart.js", 12, 14),
            ("renderCheckout", "/src/app.js", 4, 17), ("window.checkout", "/src/app.js", 9, 3)]


def positions(frames: list[dict]) -> list[tuple]:
    return [(f.get("function"), f.get("filename"), f.get("lineno"), f.get("colno")) for f in frames]


class Warehouse:
    """Maps by (project, release, url) in memory, counting reads; ``down`` makes every read fail."""

    def __init__(self) -> None:
        self.maps: dict[tuple[int, str, str], tuple[int, bytes, bytes]] = {}
        self.index_reads = self.content_reads = 0
        self.down = False

    def put(self, url: str, map_json: bytes = MAP, minified: bytes = MINIFIED, *, project: int = PROJECT,
            release: str = RELEASE, version: int = 1) -> None:
        self.maps[(project, release, url)] = (version, map_json, minified)

    def index(self, project_id: int, release: str) -> dict[str, int]:
        self.index_reads += 1
        if self.down:
            raise ConnectionRefusedError("ClickHouse is not answering")
        return {url: version for (p, r, url), (version, _, _) in self.maps.items() if (p, r) == (project_id, release)}

    def content(self, project_id: int, release: str, url: str, version: int) -> tuple[bytes, bytes] | None:
        self.content_reads += 1
        if self.down:
            raise ConnectionRefusedError("ClickHouse is not answering")
        stored = self.maps.get((project_id, release, url))
        return (stored[1], stored[2]) if stored and stored[0] == version else None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def warehouse() -> Warehouse:
    return Warehouse()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def maps(warehouse, clock) -> SourceMaps:
    return SourceMaps(warehouse.index, warehouse.content, ttl=60.0, capacity=4, clock=clock)


# ── a real map ───────────────────────────────────────────────────────────────────────────


def test_esbuild_frames_get_their_original_file_line_column_and_function(warehouse, maps):
    warehouse.put("~/static/js/app.min.js")
    frames = browser_frames()
    assert maps.symbolicate(PROJECT, RELEASE, frames) == 4
    assert positions(frames) == ORIGINAL


@pytest.mark.parametrize("reported", ["HTMLButtonElement.r", "Object.r", "async r", "new r"])
def test_a_receiver_or_keyword_in_the_frame_name_still_finds_the_original_function(warehouse, maps, reported):
    warehouse.put("~/static/js/app.min.js")
    frames = browser_frames()
    frames[1]["function"] = reported  # how V8 names a method, async or constructor call
    maps.symbolicate(PROJECT, RELEASE, frames)
    assert positions(frames)[1] == ORIGINAL[1]
    assert frames[1]["raw_function"] == reported


def test_the_minified_position_is_kept_beside_the_original(warehouse, maps):
    warehouse.put("~/static/js/app.min.js")
    frames = browser_frames()
    maps.symbolicate(PROJECT, RELEASE, frames)
    assert [(f["raw_function"], f["raw_filename"], f["raw_lineno"], f["raw_colno"]) for f in frames] == [
        (f["function"], f["filename"], f["lineno"], f["colno"]) for f in browser_frames()]


def test_without_the_minified_file_positions_are_mapped_and_the_function_name_kept(warehouse, maps):
    warehouse.put("~/static/js/app.min.js", minified=b"")
    frames = browser_frames()
    maps.symbolicate(PROJECT, RELEASE, frames)
    assert positions(frames) == [(minified, file, line, column) for minified, (_, file, line, column)
                                 in zip(["n", "r", "c", "window.checkout"], ORIGINAL)]


@pytest.mark.parametrize("stored_as", ["~/static/js/app.min.js", URL])
@pytest.mark.parametrize("reported", [URL, URL + "?v=3", URL + "#top", "https://cdn.example.com/static/js/app.min.js"])
def test_a_frame_url_matches_the_map_by_full_url_or_by_any_host_path(warehouse, maps, stored_as, reported):
    warehouse.put(stored_as)
    frames = browser_frames(reported)
    expected = 4 if stored_as.startswith("~") or reported.split("?")[0].split("#")[0] == URL else 0
    assert maps.symbolicate(PROJECT, RELEASE, frames) == expected


def test_candidate_urls_are_the_url_without_query_then_its_any_host_form():
    assert candidate_urls("https://x.example/a/b.js?v=1#f") == ("https://x.example/a/b.js", "~/a/b.js")
    assert candidate_urls("https://x.example") == ("https://x.example", "~/")
    assert candidate_urls("~/a/b.js") == ("~/a/b.js",)
    assert candidate_urls("app.js") == ("app.js",)


def test_other_releases_projects_and_files_are_left_alone(warehouse, maps):
    warehouse.put("~/static/js/app.min.js")
    for project, release, filename in ((PROJECT, "shop@0.9.0", URL), (8, RELEASE, URL),
                                       (PROJECT, RELEASE, "http://shop.example.com/static/js/vendor.js")):
        frames = browser_frames(filename)
        assert maps.symbolicate(project, release, frames) == 0
        assert frames == browser_frames(filename)


@pytest.mark.parametrize("frame", [
    {"function": "n", "filename": URL, "lineno": 7, "colno": 41},  # past the minified file's one line
    {"function": "n", "filename": URL, "lineno": 1},  # no column
    {"function": "n", "filename": URL, "lineno": 0, "colno": 0},
    {"function": "n", "filename": URL, "lineno": "1", "colno": "41"},
    {"filename": URL},
    {"function": "n"},
])
def test_frames_without_a_position_the_map_covers_stay_as_they_are(warehouse, maps, frame):
    warehouse.put("~/static/js/app.min.js")
    frames = [dict(frame)]
    assert maps.symbolicate(PROJECT, RELEASE, frames) == 0
    assert frames == [frame]


def test_library_code_in_the_bundle_is_not_in_app(warehouse, maps):
    vendored = orjson.loads(MAP)
    vendored["sources"] = ["../../../node_modules/cart-lib/cart.js", vendored["sources"][1]]
    warehouse.put("~/static/js/app.min.js", orjson.dumps(vendored))
    frames = browser_frames()
    maps.symbolicate(PROJECT, RELEASE, frames)
    assert [(f["filename"], f["in_app"]) for f in frames[:3]] == [
        ("/node_modules/cart-lib/cart.js", False), ("/node_modules/cart-lib/cart.js", False), ("/src/app.js", True)]


@pytest.mark.parametrize(("map_url", "source", "path"), [
    ("~/static/js/app.min.js", "../../../src/cart.js", "/src/cart.js"),
    ("~/app.js", "src/cart.js", "/src/cart.js"),
    ("https://cdn.example.com/js/app.js", "../src/cart.ts", "/src/cart.ts"),
    ("~/static/js/app.min.js", "webpack://shop/./src/cart.js", "webpack://shop/./src/cart.js"),
    ("~/static/js/app.min.js", "/home/ci/shop/src/cart.js", "/home/ci/shop/src/cart.js"),
])
def test_map_sources_become_paths_people_recognise(map_url, source, path):
    assert sourcemaps.source_path(map_url, source) == path


# ── hostile maps ─────────────────────────────────────────────────────────────────────────


HOSTILE = {
    "not JSON": b"{\"version\": 3, \"mappings\": ",
    "not an object": b"[1, 2, 3]",
    "wrong version": orjson.dumps({**orjson.loads(MAP), "version": 2}),
    "no mappings": orjson.dumps({"version": 3, "sources": []}),
    "garbage mappings": orjson.dumps({"version": 3, "sources": ["a.js"], "names": [], "mappings": "!!!!"}),
    # one segment: generated column 0 → source #5 of 1
    "mappings past its sources": orjson.dumps({"version": 3, "sources": ["a.js"], "names": [], "mappings": "AKAA"}),
    "too big": b" " * (sourcemaps.MAX_MAP_BYTES + 1),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_map_is_refused_with_a_reason(name):
    with pytest.raises(sourcemaps.InvalidSourceMap) as refused:
        sourcemaps.parse_map(HOSTILE[name])
    assert str(refused.value)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_map_in_the_store_leaves_frames_alone_and_is_parsed_once(warehouse, maps, name):
    warehouse.put("~/static/js/app.min.js", HOSTILE[name])
    for _ in range(3):
        frames = browser_frames()
        assert maps.symbolicate(PROJECT, RELEASE, frames) == 0
        assert frames == browser_frames()
    assert maps.counts["maps_unusable"] == 1
    assert warehouse.content_reads == 1


# ── caches ───────────────────────────────────────────────────────────────────────────────


def test_a_release_without_maps_is_asked_once_per_ttl_and_a_late_upload_is_picked_up(warehouse, maps, clock):
    for _ in range(100):
        assert maps.symbolicate(PROJECT, RELEASE, browser_frames()) == 0
    assert warehouse.index_reads == 1
    warehouse.put("~/static/js/app.min.js")
    clock.now += 30
    assert maps.symbolicate(PROJECT, RELEASE, browser_frames()) == 0
    clock.now += 31
    assert maps.symbolicate(PROJECT, RELEASE, browser_frames()) == 4
    assert warehouse.index_reads == 2


def test_a_map_is_loaded_once_and_a_reupload_replaces_it(warehouse, maps, clock):
    warehouse.put("~/static/js/app.min.js")
    for _ in range(10):
        maps.symbolicate(PROJECT, RELEASE, browser_frames())
    assert (warehouse.content_reads, maps.counts["maps_loaded"]) == (1, 1)
    warehouse.put("~/static/js/app.min.js", minified=b"", version=2)
    clock.now += 61
    frames = browser_frames()
    maps.symbolicate(PROJECT, RELEASE, frames)
    assert frames[0]["function"] == "n"  # the new upload has no minified file: no function names
    assert (warehouse.content_reads, maps.counts["maps_loaded"]) == (2, 2)


def test_the_parsed_maps_are_bounded_least_recently_used_first(warehouse, maps):
    releases = [f"shop@{n}" for n in range(6)]
    for release in releases:
        warehouse.put("~/static/js/app.min.js", release=release)
        maps.symbolicate(PROJECT, release, browser_frames())
    assert warehouse.content_reads == 6
    maps.symbolicate(PROJECT, releases[-1], browser_frames())  # still cached
    assert warehouse.content_reads == 6
    maps.symbolicate(PROJECT, releases[0], browser_frames())  # evicted (capacity 4): read again
    assert warehouse.content_reads == 7


# ── the warehouse down ───────────────────────────────────────────────────────────────────


def test_an_unreachable_warehouse_leaves_frames_alone_and_is_retried_later(warehouse, maps, clock, caplog):
    warehouse.put("~/static/js/app.min.js")
    warehouse.down = True
    frames = browser_frames()
    assert maps.symbolicate(PROJECT, RELEASE, frames) == 0
    assert frames == browser_frames()
    for _ in range(50):
        maps.symbolicate(PROJECT, RELEASE, browser_frames())
    assert (warehouse.index_reads, maps.counts["warehouse_failures"]) == (1, 1)
    assert "frames stay minified" in caplog.text
    warehouse.down = False
    clock.now += RETRY_AFTER_FAILURE + 1
    assert maps.symbolicate(PROJECT, RELEASE, browser_frames()) == 4


def test_a_warehouse_failure_while_loading_a_map_stops_at_one_request(warehouse, maps, clock):
    warehouse.put("~/static/js/app.min.js")
    maps.release_urls(PROJECT, RELEASE)
    warehouse.down = True
    frames = browser_frames()
    assert maps.symbolicate(PROJECT, RELEASE, frames) == 0
    assert frames == browser_frames()
    assert (warehouse.content_reads, maps.counts["warehouse_failures"]) == (1, 1)
    warehouse.down = False
    clock.now += RETRY_AFTER_FAILURE + 1
    assert maps.symbolicate(PROJECT, RELEASE, browser_frames()) == 4


# ── the step ─────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def step_maps(maps) -> Options:
    """The steps' options with the uploaded source maps, as the processor reads them at start."""
    return Options(secret=b"s" * 32, source_maps=maps)


def error_event(frames: list[dict], **overrides) -> dict:
    event = message(type="error", release=RELEASE, data={"kind": "js", "type": "TypeError",
                                                          "message": "item 7 has no product", "frames": frames})
    event.update(overrides)
    return event


def test_symbolicate_runs_before_the_fingerprint_so_groups_use_original_frames(warehouse, step_maps):
    assert steps.STEPS.index(steps.symbolicate) < steps.STEPS.index(steps.put_fingerprint)
    warehouse.put("~/static/js/app.min.js")
    processor = steps.steps_for(step_maps)
    event = steps.run(orjson.dumps(error_event(browser_frames())), processor)
    assert isinstance(event, dict), event
    assert positions(event["data"]["frames"]) == ORIGINAL
    original_data = copy.deepcopy(event["data"])
    assert event["fingerprint"] == fingerprints.fingerprint(original_data)
    minified = steps.run(orjson.dumps(error_event(browser_frames(), release="shop@0.9.0")), processor)
    assert minified["fingerprint"] != event["fingerprint"]


@pytest.mark.parametrize("event", [
    message(),
    error_event(browser_frames(), release=""),
    {k: v for k, v in error_event(browser_frames()).items() if k != "release"},
    error_event([]),
])
def test_events_the_step_cannot_help_pass_untouched_without_a_warehouse_read(warehouse, step_maps, event):
    warehouse.put("~/static/js/app.min.js")
    before = copy.deepcopy(event)
    assert steps.symbolicate(event, step_maps) == before
    assert warehouse.index_reads == 0


def test_without_configured_source_maps_the_step_passes_errors_through():
    event = error_event(browser_frames())
    assert steps.symbolicate(copy.deepcopy(event), Options(secret=b"s" * 32)) == event


# ── finding maps to upload ───────────────────────────────────────────────────────────────


def test_find_maps_matches_each_map_to_its_minified_file_url():
    found = sourcemaps.find_maps(DIST)
    assert [(f.url, f.map_content == MAP, f.minified == MINIFIED) for f in found] == [
        ("~/static/js/app.min.js", True, True)]
    prefixed = sourcemaps.find_maps(DIST / "static/js", "~/static/js/")
    assert [f.url for f in prefixed] == ["~/static/js/app.min.js"]
    cdn = sourcemaps.find_maps(DIST / "static", "https://cdn.example.com/assets")
    assert [f.url for f in cdn] == ["https://cdn.example.com/assets/js/app.min.js"]


def test_find_maps_says_what_to_do_when_there_are_none_or_one_is_bad(tmp_path):
    with pytest.raises(sourcemaps.UploadError, match="no \\*.js.map files.*--sourcemap"):
        sourcemaps.find_maps(tmp_path)
    with pytest.raises(sourcemaps.UploadError, match="not a folder"):
        sourcemaps.find_maps(tmp_path / "missing")
    (tmp_path / "app.js.map").write_text('{"version": 2, "mappings": ""}')
    with pytest.raises(sourcemaps.UploadError, match="app.js.map is not a usable source map: its version is 2"):
        sourcemaps.find_maps(tmp_path)


def test_a_warehouse_nobody_answers_at_leaves_frames_alone_and_is_counted(caplog):
    """The real client against a port nothing listens on: refused at once, frames kept, no raise."""
    import dataclasses

    from pipeline import settings as settings_module
    from tests.support.clickhouse import free_port

    settings = dataclasses.replace(settings_module.load(), clickhouse_url=f"http://127.0.0.1:{free_port()}")
    maps = SourceMaps.from_settings(settings)
    frames = browser_frames()
    assert maps.symbolicate(PROJECT, RELEASE, frames) == 0
    assert frames == browser_frames()
    assert maps.counts["warehouse_failures"] == 1
    assert "frames stay minified" in caplog.text
