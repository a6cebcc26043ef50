"""``vigil process`` answers ``/metrics`` in Prometheus' text format (issue 13, item 14): what it
consumed, kept, dropped by reason (dead-lettered or filtered), inserted into ClickHouse, and
the dead letters it read back into ``dead_letters`` — on the loopback port
``VIGIL_PROCESSOR_METRICS_PORT`` names, against the real broker and warehouse."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.integration.test_processor import (  # noqa: F401 - make_processor is a fixture
    invalid_messages, make_processor, produce, project_id, valid_messages, wait_for_rows)
from tests.support.kafka import free_ports
from tests.support.prometheus import scrape

pytestmark = pytest.mark.integration


def test_the_processor_counts_at_metrics(make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url)
    port = free_ports(1)[0]
    processor.env["VIGIL_PROCESSOR_METRICS_PORT"] = str(port)
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    valid = valid_messages(project, processor.run, 0, 300)
    invalid = invalid_messages(project, processor.run)
    produce(kafka.bootstrap, processor.events_topic, valid + [(key, value) for key, value, _ in invalid])

    processor.start()
    wait_for_rows(clickhouse.client(), project, len(valid), processor)
    expected = Counter({
        ("vigil_processor_consumed_events_total", ()): len(valid) + len(invalid),
        ("vigil_processor_kept_events_total", ()): len(valid),
        ("vigil_processor_inserted_rows_total", ()): len(valid),
        ("vigil_processor_dead_letters_inserted_rows_total", ()): len(invalid),
    })
    for reason, count in Counter(reason for _, _, reason in invalid).items():
        expected[("vigil_processor_dropped_events_total", (("outcome", "dead_letter"), ("reason", reason)))] = count
    deadline = time.monotonic() + 60
    while (shown := {key: scrape(metrics_url).get(key, 0) for key in expected}) != expected and time.monotonic() < deadline:
        assert processor.alive, processor.log_tail()
        time.sleep(0.5)
    assert shown == expected
    assert f"Prometheus metrics at http://127.0.0.1:{port}/metrics" in processor.log_text()
