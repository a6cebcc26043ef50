"""The processor's counters for Prometheus: ``GET /metrics`` on a small HTTP server of its own.

``vigil process`` has no HTTP server otherwise, so prometheus-client's ``start_http_server``
answers on ``VIGIL_PROCESSOR_METRICS_HOST:VIGIL_PROCESSOR_METRICS_PORT`` (default
127.0.0.1:9464; port 0 = none) from a daemon thread. The values are read from the
processor's :class:`~pipeline.stream.counters.Counters` at scrape time (a custom
collector), so the stream keeps counting exactly as it did, at no cost per event.
"""

from __future__ import annotations

import logging
from typing import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from pipeline.stream.counters import Counters
from pipeline.stream.steps import FILTERED_REASONS
from pipeline.settings import Settings

log = logging.getLogger("pipeline.stream")


class CountersCollector(Collector):
    """The events stream's counters and the DLQ stream's (dead letters into ClickHouse), as Prometheus counters."""

    def __init__(self, events: Counters, dead_letters: Counters) -> None:
        self.events = events
        self.dead_letters = dead_letters

    def collect(self) -> Iterator[CounterMetricFamily]:
        events = self.events
        yield CounterMetricFamily("vigil_processor_consumed_events", "Messages read from the events topic.",
                                  value=events.consumed)
        yield CounterMetricFamily("vigil_processor_kept_events", "Events that became rows for ClickHouse.",
                                  value=events.kept)
        dropped = CounterMetricFamily(
            "vigil_processor_dropped_events", "Events not stored, by reason; outcome dead_letter = sent to the DLQ "
            "topic, filtered = dropped by design (bots).", labels=["reason", "outcome"])
        for reason, count in sorted(events.dropped.items()):
            dropped.add_metric([reason, "filtered" if reason in FILTERED_REASONS else "dead_letter"], count)
        yield dropped
        yield CounterMetricFamily("vigil_processor_inserted_rows", "Event rows inserted into ClickHouse.",
                                  value=events.inserted)
        yield CounterMetricFamily("vigil_processor_dead_letters_inserted_rows",
                                  "Dead letters read back from the DLQ topic into ClickHouse's dead_letters.",
                                  value=self.dead_letters.inserted)
        yield CounterMetricFamily("vigil_processor_sink_backoffs", "Times the sink waited for ClickHouse.",
                                  value=events.backpressured)
        yield CounterMetricFamily("vigil_processor_checkpoints", "Checkpoints (offsets committed after the inserts).",
                                  value=events.checkpoints)


def serve_metrics(settings: Settings, events: Counters, dead_letters: Counters) -> WSGIServer | None:
    """Start the /metrics server (None when disabled or its port is taken: logged, the stream runs on)."""
    if settings.processor_metrics_port <= 0:
        return None
    registry = CollectorRegistry()
    registry.register(CountersCollector(events, dead_letters))
    address = f"{settings.processor_metrics_host}:{settings.processor_metrics_port}"
    try:
        server, _thread = start_http_server(settings.processor_metrics_port, settings.processor_metrics_host,
                                            registry=registry)
    except OSError as error:
        log.warning("no /metrics: cannot listen on %s (%s); set VIGIL_PROCESSOR_METRICS_PORT to a free port, "
                    "or 0 for none (each processor on one machine needs its own)", address, error)
        return None
    log.info("Prometheus metrics at http://%s/metrics", address)
    return server
