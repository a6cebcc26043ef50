"""`vigil dashboard` runs Streamlit the production way, where the settings say."""

from __future__ import annotations

import dataclasses
import sys

from pipeline.commands import dashboard
from pipeline import settings


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_streamlit_runs_the_app_entry_point_headless_without_usage_statistics():
    argv = dashboard.streamlit_argv(settings.load())
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(dashboard.APP_ENTRY)]
    assert dashboard.APP_ENTRY.exists()
    assert option(argv, "--server.headless") == "true"
    assert option(argv, "--browser.gatherUsageStats") == "false"
    assert option(argv, "--server.fileWatcherType") == "none"


def test_it_listens_on_loopback_by_default_and_where_the_settings_say(monkeypatch):
    monkeypatch.delenv("VIGIL_DASHBOARD_HOST", raising=False)
    monkeypatch.delenv("VIGIL_DASHBOARD_PORT", raising=False)
    argv = dashboard.streamlit_argv(settings.load())
    assert (option(argv, "--server.address"), option(argv, "--server.port")) == ("127.0.0.1", "8501")
    custom = dataclasses.replace(settings.load(), dashboard_host="0.0.0.0", dashboard_port=9000)
    argv = dashboard.streamlit_argv(custom)
    assert (option(argv, "--server.address"), option(argv, "--server.port")) == ("0.0.0.0", "9000")
