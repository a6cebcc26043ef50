"""Closing the processor's sinks lets go of their threads at once, also with Kafka unreachable."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest

from pipeline.processor.batches import StepBatches
from pipeline.processor.dlq_sink import DeadLetterSink
from pipeline.processor.sink import ClickHouseSink
from pipeline.settings import Settings
from tests.support.clickhouse import free_port


def test_close_purges_undelivered_dead_letters_instead_of_waiting_for_a_broker_that_is_gone():
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: every dead letter stays queued
    settings = dataclasses.replace(Settings(), kafka_brokers=nowhere, clickhouse_url=f"http://{nowhere}")
    sink = StepBatches((), rows=ClickHouseSink(settings), dead_letters=DeadLetterSink(settings, timeout=30.0),
                       max_delay=0.5)
    sink.setup()  # the timer thread starts (the sinks' clients connect lazily, on the first write)
    sink.dead_letters.add(b'{"reason": "invalid_json"}', b"session-1")
    threads_before = _os_threads()

    started = time.monotonic()
    sink.close()

    # the queued dead letter belongs to an uncommitted offset: it is produced again on the re-read
    assert time.monotonic() - started < 5  # not the 30 s a flush would wait
    assert sink.dead_letters._producer is None
    assert _os_threads() < threads_before  # librdkafka's threads ended with the producer
    with pytest.raises(RuntimeError):  # the writer thread is shut down
        sink.rows._writer.submit(lambda: None)
    assert sink._timer is None  # the timer thread has ended


def _os_threads() -> int:
    """This process's threads as the OS counts them (librdkafka's are not Python threads)."""
    return len(os.listdir("/proc/self/task"))
