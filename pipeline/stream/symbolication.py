"""Minified stack frames → original file, line, column and function, from uploaded source maps.

The maps are in the warehouse (``pipeline.stream.sourcemap_store``); a processor loads them lazily, the
first time an error of that (project, release) needs one, and keeps:

* a **release index** per (project, release): which URLs have a map, and their versions; one
  small query, kept :attr:`SourceMaps.ttl` seconds (a minute by default), so a map uploaded
  after the release's first error is picked up within that time. A release without maps is
  this same entry, empty: the negative cache that makes its errors cost one dict look-up;
* the **parsed maps** in an LRU of :attr:`SourceMaps.capacity` entries, keyed by (project,
  release, URL, version): a re-upload is a new version, hence a new entry. A map that cannot
  be used (not JSON, wrong version, too big) is cached as unusable, counted and logged once.

When the warehouse cannot be reached the frames stay as they are, the failure is counted and
logged, and the release is not asked again for :data:`RETRY_AFTER_FAILURE` seconds, so an
outage costs one short, timed-out request per release and interval — never a stalled stream
or a dropped event.

The parsing and look-ups are Sentry's ``symbolic`` (its Rust ``sourcemap`` crate behind
Python bindings), the library Sentry itself symbolicates JavaScript with: it reads index maps,
and with the minified file at hand recovers original function names from the minified scope.
A frame keeps its minified position as ``raw_filename``, ``raw_function``, ``raw_lineno`` and
``raw_colno``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from symbolic import SymbolicError
from symbolic.sourcemap import SourceMapView, SourceView

from pipeline.stream import sourcemap_store

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = 10.0  # seconds a release is not asked about again after the warehouse failed
MAX_RELEASES = 4096  # release indexes kept (the oldest is forgotten first)
VENDOR_MARKER = "/node_modules/"  # an original file under it is library code, not the app's

IndexFetcher = Callable[[int, str], "dict[str, int]"]
ContentFetcher = Callable[[int, str, str, int], "tuple[bytes, bytes] | None"]


class _Unavailable(Exception):
    """The warehouse failed while loading a map (already counted and logged)."""


@dataclass(frozen=True, slots=True)
class LoadedMap:
    """One parsed map, with the minified file it belongs to when that was uploaded too."""

    url: str
    view: SourceMapView
    minified: SourceView | None


@functools.lru_cache(maxsize=4096)
def candidate_urls(filename: str) -> tuple[str, ...]:
    """The keys a frame's file may be stored under, most specific first.

    ``https://shop.example.com/static/app.min.js?v=3#x`` → the URL without query and fragment,
    then ``~/static/app.min.js`` (Sentry's any-host form). A ``~/…`` or relative name as is.
    """
    url = filename.split("#", 1)[0].split("?", 1)[0]
    scheme = url.find("://")
    if scheme <= 0:
        return (url,)
    slash = url.find("/", scheme + 3)
    path = url[slash:] if slash >= 0 else "/"
    return (url, "~" + path)


class SourceMaps:
    """The processor's source maps: release indexes and parsed maps, loaded on first need."""

    def __init__(self, fetch_index: IndexFetcher, fetch_content: ContentFetcher, *, ttl: float = 60.0,
                 capacity: int = 128, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._fetch_index = fetch_index
        self._fetch_content = fetch_content
        self._clock = clock
        # a plain dict (insertion-ordered, faster to read than an OrderedDict): the hot path
        self._releases: dict[tuple[int, str], tuple[float, dict[str, int]]] = {}
        self._maps: OrderedDict[tuple[int, str, str, int], LoadedMap | None] = OrderedDict()
        # frames symbolicated / left as they were (no map, no position, nothing mapped there);
        # maps loaded / unusable; warehouse failures
        self.counts: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Any) -> SourceMaps:
        """Maps read from the warehouse at ``settings.clickhouse_url`` (see :class:`WarehouseMaps`)."""
        warehouse = WarehouseMaps(settings)
        return cls(warehouse.index, warehouse.content, ttl=settings.sourcemap_ttl_s,
                   capacity=settings.sourcemap_cache_size)

    # ── the release index (and negative cache) ────────────────────────────────────────────

    def release_urls(self, project_id: int, release: str) -> dict[str, int]:
        """URL → version of the maps of (project, release); ``{}`` when it has none (cached)."""
        cached = self._releases.get((project_id, release))
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        return self._refresh(project_id, release)

    def _refresh(self, project_id: int, release: str) -> dict[str, int]:
        now = self._clock()
        try:
            urls = self._fetch_index(project_id, release)
            expires = now + self.ttl
        except Exception as exc:  # the warehouse is down or slow: symbolicate later, never stall
            self._unavailable(project_id, release, exc)
            urls, expires = {}, now + RETRY_AFTER_FAILURE
        self._remember(project_id, release, expires, urls)
        return urls

    def _remember(self, project_id: int, release: str, expires: float, urls: dict[str, int]) -> None:
        key = (project_id, release)
        self._releases.pop(key, None)  # re-inserted last: the oldest entries are the first forgotten
        self._releases[key] = (expires, urls)
        if len(self._releases) > MAX_RELEASES:
            del self._releases[next(iter(self._releases))]

    def _unavailable(self, project_id: int, release: str, exc: Exception) -> None:
        self.counts["warehouse_failures"] += 1
        log.warning("source maps of project %d release %r could not be read (%s: %s); frames stay minified, "
                    "retrying in %.0f s", project_id, release, type(exc).__name__, str(exc)[:200],
                    RETRY_AFTER_FAILURE)

    # ── the parsed maps ───────────────────────────────────────────────────────────────────

    def map_for(self, project_id: int, release: str, filename: str) -> LoadedMap | None:
        """The map of the minified file a frame names, if (project, release) has one for it."""
        try:
            return self._map_in(project_id, release, self.release_urls(project_id, release), filename)
        except _Unavailable:
            return None

    def _map_in(self, project_id: int, release: str, urls: dict[str, int], filename: str) -> LoadedMap | None:
        for url in candidate_urls(filename):
            version = urls.get(url)
            if version is not None:
                return self._loaded(project_id, release, url, version)
        return None

    def _loaded(self, project_id: int, release: str, url: str, version: int) -> LoadedMap | None:
        key = (project_id, release, url, version)
        if key in self._maps:
            self._maps.move_to_end(key)
            return self._maps[key]
        try:
            content = self._fetch_content(project_id, release, url, version)
        except Exception as exc:  # as for the index: leave this release alone for a while
            self._unavailable(project_id, release, exc)
            self._remember(project_id, release, self._clock() + RETRY_AFTER_FAILURE, {})
            raise _Unavailable from exc
        loaded = self._parse(url, content) if content is not None else None
        self._maps[key] = loaded
        if len(self._maps) > self.capacity:
            self._maps.popitem(last=False)
        return loaded

    def _parse(self, url: str, content: tuple[bytes, bytes]) -> LoadedMap | None:
        map_json, minified = content
        try:
            view = sourcemap_store.parse_map(map_json)
            source = SourceView.from_bytes(minified) if minified else None
        except (sourcemap_store.InvalidSourceMap, SymbolicError) as exc:
            self.counts["maps_unusable"] += 1
            log.warning("the source map of %s is unusable (%s); its frames stay minified. Upload a valid one "
                        "with `vigil sourcemaps upload`", url, exc)
            return None
        self.counts["maps_loaded"] += 1
        log.info("loaded the source map of %s (%d bytes%s)", url, len(map_json),
                 ", with its minified file" if source is not None else "; no minified file: function names stay")
        return LoadedMap(url, view, source)

    # ── frames ────────────────────────────────────────────────────────────────────────────

    def symbolicate(self, project_id: int, release: str, frames: list[Any]) -> int:
        """Rewrite ``frames`` in place to their original positions; the number rewritten."""
        # release_urls inlined: this is the whole cost of an error from a release without maps
        cached = self._releases.get((project_id, release))
        urls = cached[1] if cached is not None and cached[0] > self._clock() else self._refresh(project_id, release)
        if not urls:
            return 0
        rewritten = 0
        for frame in frames:
            filename = frame.get("filename") if type(frame) is dict else None
            if type(filename) is not str or not filename:
                continue
            try:
                loaded = self._map_in(project_id, release, urls, filename)
            except _Unavailable:
                break  # the warehouse failed: the rest of the frames stay as they are too
            if loaded is not None and symbolicate_frame(frame, loaded):
                rewritten += 1
        self.counts["frames_symbolicated"] += rewritten
        self.counts["frames_left"] += len(frames) - rewritten
        return rewritten


def minified_name(function: str) -> str:
    """The minified identifier in a browser's frame name, which is what the map's scopes know.

    V8 names a method call by its receiver (``HTMLButtonElement.Mf``, ``Object.a``) and marks
    ``async Mf`` and ``new Mf``; the minified scope only has ``Mf``.
    """
    for prefix in ("async ", "new "):
        if function.startswith(prefix):
            function = function[len(prefix):]
    return function.rsplit(".", 1)[-1].strip()


def symbolicate_frame(frame: dict[str, Any], loaded: LoadedMap) -> bool:
    """One frame (1-based ``lineno``/``colno``, as browsers report them) → its original position.

    False, leaving the frame untouched, when it has no usable position or the map has nothing
    on that minified line: the library answers a look-up past a line's end with the nearest
    earlier token, which may sit on an earlier line — a wrong answer, so it is refused here.
    """
    lineno, colno, function = frame.get("lineno"), frame.get("colno"), frame.get("function")
    if type(lineno) is not int or type(colno) is not int or lineno < 1 or colno < 1:
        return False
    try:
        name = minified_name(function) if loaded.minified is not None and type(function) is str else ""
        if name:
            token = loaded.view.lookup(lineno - 1, colno - 1, name, loaded.minified)
        else:
            token = loaded.view.lookup(lineno - 1, colno - 1)
    except SymbolicError:
        return False
    if token is None or token.dst_line != lineno - 1 or not token.src:
        return False
    original_file = sourcemap_store.source_path(loaded.url, token.src)
    frame["raw_filename"], frame["raw_lineno"], frame["raw_colno"] = frame.get("filename"), lineno, colno
    if type(function) is str:
        frame["raw_function"] = function
    frame["filename"] = original_file
    frame["lineno"] = token.src_line + 1
    frame["colno"] = token.src_col + 1
    if token.function_name:
        frame["function"] = token.function_name
    if VENDOR_MARKER in original_file:
        frame["in_app"] = False
    return True


class WarehouseMaps:
    """Reads maps from ClickHouse with short timeouts, connecting on first use (and after a failure).

    The processor's step must not wait long on a missing warehouse; its sink keeps its own
    client for inserts, whose retries and timeouts are tuned for batches instead.
    """

    CONNECT_TIMEOUT_S = 2
    READ_TIMEOUT_S = 10

    def __init__(self, settings: Any) -> None:
        self._settings = settings
        self._client: Any = None

    def _connected(self) -> Any:
        if self._client is None:
            from pipeline.warehouse.client import connect

            self._client = connect(self._settings, connect_timeout=self.CONNECT_TIMEOUT_S,
                                   send_receive_timeout=self.READ_TIMEOUT_S, query_retries=0)
        return self._client

    def index(self, project_id: int, release: str) -> dict[str, int]:
        try:
            return sourcemap_store.release_index(self._connected(), project_id, release)
        except Exception:
            self._client = None  # reconnect next time: the server may have restarted elsewhere
            raise

    def content(self, project_id: int, release: str, url: str, version: int) -> tuple[bytes, bytes] | None:
        try:
            return sourcemap_store.map_content(self._connected(), project_id, release, url, version)
        except Exception:
            self._client = None
            raise
