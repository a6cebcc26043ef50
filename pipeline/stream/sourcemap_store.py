"""Source maps in the warehouse: ``vigil sourcemaps upload`` and ``list``, and their reads.

A release's maps live in ClickHouse's ``sourcemaps`` table (``051_sourcemaps.sql``), the one
store every processor replica already reaches, keyed by (project, release, URL of the minified
file). The URL follows Sentry's convention: ``~/static/js/app.min.js`` stands for that path on
any host (``https://shop.example.com/static/js/app.min.js``), a full URL for that URL only.

``upload`` walks a build folder for ``*.js.map``; each map's minified file is the same path
without ``.map`` (``app.min.js.map`` → ``app.min.js``) and its URL is ``--url-prefix`` (default
``~/``) + that path relative to the folder. The minified file is uploaded beside its map when
it is there: the processor needs it to name the original functions (``symbolication``).

Every map is checked before anything is stored — JSON, source map version 3, a size Vigil
will load, parsed by the same library the processor uses — so a bad build fails the upload
with the file and what to do, not the symbolication later.
"""

from __future__ import annotations

import hashlib
import posixpath
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from clickhouse_connect.driver import Client
from symbolic import SymbolicError
from symbolic.sourcemap import SourceMapView

MAX_MAP_BYTES = 32 * 1024 * 1024  # larger maps are refused at upload and never loaded
MAX_MINIFIED_BYTES = 32 * 1024 * 1024
DEFAULT_URL_PREFIX = "~/"
MAP_SUFFIX = ".map"


class InvalidSourceMap(ValueError):
    """A file is not a source map Vigil can use; the message says why."""


class UploadError(RuntimeError):
    """An upload cannot go ahead; the message says what to do."""


def parse_map(content: bytes) -> SourceMapView:
    """A source map (v3 JSON, plain or indexed with ``sections``) → the library's view of it.

    Refuses what would be costly or wrong to use: more than :data:`MAX_MAP_BYTES`, not JSON,
    not an object, a version other than 3, no ``mappings``/``sections``, mappings the parser
    rejects. The checks before the parser are cheap and give clearer reasons than its own.
    """
    if len(content) > MAX_MAP_BYTES:
        raise InvalidSourceMap(f"it is {len(content) / 2**20:.1f} MiB; Vigil loads maps up to "
                               f"{MAX_MAP_BYTES // 2**20} MiB (drop sourcesContent, or split the bundle)")
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise InvalidSourceMap(f"it is not JSON ({exc})") from None
    if type(document) is not dict:
        raise InvalidSourceMap(f"a source map is a JSON object, this is a {type(document).__name__}")
    if document.get("version") != 3:
        raise InvalidSourceMap(f"its version is {document.get('version')!r}; only version 3 source maps exist "
                               "in practice (every current bundler writes them)")
    if type(document.get("mappings")) is not str and type(document.get("sections")) is not list:
        raise InvalidSourceMap("it has neither \"mappings\" nor \"sections\"")
    try:
        return SourceMapView.from_json_bytes(content)
    except SymbolicError as exc:
        raise InvalidSourceMap(f"its mappings cannot be read ({exc})") from None


@dataclass(frozen=True, slots=True)
class SourceMapFile:
    """One map found in a build folder, checked, with its minified file if present."""

    url: str  # the minified file's URL, as the processor matches frames to it
    map_path: Path
    map_content: bytes
    minified: bytes  # b"" when the minified file is not beside the map

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.map_content).hexdigest()


def url_for(prefix: str, relative: str) -> str:
    """``~/static/js/`` + ``app.min.js`` → ``~/static/js/app.min.js`` (one slash between)."""
    if not prefix:
        return relative
    return prefix.rstrip("/") + "/" + relative.lstrip("/")


def find_maps(folder: Path, url_prefix: str = DEFAULT_URL_PREFIX) -> list[SourceMapFile]:
    """Every ``*.js.map`` under ``folder`` (recursively, sorted), checked and matched to its URL."""
    if not folder.is_dir():
        raise UploadError(f"{folder} is not a folder; pass the build output folder, e.g. dist/")
    found = []
    for map_path in sorted(folder.rglob("*.js" + MAP_SUFFIX)):
        if not map_path.is_file():
            continue
        content = map_path.read_bytes()
        try:
            parse_map(content)
        except InvalidSourceMap as exc:
            raise UploadError(f"{map_path} is not a usable source map: {exc}. Fix the build's source map "
                              "option (e.g. esbuild --sourcemap, webpack devtool: 'source-map') or leave the "
                              "file out; nothing was uploaded.") from None
        minified_path = map_path.with_name(map_path.name[: -len(MAP_SUFFIX)])
        minified = minified_path.read_bytes() if minified_path.is_file() else b""
        if len(minified) > MAX_MINIFIED_BYTES:
            minified = b""  # still symbolicates positions; function names then come from the map alone
        relative = minified_path.relative_to(folder).as_posix()
        found.append(SourceMapFile(url_for(url_prefix, relative), map_path, content, minified))
    if not found:
        raise UploadError(f"no *.js.map files under {folder}. Build with source maps on (e.g. esbuild "
                          "--sourcemap, vite build.sourcemap: true, webpack devtool: 'source-map') and pass "
                          "the folder they are written to.")
    return found


# ── the warehouse ──────────────────────────────────────────────────────────────────────────

COLUMNS = ("project_id", "release", "url", "map", "minified", "map_bytes", "sha256", "uploaded_at", "version")


def store(client: Client, project_id: int, release: str, maps: list[SourceMapFile]) -> None:
    """Insert ``maps`` for (project, release); an existing URL gets a newer version (it wins)."""
    now = datetime.now(timezone.utc)
    version = time.time_ns()
    rows = [[project_id, release, found.url, found.map_content, found.minified, len(found.map_content),
             found.sha256, now, version + index] for index, found in enumerate(maps)]
    client.insert("sourcemaps", rows, column_names=list(COLUMNS))


LIST = """
SELECT release, url, map_bytes, length(minified) AS minified_bytes, sha256, uploaded_at
FROM sourcemaps FINAL
WHERE project_id = {project_id:UInt32}
  AND ({release:String} = '' OR release = {release:String})
ORDER BY uploaded_at DESC, release, url
"""


def list_maps(client: Client, project_id: int, release: str = "") -> list[dict[str, Any]]:
    """The maps of a project (one release, or all), newest upload first."""
    result = client.query(LIST, parameters={"project_id": project_id, "release": release})
    return [dict(zip(result.column_names, row)) for row in result.result_rows]


INDEX = """
SELECT url, version
FROM sourcemaps FINAL
WHERE project_id = {project_id:UInt32} AND release = {release:String}
"""

CONTENT = """
SELECT map, minified
FROM sourcemaps FINAL
WHERE project_id = {project_id:UInt32} AND release = {release:String} AND url = {url:String}
  AND version = {version:UInt64}
"""


def release_index(client: Client, project_id: int, release: str) -> dict[str, int]:
    """The URLs with a map in (project, release) and the version of each: one small read."""
    result = client.query(INDEX, parameters={"project_id": project_id, "release": release})
    return {url: int(version) for url, version in result.result_rows}


def map_content(client: Client, project_id: int, release: str, url: str, version: int) -> tuple[bytes, bytes] | None:
    """(map JSON, minified file or ``b""``) of one version of one URL's map; None if it was replaced."""
    result = client.query(CONTENT, parameters={"project_id": project_id, "release": release, "url": url,
                                               "version": version},
                          column_formats={"map": "bytes", "minified": "bytes"})
    return (result.result_rows[0][0], result.result_rows[0][1]) if result.result_rows else None


def source_path(map_url: str, source: str) -> str:
    """Where a map's ``sources`` entry lives, as a path people recognise.

    Relative entries are relative to the map (esbuild writes ``../../src/cart.js`` beside
    ``~/static/js/app.min.js``) and become ``/src/cart.js``; URLs (``webpack://shop/./src/x.js``)
    and absolute paths stay as they are.
    """
    if "://" in source or source.startswith("/") or ":" in source.split("/", 1)[0]:
        return source
    path = map_url[1:] if map_url.startswith("~/") else _url_path(map_url)
    return posixpath.normpath(posixpath.join(posixpath.dirname(path) or "/", source))


def _url_path(url: str) -> str:
    after_scheme = url.split("://", 1)[1] if "://" in url else url
    slash = after_scheme.find("/")
    return after_scheme[slash:] if slash >= 0 else "/"


# ── the command ────────────────────────────────────────────────────────────────────────────


def resolve_project(client: Client, project: str) -> int:
    """A project given as its id or its name → its id; an error that lists the known ones."""
    from pipeline.warehouse.projects import list_projects

    projects = list_projects(client)
    for known in projects:
        if project == str(known.id) or project == known.name:
            return known.id
    names = ", ".join(f"{p.id} ({p.name})" for p in projects) or "none yet"
    raise UploadError(f"unknown project {project!r}; known projects: {names}. "
                      "Create one with `vigil project create NAME`, or pass an id from `vigil project list`.")
