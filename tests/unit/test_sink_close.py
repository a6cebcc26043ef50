"""Closing the processor's sink lets go of its threads at once, also with Kafka unreachable."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from pipeline.stream.sink import EventSink
from pipeline.settings import Settings
from tests.support.clickhouse import free_port


def test_close_purges_undelivered_dead_letters_instead_of_waiting_for_a_broker_that_is_gone():
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: every dead letter stays queued
    settings = dataclasses.replace(Settings(), kafka_brokers=nowhere, clickhouse_url=f"http://{nowhere}")
    sink = EventSink(settings, enrich=lambda values, source_of: [], dlq_timeout=30.0)
    sink._produce_dead_letter(b'{"reason": "invalid_json"}', b"session-1")
    threads_before = _os_threads()

    started = time.monotonic()
    sink.close()

    # the queued dead letter belongs to an uncommitted offset: it is produced again on the re-read
    assert time.monotonic() - started < 5  # not the 30 s a flush would wait
    assert sink._dlq is None
    assert _os_threads() < threads_before  # librdkafka's threads ended with the producer
    with pytest.raises(RuntimeError):  # the writer thread is shut down
        sink._writer.submit(lambda: None)


def _os_threads() -> int:
    """This process's threads as the OS counts them (librdkafka's are not Python threads)."""
    return len(os.listdir("/proc/self/task"))
