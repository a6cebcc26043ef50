"""``vigil collect``: the collector under uvicorn (uvloop + httptools), one or more workers.

Configured from ``VIGIL_*`` (see :mod:`pipeline.settings`): host/port, worker processes
(``VIGIL_COLLECTOR_WORKERS``), body and batch limits, rate limits, Kafka and ClickHouse.
Each worker process has its own Kafka producer and project cache; the collector keeps no
other state, so more of them can stand behind any load balancer.
"""

from __future__ import annotations



from pipeline.ingest.logs import log_config
from pipeline.settings import Settings

APP = "pipeline.ingest.collector:create_app"
# uvicorn's httptools protocol with request-line/header caps and read timeouts
HTTP_PROTOCOL = "pipeline.ingest.protocol:LimitedHttpToolsProtocol"


def uvicorn_config(settings: Settings) -> dict[str, object]:
    """uvicorn keyword arguments for the collector; shared by ``vigil collect`` and the bench."""
    return {
        "host": settings.collector_host,
        "port": settings.collector_port,
        "workers": max(settings.collector_workers, 1),
        "factory": True,
        "loop": "uvloop",
        "http": HTTP_PROTOCOL,
        "ws": "websockets-sansio",
        # a WebSocket message may carry one envelope, a little more than a body (frame overhead);
        # larger ones close the socket with 1009 instead of being read into memory
        "ws_max_size": settings.max_body_bytes + 64 * 1024,
        "lifespan": "on",
        # the collector decides who the client is (VIGIL_TRUSTED_PROXIES), not uvicorn
        "proxy_headers": False,
        "server_header": False,
        "access_log": settings.access_log,
        # every handler masks credentials in URLs (?key=, ?sentry_key=, …)
        "log_config": log_config(),
        "log_level": "info",
        "timeout_keep_alive": 30,
        "backlog": 4096,
    }
