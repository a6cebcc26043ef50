"""A page instrumented with the official @sentry/browser SDK, served for tests against Vigil.

``tests/e2e/sentry_app`` holds the page and its script; its npm packages (each supported major
of the Sentry SDK under an npm alias, ``sentry8`` … ``sentry11``, and esbuild) are installed by
``make test`` (``npm ci``), and :func:`build_app` bundles the script once per major, minified
with a source map, as a Sentry user ships it (``dist/<major>/app.min.js``). The page is served from its own
loopback port, so the SDK's requests to the collector are cross-origin, as on a real site;
the only Vigil-specific thing in it is the DSN, written into the page per request.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.settings import REPO_ROOT
from tests.support.sdk_site import FixtureSite

APP_DIR = REPO_ROOT / "tests" / "e2e" / "sentry_app"
DIST = APP_DIR / "dist"
BUNDLE = "app.min.js"
SITE_HOST = "127.0.0.2"
MAJORS = ("8", "9", "10", "11")  # the npm aliases sentry8 … sentry11 in the app's package.json


def build_app() -> Path:
    """Bundle the app per major (minified, with ``<major>/app.min.js.map``); returns the dist folder."""
    if not all((APP_DIR / "node_modules" / f"sentry{major}").is_dir() for major in MAJORS) or shutil.which("npm") is None:
        raise RuntimeError(f"the Sentry test app's npm packages are not installed: run `make sentry-app` "
                           f"(npm ci in {APP_DIR.relative_to(REPO_ROOT)})")
    build = subprocess.run(["npm", "run", "build"], cwd=APP_DIR, capture_output=True, text=True, timeout=300)
    if build.returncode != 0 or not all((DIST / major / BUNDLE).exists() for major in MAJORS):
        raise RuntimeError(f"`npm run build` in {APP_DIR} failed:\n{build.stdout}{build.stderr}")
    return DIST


class SentrySite:
    """The page on ``http://127.0.0.2:<port>/`` with the bundle of one Sentry major (``/blank`` is
    a page without the SDK; ``POST /api/pay`` answers 503, for ``httpClientIntegration``).

    The source map is not served: symbolication must come from the upload, as in production
    where maps stay private.
    """

    def __init__(self, major: str) -> None:
        self.page = b""
        self.bundle = (DIST / major / BUNDLE).read_bytes()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                if path in ("/", "/cart"):
                    FixtureSite.send(self, 200, "text/html; charset=utf-8", site.page)
                elif path == f"/{BUNDLE}":
                    FixtureSite.send(self, 200, "text/javascript", site.bundle)
                elif path == "/blank":
                    FixtureSite.send(self, 200, "text/html; charset=utf-8", b"<!doctype html><title>blank</title>")
                else:
                    FixtureSite.send(self, 404, "text/plain", b"not found")

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                FixtureSite.send(self, 503, "application/json", b'{"error":"payments are down"}')

            def log_message(self, format: str, *args: object) -> None:
                pass

        # Another loopback address than the collector's: Sentry's SDKs take any URL containing the
        # DSN's host (without its port) for their own requests, and would not report the page's
        # failed API calls if the page were on 127.0.0.1 too.
        self.server = ThreadingHTTPServer((SITE_HOST, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{SITE_HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="sentry-site", daemon=True)
        self.thread.start()

    def configure(self, dsn: str, release: str, environment: str) -> None:
        """What a Sentry user configures: the DSN (here pointing at Vigil), the release and environment."""
        self.page = ((APP_DIR / "index.html").read_text().replace("{{DSN}}", dsn)
                     .replace("{{RELEASE}}", release).replace("{{ENVIRONMENT}}", environment)).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
