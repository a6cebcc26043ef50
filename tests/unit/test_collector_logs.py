"""Credentials in URLs are masked in every log line the collector's uvicorn writes."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from pipeline.ingest.logs import RedactSecrets, log_config
from pipeline.settings import redact_query

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("url, shown", [
    (f"/api/1/ws?key={KEY}", "/api/1/ws?key=***"),
    (f"/api/1/store/?sentry_version=7&sentry_key={KEY}&sentry_client=x", "/api/1/store/?sentry_version=7&sentry_key=***&sentry_client=x"),
    (f"/x?api_key={KEY}&token={KEY}&password={KEY}&secret={KEY}&auth={KEY}&access_token={KEY}",
     "/x?api_key=***&token=***&password=***&secret=***&auth=***&access_token=***"),
    (f'"GET /api/1/pixel.gif?d=%7B%7D&KEY={KEY} HTTP/1.1" 202', '"GET /api/1/pixel.gif?d=%7B%7D&KEY=*** HTTP/1.1" 202'),
    ("/api/1/events?page=2&sort=name", "/api/1/events?page=2&sort=name"),
])
def test_credential_query_values_are_masked_and_nothing_else(url, shown):
    assert redact_query(url) == shown


@pytest.fixture
def captured():
    """uvicorn's loggers and the root logger configured as ``vigil collect`` does, into a buffer."""
    stream = io.StringIO()
    config = log_config()
    for handler in config["handlers"].values():
        handler["stream"] = stream
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
                    logging.getLogger(name).propagate) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")}
    logging.config.dictConfig(config)
    yield stream
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def test_uvicorn_websocket_and_access_lines_and_our_own_lines_are_masked(captured):
    # exactly the calls uvicorn makes (websockets_sansio_impl, httptools_impl)
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000",
                                            f"/api/1/ws?key={KEY}")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                             f"/api/1/store/?sentry_key={KEY}", "1.1", 200)
    logging.getLogger("pipeline.ingest.collector").warning("refused %s", f"/api/1/pixel.gif?key={KEY}&d=x")
    text = captured.getvalue()
    assert KEY not in text
    assert "/api/1/ws?key=***" in text and "/api/1/store/?sentry_key=***" in text
    assert "/api/1/pixel.gif?key=***&d=x" in text


@pytest.fixture
def uvicorn_error_not_propagating():
    """uvicorn.error as Streamlit leaves it once its config is read (propagation off): the
    dashboard tests import Streamlit into the same process before the collector's are run."""
    logger = logging.getLogger("uvicorn.error")
    saved = logger.propagate
    logger.propagate = False
    yield
    logger.propagate = saved


def test_the_websocket_line_is_kept_whatever_an_earlier_library_did_to_its_logger(uvicorn_error_not_propagating,
                                                                                   captured):
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000",
                                            f"/api/1/ws?key={KEY}")
    assert "/api/1/ws?key=***" in captured.getvalue()


def test_the_filter_keeps_records_and_their_argument_types():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", f"/p?token={KEY}", "1.1", 200), None)
    assert RedactSecrets().filter(record)
    assert record.args == ("127.0.0.1:1", "GET", "/p?token=***", "1.1", 200)

