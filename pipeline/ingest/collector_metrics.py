"""The collector's counters for Prometheus: ``GET /metrics`` in the text exposition format.

``vigil collect`` may run several uvicorn worker processes (``VIGIL_COLLECTOR_WORKERS``) and
a scrape reaches whichever worker the kernel hands the connection to, so a worker must answer
for all of them. prometheus-client's multiprocess mode does that: every worker keeps its
counters in memory-mapped files in one directory (``<VIGIL_DATA_DIR>/collector-metrics``,
emptied when ``vigil collect`` starts) and ``/metrics`` adds up every worker's files —
also those of a worker that died and was replaced, so counters never go backwards. The
directory must be named (``PROMETHEUS_MULTIPROC_DIR``) before prometheus-client is
imported, which is why :func:`use_multiprocess_dir` runs in ``vigil collect``'s main
process before uvicorn starts a worker. An app built without it (tests, a bench in one
process) counts in its own registry.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"


def use_multiprocess_dir(directory: Path) -> None:
    """Make ``directory`` (emptied) the workers' shared counter directory; call before any import of prometheus-client."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory was set; "
                           "the collector's /metrics would count only one worker")
    shutil.rmtree(directory, ignore_errors=True)  # counters start at 0 with the collector
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)


class CollectorMetrics:
    """The counters one collector worker increments (see docs/collector.md for each)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry(auto_describe=True)
        self.refused_requests = Counter(
            "vigil_collector_refused_requests", "Requests the collector refused (4xx/5xx), by transport and reason.",
            ["transport", "reason"], registry=self.registry)
        self.refused_events = Counter(
            "vigil_collector_refused_events", "Events refused one by one inside a batch, by transport and reason.",
            ["transport", "reason"], registry=self.registry)
        self.accepted_events = Counter(
            "vigil_collector_accepted_events", "Events Kafka acknowledged, by transport.",
            ["transport"], registry=self.registry)
        self.refusal_flush_failures = Counter(
            "vigil_collector_refusal_flush_failures", "Inserts of refusal counts into ClickHouse that failed "
            "(retried at the next flush).", registry=self.registry)
        self.refusal_counts_lost = Counter(
            "vigil_collector_refusal_counts_lost", "Refusals whose counts were dropped unsaved because ClickHouse "
            "stayed unreachable longer than the pending buffer holds.", registry=self.registry)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition of every worker's counters (or this app's) and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self.multiprocess:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()  # a fresh one per scrape, as multiprocess mode requires
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
