"""Reading Prometheus' text exposition format in tests, with prometheus-client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, tuple[tuple[str, str], ...]]  # (sample name, sorted labels)


def samples(text: str) -> dict[Sample, float]:
    """Every sample of an exposition: (name, sorted label pairs) → value."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(url: str) -> dict[Sample, float]:
    """GET ``url`` (a /metrics endpoint), check it is the text format, and read its samples."""
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version="), answer.headers["content-type"]
    return samples(answer.text)
