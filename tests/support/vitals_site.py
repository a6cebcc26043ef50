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
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.settings import REPO_ROOT
from tests.support.sdk_site import FixtureSite

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


class VitalsSite(FixtureSite):
    """The test page on ``http://127.0.0.1:<port>``: ``/load-<n>``, ``/blank``, ``POST /truth``."""

    def __init__(self) -> None:
        self.version = web_vitals_version()
        self.web_vitals = (WEB_VITALS / "dist" / "web-vitals.iife.js").read_bytes()
        self.page = (APP_DIR / "index.html").read_text()
        self.plans: dict[int, Plan] = {}
        self.truth: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        super().__init__()

    def plan(self, load: int, plan: Plan) -> None:
        self.plans[load] = plan

    def reported(self) -> list[dict[str, Any]]:
        """What web-vitals reported so far: {load, name, value, navigation_type} each."""
        with self.lock:
            return list(self.truth)

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        path = parts.path
        if method == "POST":
            if path != "/truth":
                return self.send(request, 404, "text/plain", b"not found")
            with self.lock:
                self.truth.append(json.loads(request.body))  # type: ignore[attr-defined]
            return self.send(request, 204, "text/plain", b"")
        if path == "/web-vitals.iife.js":
            return self.send(request, 200, "text/javascript", self.web_vitals)
        if path == "/vigil.min.js":
            return self.send(request, 200, "text/javascript", self.bundle)
        if path == "/blank":
            return self.send(request, 200, "text/html; charset=utf-8", b"<!doctype html><title>blank</title>")
        if path == "/hero.png":
            load = int(parse_qs(parts.query).get("load", ["0"])[0])
            time.sleep(self.plans[load].image_delay_ms / 1000 if load in self.plans else 0)
            return self.send(request, 200, "image/png", self.hero)
        if path.startswith("/load-") and path[6:].isdigit() and int(path[6:]) in self.plans:
            load = int(path[6:])
            plan = self.plans[load]
            page = self.page
            behaviour = {"shifts": plan.shifts, "busy_ms": plan.busy_ms, "chores_ms": plan.chores_ms}
            for name, value in (("COLLECTOR", self.collector), ("PROJECT", self.project), ("KEY", self.key),
                                ("LOAD", str(load)), ("PLAN", json.dumps(behaviour))):
                page = page.replace("{{" + name + "}}", value)
            return self.send(request, 200, "text/html; charset=utf-8", page.encode())
        return self.send(request, 404, "text/plain", b"not found")
