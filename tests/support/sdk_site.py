"""The browser SDK's fixture shop, served from Python for tests against the real pipeline.

The pages are the SDK's own end-to-end fixtures (``sdk-js/e2e/fixtures``: the script tag
from docs/sdk.md and a shop script whose buttons fail the way real pages do), served with
the built ``sdk-js/dist/vigil.min.js`` from a loopback port of their own, so every request
the SDK makes to the collector is cross-origin, as on a real site. The placeholders in the
page are filled per request: the collector and project from :meth:`FixtureSite.configure`,
``?transport=`` and ``?key=`` from the page's query string (a wrong key on purpose);
``?debug=1`` adds ``data-debug`` to the script tag (the SDK then logs what it drops).
``/early`` is the page whose failures come before the SDK: it loads the SDK with the loader
snippet (``sdk-js/dist/loader.min.js``), and the site sends that page's SDK :data:`LATE_S` late.

Debian's Chromium is the browser (:data:`CHROMIUM`, :data:`CHROMIUM_ARGS`); nothing here
downloads one.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pipeline.settings import REPO_ROOT

SDK_DIR = REPO_ROOT / "sdk-js"
FIXTURES = SDK_DIR / "e2e" / "fixtures"
BUNDLE = SDK_DIR / "dist" / "vigil.min.js"
LOADER = SDK_DIR / "dist" / "loader.min.js"
LATE_S = 1.5  # how long /early's SDK is held back
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def sdk_bundle() -> bytes:
    """The built script-tag bundle; built (with the loader snippet) by ``npm run build`` if the SDK's packages are installed."""
    if not (BUNDLE.exists() and LOADER.exists()):
        if not (SDK_DIR / "node_modules").is_dir() or shutil.which("npm") is None:
            raise RuntimeError(f"{BUNDLE} is missing and the SDK's npm packages are not installed: run `make sdk`")
        build = subprocess.run(["npm", "run", "build"], cwd=SDK_DIR, capture_output=True, text=True, timeout=300)
        if build.returncode != 0 or not (BUNDLE.exists() and LOADER.exists()):
            raise RuntimeError(f"`npm run build` in sdk-js failed (run `make sdk` to see why):\n{build.stdout}{build.stderr}")
    return BUNDLE.read_bytes()


def noisy_png(width: int, height: int) -> bytes:
    """A photo-like PNG of random pixels.

    Chromium skips low-entropy images as LCP candidates, so the hero must carry real image
    data to be the page's largest contentful paint.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class FixtureSite:
    """The fixture shop on ``http://127.0.0.1:<port>`` (also reachable as ``http://localhost:<port>``).

    ``/`` and ``/cart`` are the shop page, ``/app.js`` its script, ``/vigil.min.js`` the SDK,
    ``/hero.png`` the LCP image, ``/blank`` a page without the SDK, ``/early`` failures before a
    late SDK; ``/api/cart`` answers 500 and ``/api/slow`` takes 2 s.
    """

    def __init__(self) -> None:
        self.collector = ""
        self.project = ""
        self.key = ""
        self.bundle = sdk_bundle()
        self.hero = noisy_png(320, 160)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                site.answer(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                self.body = self.rfile.read(int(self.headers.get("content-length") or 0))  # for subclasses' answer()
                site.answer(self, "POST")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fixture-site", daemon=True)

    def start(self) -> FixtureSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def configure(self, collector: str, project: int | str, key: str) -> None:
        """Where the page's SDK sends: the collector's base URL, the project's id and key."""
        self.collector, self.project, self.key = collector, str(project), key

    def answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/api/cart":
            return self.send(request, 500, "application/json", b'{"error":"db down"}')
        if path == "/api/slow":
            time.sleep(2)
            return self.send(request, 200, "text/plain", b"late")
        if method != "GET":
            return self.send(request, 405, "text/plain", b"method not allowed")
        if path == "/hero.png":
            return self.send(request, 200, "image/png", self.hero)
        if path == "/vigil.min.js":
            if "late" in query:
                time.sleep(LATE_S)
            return self.send(request, 200, "text/javascript", self.bundle)
        if path == "/early":
            return self.send(request, 200, "text/html; charset=utf-8", self.early_page().encode())
        if path == "/app.js":
            return self.send(request, 200, "text/javascript; charset=utf-8", (FIXTURES / "app.js").read_bytes())
        if path == "/blank":  # a page of the site without the SDK
            return self.send(request, 200, "text/html; charset=utf-8", b"<!doctype html><title>blank</title>")
        if path in ("/", "/cart", "/about", "/contact"):
            page = (FIXTURES / "index.html").read_text()
            for name, value in (("COLLECTOR", self.collector), ("PROJECT", self.project),
                                ("KEY", query.get("key", self.key)), ("TRANSPORT", query.get("transport", "auto"))):
                page = page.replace("{{" + name + "}}", value)
            if "debug" in query:
                page = page.replace('<script async src="/vigil.min.js"', '<script async data-debug src="/vigil.min.js"')
            return self.send(request, 200, "text/html; charset=utf-8", page.encode())
        return self.send(request, 404, "text/plain", b"not found")

    def early_page(self) -> str:
        """The early-errors fixture, its SDK loaded by the loader snippet from a late URL."""
        snippet = (f'<script data-src="/vigil.min.js?late=1" data-endpoint="{self.collector}" '
                   f'data-project-id="{self.project}" data-key="{self.key}" data-release="fixture@1.0.0" '
                   f'data-environment="e2e">\n{LOADER.read_text()}\n</script>')
        return (FIXTURES / "early.html").read_text().replace("{{SDK}}", snippet)

    @staticmethod
    def send(request: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.send_header("Cache-Control", "no-store")
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page went away (a timed-out XHR)
            pass
