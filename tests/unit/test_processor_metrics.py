"""The processor's /metrics server: its counters in Prometheus' text format, on the configured
loopback port; port 0 means none, and a taken port leaves the stream running without one."""

from __future__ import annotations

import dataclasses
import logging
import socket

from pipeline import settings as settings_module
from pipeline.stream.counters import Counters
from pipeline.stream.processor_metrics import serve_metrics
from tests.support.kafka import free_ports
from tests.support.prometheus import scrape


def settings(port: int) -> settings_module.Settings:
    return dataclasses.replace(settings_module.load(), processor_metrics_port=port, processor_metrics_host="127.0.0.1")


def test_the_counters_are_served_in_prometheus_text_format():
    events, dead_letters = Counters(), Counters()
    port = free_ports(1)[0]
    server = serve_metrics(settings(port), events, dead_letters)
    assert server is not None
    try:
        events.consumed, events.kept, events.inserted = 12, 9, 9
        events.drop("invalid_json"), events.drop("invalid_json"), events.drop("bot")
        dead_letters.inserted = 2
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert samples[("vigil_processor_consumed_events_total", ())] == 12
        assert samples[("vigil_processor_inserted_rows_total", ())] == 9
        assert samples[("vigil_processor_dropped_events_total",
                        (("outcome", "dead_letter"), ("reason", "invalid_json")))] == 2
        assert samples[("vigil_processor_dropped_events_total", (("outcome", "filtered"), ("reason", "bot")))] == 1
        assert samples[("vigil_processor_dead_letters_inserted_rows_total", ())] == 2
    finally:
        server.shutdown()
        server.server_close()


def test_port_zero_serves_nothing():
    assert serve_metrics(settings(0), Counters(), Counters()) is None


def test_a_taken_port_is_logged_and_the_processor_runs_on(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="pipeline.stream"):
            assert serve_metrics(settings(port), Counters(), Counters()) is None
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text and "VIGIL_PROCESSOR_METRICS_PORT" in caplog.text
