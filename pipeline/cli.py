"""The ``vigil`` command: one subcommand per process, each configured from ``VIGIL_*``.

Subcommand modules are imported only when chosen, so ``vigil --help`` stays instant and
a process loads only what it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand → "module:function"; each function takes the parsed argparse namespace
COMMANDS = {
    "kafka": "pipeline.embedded.kafka_broker:main",
    "clickhouse": "pipeline.embedded.clickhouse_server:main",
    "migrate": "pipeline.warehouse.migrate:main",
    "project": "pipeline.projects:main",
    "sourcemaps": "pipeline.sourcemaps:main",
    "collect": "pipeline.collector.server:main",
    "process": "pipeline.processor.app:main",
    "signals": "pipeline.signals.app:main",
    "dashboard": "pipeline.dashboard:main",
    "simulate": "pipeline.simulate:main",
    "up": "pipeline.supervisor:main",
    "alerts": "pipeline.alerts.service:main",
    "notebooks": "pipeline.notebooks:main",
    "quality": "pipeline.quality.report:main",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil — self-hosted frontend monitoring. Configure with VIGIL_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("kafka", help="run the embedded Apache Kafka broker (KRaft) and create Vigil's topics")
    sub.add_parser("clickhouse", help="run the embedded ClickHouse (chDB behind ClickHouse's HTTP interface)")
    sub.add_parser("migrate", help="apply the ClickHouse schema (idempotent)")

    project = sub.add_parser("project", help="manage projects (ingest keys, allowed origins)")
    project_sub = project.add_subparsers(dest="project_command", required=True, metavar="ACTION")
    create = project_sub.add_parser("create", help="create a project and print its id and ingest key")
    create.add_argument("name")
    create.add_argument("--origin", action="append", default=[], metavar="URL",
                        help="allowed browser origin, e.g. https://shop.example.com (repeatable; none = any)")
    create.add_argument("--json", action="store_true", help="print the project as JSON")
    listing = project_sub.add_parser("list", help="list projects")
    listing.add_argument("--json", action="store_true", help="print the projects as JSON")

    sourcemaps = sub.add_parser("sourcemaps", help="upload and list source maps (symbolicated error frames)")
    sourcemaps_sub = sourcemaps.add_subparsers(dest="sourcemaps_command", required=True, metavar="ACTION")
    upload = sourcemaps_sub.add_parser("upload", help="upload every *.js.map under DIR for one release")
    upload.add_argument("--project", required=True, help="project id or name")
    upload.add_argument("--release", required=True, help="the release your SDK reports, e.g. shop@1.4.2")
    upload.add_argument("--url-prefix", default="~/", metavar="PREFIX",
                        help="URL of DIR as the browser loads it; ~/ = any host (default ~/), "
                             "e.g. ~/static/js/ or https://cdn.example.com/js/")
    upload.add_argument("folder", metavar="DIR", help="the build output folder holding the *.js and *.js.map")
    listed = sourcemaps_sub.add_parser("list", help="list uploaded source maps")
    listed.add_argument("--project", required=True, help="project id or name")
    listed.add_argument("--release", default="", help="only this release")

    sub.add_parser("collect", help="run the collector (HTTP in, Kafka out)")
    sub.add_parser("process", help="run the stream processor (Kafka in, ClickHouse out)")
    sub.add_parser("signals", help="run the 1-minute per-project signals (Kafka in; vigil.signals and ClickHouse out)")
    dashboard = sub.add_parser("dashboard", help="run the Streamlit dashboards")
    dashboard.add_argument("--hash-password", metavar="NAME", default=None,
                           help="read NAME's password and print their line for the VIGIL_DASHBOARD_USERS file, then exit")

    simulate = sub.add_parser("simulate", help="send realistic synthetic traffic through the collector")
    simulate.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    simulate.add_argument("--duration", type=float, default=60.0, help="seconds to run; 0 = until Ctrl-C (default 60)")
    simulate.add_argument("--project", type=int, default=None, help="project id (default: the demo project)")
    simulate.add_argument("--key", default=None, help="ingest key (default: the demo project's)")
    simulate.add_argument("--url", default=None, help="collector URL (default: VIGIL_COLLECTOR_HOST/PORT)")
    simulate.add_argument("--seed", type=int, default=None, help="random seed, for reproducible traffic")
    simulate.add_argument("--quiet", action="store_true", help="no progress bar")

    alerts = sub.add_parser("alerts", help="evaluate alert rules every minute and on streaming signals; notify")
    alerts.add_argument("--once", action="store_true", help="evaluate once and exit")
    alerts.add_argument("--check", nargs="?", const="", default=None, metavar="FILE",
                        help="validate an alerts YAML file (default: VIGIL_ALERTS_FILE) and exit")
    alerts.add_argument("--healthcheck", action="store_true", help="exit 0 if the service evaluated recently")

    notebooks = sub.add_parser("notebooks", help="open JupyterLab on the curated notebooks, against the warehouse")
    notebooks.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    notebooks.add_argument("--no-browser", action="store_true", help="do not open a browser")

    quality = sub.add_parser("quality", help="data quality: run the expectations/ suites, build GX Data Docs")
    quality_sub = quality.add_subparsers(dest="quality_command", required=True, metavar="ACTION")
    report = quality_sub.add_parser("report", help="check recent events and build Data Docs in <VIGIL_DATA_DIR>/data_docs")
    report.add_argument("--hours", type=float, default=24.0, help="events received in the last H hours (default 24)")
    report.add_argument("--limit", type=int, default=100_000, help="at most the newest N events (default 100000)")
    report.add_argument("--output", default=None, metavar="DIR", help="Data Docs directory (default <VIGIL_DATA_DIR>/data_docs)")

    up = sub.add_parser("up", help="run the whole platform on embedded defaults (Ctrl-C stops all)")
    up.add_argument("--no-simulate", action="store_true", help="do not send simulated traffic")
    up.add_argument("--rate", type=float, default=50.0, help="simulated events per second (default 50)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = COMMANDS[args.command].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
