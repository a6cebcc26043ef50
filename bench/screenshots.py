"""Screenshots of every dashboard page on simulated data, for docs/img/ (not a benchmark: it
lives here beside the week-of-traffic generator in bench/warehouse.py it uses).

    .venv/bin/python bench/screenshots.py                   # writes docs/img/<page>.png

Runs the whole platform with ``vigil up`` (Kafka, ClickHouse, collector, processor, alerts,
dashboard, simulator) in a scratch data directory on ports of its own, so it never collides
with a running stack; loads a week of history into the demo project (bench/warehouse.py's
generator, ~1.5M events) so trends and breakdowns have something to show, lets the live
simulator run a few minutes, then opens each page in headless Chromium (/usr/bin/chromium,
driven by Playwright) at 1440 px wide and saves a full-page screenshot. Fails (exit 1, the
screenshots still written) when a metric's value is cut short with an ellipsis at that width.
Stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright
from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import warehouse as bench  # noqa: E402  (bench/warehouse.py)

from pipeline import queries  # noqa: E402
from pipeline import settings as settings_module  # noqa: E402
from pipeline.warehouse.projects import ensure  # noqa: E402
from pipeline.warehouse.client import connect, wait_until_ready  # noqa: E402
from tests.support.clickhouse import free_port  # noqa: E402

console = Console(highlight=False)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# page → (URL path, extra query parameters)
PAGES = {
    "overview": ("", {"range": "6h"}),
    "web_vitals": ("web_vitals", {"range": "24h", "vital": "LCP"}),
    "errors": ("errors", {"range": "24h"}),
    "error_group": ("errors", {"range": "7d"}),  # + ?group=<the top group>
    "funnels": ("funnels", {"range": "24h",
                            "steps": "page /\npage /c/*\npage /p/*\npage /cart\npage /checkout\nevent purchase"}),
    "traffic": ("traffic", {"range": "24h"}),
}


# metric values Streamlit cut short with an ellipsis: their text is wider than their box
TRUNCATED_METRICS = """
() => [...document.querySelectorAll('[data-testid="stMetric"]')]
  .map(metric => [metric.querySelector('[data-testid="stMetricLabel"]'),
                  metric.querySelector('[data-testid="stMetricValue"]')])
  .filter(([label, value]) => value && [value, ...value.querySelectorAll('*')]
          .some(node => node.scrollWidth > node.clientWidth + 1))
  .map(([label, value]) => `${label ? label.innerText.trim() : '?'}: ${value.innerText.trim()}`)
"""


def wait_for(url: str, what: str, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"vigil up exited ({process.returncode}) while waiting for {what}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--history", type=int, default=3_000_000, help="events of history to load (default 3M)")
    parser.add_argument("--live", type=float, default=120.0, help="seconds of live simulated traffic first")
    parser.add_argument("--width", type=int, default=1440, help="window width in CSS pixels (default 1440)")
    parser.add_argument("--height", type=int, default=900, help="window height before it grows to the page")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="vigil-screenshots-"))
    ports = {name: free_port() for name in ("VIGIL_KAFKA_PORT", "VIGIL_KAFKA_CONTROLLER_PORT",
                                            "VIGIL_CLICKHOUSE_PORT", "VIGIL_COLLECTOR_PORT", "VIGIL_DASHBOARD_PORT")}
    env = {**os.environ, "VIGIL_DATA_DIR": str(scratch), **{k: str(v) for k, v in ports.items()},
           "VIGIL_KAFKA_BROKERS": f"127.0.0.1:{ports['VIGIL_KAFKA_PORT']}",
           "VIGIL_CLICKHOUSE_URL": f"http://127.0.0.1:{ports['VIGIL_CLICKHOUSE_PORT']}",
           "VIGIL_DASHBOARD_REFRESH": "3600"}  # no live refresh while a page is photographed
    env.pop("VIGIL_DASHBOARD_USERS", None)
    log = open(scratch / "vigil-up.log", "wb")
    console.print(f"vigil up in {scratch} (dashboard on port {ports['VIGIL_DASHBOARD_PORT']})")
    # the live rate of the week's history (~300 events/min), so the newest minutes look like the rest
    up = subprocess.Popen([sys.executable, "-m", "pipeline.commands.cli", "up", "--rate", "5"], cwd=REPO, env=env,
                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        dashboard = f"http://127.0.0.1:{ports['VIGIL_DASHBOARD_PORT']}"
        wait_for(f"{dashboard}/_stcore/health", "the dashboard", 300, up)
        os.environ.update({k: v for k, v in env.items() if k.startswith("VIGIL_")})
        config = settings_module.load()
        wait_until_ready(config.clickhouse_url, timeout=60)
        client = connect(config)
        project = ensure(client, "demo")
        now = datetime.now(timezone.utc)
        console.print(f"loading {args.history:,} events of history into project {project.id}")
        bench.load(client, args.history, now - bench.SPAN - timedelta(minutes=10), seed=11, project_id=project.id)
        console.print(f"letting the simulator run {args.live:.0f} s")
        time.sleep(args.live)
        top = queries.error_groups(client, queries.Filters.last_minutes(project.id, timedelta(days=7)))
        group = top["error_group"][0] if top.height else ""
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            viewport = {"width": args.width, "height": args.height}
            page = browser.new_page(viewport=viewport, device_scale_factor=1)
            cut_short: list[str] = []
            for name, (path, params) in PAGES.items():
                query = {"project": str(project.id), **params, **({"group": group} if name == "error_group" else {})}
                url = str(httpx.URL(f"{dashboard}/{path}", params=query))
                page.goto(url, wait_until="networkidle")
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=60_000)
                # done when the app has stopped running and the charts have drawn
                page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
                time.sleep(4)
                cut_short += [f"{name}: {metric}" for metric in page.evaluate(TRUNCATED_METRICS)]
                # Streamlit scrolls inside its main container, so grow the window to the content's height
                height = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
                page.set_viewport_size({"width": args.width, "height": min(int(height) + 120, 6000)})
                time.sleep(3)
                target = args.out / f"{name}.png"
                page.screenshot(path=str(target), full_page=True)
                page.set_viewport_size(viewport)
                console.print(f"{name}: {target} ({target.stat().st_size // 1024} KiB)")
            browser.close()
        if cut_short:
            console.print(f"[red]metric values cut short at {args.width} px:[/] " + "; ".join(cut_short))
            return 1
        console.print(f"every metric value fully visible at {args.width}×{args.height}")
    finally:
        os.killpg(up.pid, signal.SIGINT)  # vigil up's own process group: it stops what it started
        try:
            up.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        log.close()
        console.print(f"vigil up stopped; its log and data stay in {scratch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
