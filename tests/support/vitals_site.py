"""The page of the web-vitals equality test, served from Python with what it reports.

``tests/e2e/vitals_app/index.html`` loads Google's web-vitals from that package's own
``node_modules`` (the pinned 6.x of its package.json, installed by ``make vitals-app``) next to
Vigil's built ``sdk-js/dist/vigil.min.js``. Each page load ``/load-<n>`` gets its plan (when its
banners shift the layout, how long its handlers keep the main thread busy, how late its image
arrives) from :meth:`VitalsSite.plan`; what web-vitals reports comes back by sendBeacon to
``POST /truth`` and is kept in :attr:`VitalsSite.truth`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.settings import REPO_ROOT
from tests.support.sdk_site import FixtureSite, noisy_png, sdk_bundle

APP_DIR = REPO_ROOT / "tests" / "e2e" / "vitals_app"
WEB_VITALS = APP_DIR / "node_modules" / "web-vitals"


@dataclass
class Plan:
    """What one page load does by itself: image delay, layout shifts [(at ms, height px)], busy
    handlers, and (a busy page) a timer keeping the main thread busy ``chores_ms`` of every 50 ms."""

    image_delay_ms: int
    shifts: list[tuple[int, int]]
    busy_ms: int
    chores_ms: int


def web_vitals_version() -> str:
    """The installed ground-truth web-vitals; a clear error when ``make vitals-app`` was not run."""
    manifest = WEB_VITALS / "package.json"
    if not manifest.exists():
        raise RuntimeError(f"{WEB_VITALS.relative_to(REPO_ROOT)} is missing: run `make vitals-app` "
                           f"(npm ci in {APP_DIR.relative_to(REPO_ROOT)})")
    return json.loads(manifest.read_text())["version"]


class VitalsSite:
    """The test page on ``http://127.0.0.1:<port>``: ``/load-<n>``, ``/blank``, ``POST /truth``."""

    def __init__(self) -> None:
        self.version = web_vitals_version()
        self.collector = self.project = self.key = ""
        self.bundle = sdk_bundle()
        self.web_vitals = (WEB_VITALS / "dist" / "web-vitals.iife.js").read_bytes()
        self.page = (APP_DIR / "index.html").read_text()
        self.hero = noisy_png(320, 160)
        self.plans: dict[int, Plan] = {}
        self.truth: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                site.get(self)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if urlsplit(self.path).path != "/truth":
                    return FixtureSite.send(self, 404, "text/plain", b"not found")
                with site.lock:
                    site.truth.append(json.loads(body))
                FixtureSite.send(self, 204, "text/plain", b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="vitals-site", daemon=True)

    def start(self) -> VitalsSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def configure(self, collector: str, project: int | str, key: str) -> None:
        """Where the page's Vigil SDK sends: the collector's base URL, the project's id and key."""
        self.collector, self.project, self.key = collector, str(project), key

    def plan(self, load: int, plan: Plan) -> None:
        self.plans[load] = plan

    def reported(self) -> list[dict[str, Any]]:
        """What web-vitals reported so far: {load, name, value, navigation_type} each."""
        with self.lock:
            return list(self.truth)

    def get(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        path = parts.path
        if path == "/web-vitals.iife.js":
            return FixtureSite.send(request, 200, "text/javascript", self.web_vitals)
        if path == "/vigil.min.js":
            return FixtureSite.send(request, 200, "text/javascript", self.bundle)
        if path == "/blank":
            return FixtureSite.send(request, 200, "text/html; charset=utf-8", b"<!doctype html><title>blank</title>")
        if path == "/hero.png":
            load = int(parse_qs(parts.query).get("load", ["0"])[0])
            time.sleep(self.plans[load].image_delay_ms / 1000 if load in self.plans else 0)
            return FixtureSite.send(request, 200, "image/png", self.hero)
        if path.startswith("/load-") and path[6:].isdigit() and int(path[6:]) in self.plans:
            load = int(path[6:])
            plan = self.plans[load]
            page = self.page
            for name, value in (("COLLECTOR", self.collector), ("PROJECT", self.project), ("KEY", self.key),
                                ("LOAD", str(load)), ("PLAN", json.dumps({"shifts": plan.shifts, "busy_ms": plan.busy_ms, "chores_ms": plan.chores_ms}))):
                page = page.replace("{{" + name + "}}", value)
            return FixtureSite.send(request, 200, "text/html; charset=utf-8", page.encode())
        return FixtureSite.send(request, 404, "text/plain", b"not found")
