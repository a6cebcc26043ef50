"""``vigil dashboard``: the Streamlit app in ``app/`` on ``VIGIL_DASHBOARD_HOST:PORT``.

The process *becomes* ``streamlit run app/main.py`` (exec, same pid), so a supervisor's
SIGTERM reaches Streamlit directly and nothing is left behind. Headless, no usage
statistics, no file watcher: this is the production way to serve it; put a reverse proxy
in front of it for TLS and auth.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pipeline import settings as settings_module
from pipeline.settings import REPO_ROOT, redacted

HELP = "run the Streamlit dashboards"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hash-password", metavar="NAME", default=None,
                        help="read NAME's password and print their line for the VIGIL_DASHBOARD_USERS file, then exit")


APP_ENTRY = REPO_ROOT / "app" / "main.py"


def streamlit_argv(s: settings_module.Settings) -> list[str]:
    """The ``python -m streamlit run …`` command line for these settings."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_ENTRY),
        "--server.address", s.dashboard_host,
        "--server.port", str(s.dashboard_port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]


def print_users_line(name: str) -> int:
    """``vigil dashboard --hash-password NAME``: read the password (twice on a terminal, else one
    line of stdin) and print ``NAME:scrypt$…`` for the VIGIL_DASHBOARD_USERS file."""
    from pipeline.queries import dashboard_users

    if not dashboard_users.valid_name(name):
        print(f"vigil dashboard: {name!r} cannot be a user name (letters, digits and ._@+- only)", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if password != getpass.getpass("Again: "):
            print("vigil dashboard: the passwords differ; nothing printed", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("vigil dashboard: an empty password is not allowed", file=sys.stderr)
        return 1
    print(f"{name}:{dashboard_users.hash_password(password)}")
    return 0


def main(args: argparse.Namespace) -> int:
    """Serve the dashboards (configured by VIGIL_*), or with ``--hash-password NAME`` print a users-file line."""
    if getattr(args, "hash_password", None):
        return print_users_line(args.hash_password)
    s = settings_module.load()
    if not APP_ENTRY.exists():
        print(f"vigil dashboard: the app is missing at {APP_ENTRY}; is this a complete checkout?", file=sys.stderr)
        return 2
    argv = streamlit_argv(s)
    print(f"vigil dashboard: serving {APP_ENTRY.relative_to(REPO_ROOT)} on http://{s.dashboard_host}:{s.dashboard_port} "
          f"(warehouse {redacted(s.clickhouse_url)})", flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached: exec replaced this process
