"""``vigil collect``: the collector under uvicorn (uvloop + httptools), one or more workers."""

from __future__ import annotations

import argparse
import logging
import logging.config

from pipeline import settings as settings_module
from pipeline.settings import redacted

HELP = "run the collector (HTTP in, Kafka out)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from ``VIGIL_*`` (host, port, workers, limits)."""


def main(args: argparse.Namespace | None = None) -> int:
    import uvicorn

    from pipeline.ingest.collector_metrics import use_multiprocess_dir
    from pipeline.ingest.http_server import APP, uvicorn_config
    from pipeline.ingest.logs import log_config
    from pipeline.ingest.network import parse_trusted_proxies

    settings = settings_module.load()
    parse_trusted_proxies(settings.trusted_proxies)  # fail now on a typo, not in every worker
    # every worker's counters in one directory, so /metrics answers for all of them (metrics.py)
    use_multiprocess_dir(settings.data_dir / "collector-metrics")
    logging.config.dictConfig(log_config())
    logging.getLogger(__name__).info(
        "collector on %s (%d worker(s)) → Kafka %s topic %s; projects from %s",
        settings.collector_url, max(settings.collector_workers, 1), redacted(settings.kafka_brokers),
        settings.events_topic, redacted(settings.clickhouse_url),
    )
    uvicorn.run(APP, **uvicorn_config(settings))
    return 0
