"""A page instrumented with the official @sentry/browser SDK, served for tests against Vigil.

``tests/e2e/sentry_app`` holds the page and its script; its npm packages (the Sentry SDK and
esbuild) are installed by ``make test`` (``npm ci``), and :func:`build_app` bundles the script
minified with a source map, as a Sentry user ships it. The page is served from its own
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


def build_app() -> Path:
    """Bundle the app (minified, with ``app.min.js.map`` beside it); returns the dist folder."""
    if not (APP_DIR / "node_modules" / "@sentry" / "browser").is_dir() or shutil.which("npm") is None:
        raise RuntimeError(f"the Sentry test app's npm packages are not installed: run `make sentry-app` "
                           f"(npm ci in {APP_DIR.relative_to(REPO_ROOT)})")
    build = subprocess.run(["npm", "run", "build"], cwd=APP_DIR, capture_output=True, text=True, timeout=300)
    if build.returncode != 0 or not (DIST / BUNDLE).exists():
        raise RuntimeError(f"`npm run build` in {APP_DIR} failed:\n{build.stdout}{build.stderr}")
    return DIST


class SentrySite:
    """The page on ``http://127.0.0.1:<port>/`` (``/blank`` is a page without the SDK).

    The source map is not served: symbolication must come from the upload, as in production
    where maps stay private.
    """

    def __init__(self) -> None:
        self.page = b""
        self.bundle = (DIST / BUNDLE).read_bytes()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                if path == "/":
                    FixtureSite.send(self, 200, "text/html; charset=utf-8", site.page)
                elif path == f"/{BUNDLE}":
                    FixtureSite.send(self, 200, "text/javascript", site.bundle)
                elif path == "/blank":
                    FixtureSite.send(self, 200, "text/html; charset=utf-8", b"<!doctype html><title>blank</title>")
                else:
                    FixtureSite.send(self, 404, "text/plain", b"not found")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="sentry-site", daemon=True)
        self.thread.start()

    def configure(self, dsn: str, release: str, environment: str) -> None:
        """What a Sentry user configures: the DSN (here pointing at Vigil), the release and environment."""
        self.page = ((APP_DIR / "index.html").read_text().replace("{{DSN}}", dsn)
                     .replace("{{RELEASE}}", release).replace("{{ENVIRONMENT}}", environment)).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
