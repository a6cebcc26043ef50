"""Log lines without credentials: query values like ``?key=`` and ``?sentry_key=`` become ``***``.

SDKs put the ingest key in the URL where they cannot set a header (the WebSocket handshake,
the pixel, Sentry's ``?sentry_key=``), and uvicorn logs request lines whole — the WebSocket
``[accepted]`` line on ``uvicorn.error``, every request on ``uvicorn.access`` when the access
log is on. :class:`RedactSecrets` rewrites a record's message and arguments before any
handler formats it; :func:`log_config` is uvicorn's logging configuration with that filter on
every handler (uvicorn applies it in every worker process), and :func:`redact_root` puts it
on the root logger's handlers for the collector's own lines.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from pipeline.settings import redact_query

def _redacted(value: object) -> object:
    if isinstance(value, str):
        return redact_query(value)
    if isinstance(value, bytes):
        return redact_query(value.decode("latin-1")).encode("latin-1")
    return value


class RedactSecrets(logging.Filter):
    """Masks credential query values in a record's message and its arguments (keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(arg) for name, arg in record.args.items()}
        return True


def log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's default logging configuration, every handler filtered by :class:`RedactSecrets`.

    The root logger gets uvicorn's default handler too, so the collector's own lines (which
    may name a URL) reach the log in every worker process, filtered the same way.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_secrets": {"()": f"{__name__}.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_secrets"]
    config["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["root"] = {"formatter": "plain", "class": "logging.StreamHandler",
                                  "stream": "ext://sys.stderr", "filters": ["redact_secrets"]}
    config["root"] = {"handlers": ["root"], "level": level}
    # said outright, not left to the logger's state: a library imported earlier in the process
    # (Streamlit does) may have turned uvicorn.error's propagation off, losing its lines
    config["loggers"]["uvicorn.error"]["propagate"] = True
    return config

