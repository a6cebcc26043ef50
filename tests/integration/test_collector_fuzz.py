"""Property-based fuzzing of every collector endpoint, through ``vigil collect`` on loopback
with the real Kafka broker: never a 5xx, never a hang, every refusal a 4xx with its reason,
every 2xx's counts adding up to the events sent (:mod:`tests.support.fuzz_checks`).

The requests are :mod:`tests.support.fuzz`'s — the same that ``bench/fuzz.py`` sends by the
hundred thousand. Derandomized, so CI draws the same examples every run; bounded, about
2,000 in all (the whole module takes well under a minute on two cores).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings

from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from tests.support import processes
from tests.support.fuzz import ENDPOINTS, Target, requests_for
from tests.support.fuzz_checks import send, violations

pytestmark = pytest.mark.integration

# about 2,000 examples in all, weighted by what each endpoint can go wrong with (and costs)
EXAMPLES = {"events": 400, "unified": 250, "pixel": 200, "ws": 200, "sentry-envelope": 300, "sentry-store": 250,
            "preflight": 200, "health": 200}
CLIENT_TIMEOUT = 15.0  # seconds without an answer that count as a hang

FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,  # a fixed seed: CI runs the same examples every time
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module")
def target(clickhouse) -> Target:
    client = clickhouse.client()
    try:
        fuzzed = projects.create(client, f"fuzz-{uuid.uuid4().hex[:6]}")
        other = projects.create(client, f"fuzz-other-{uuid.uuid4().hex[:6]}")
    finally:
        client.close()
    # no unknown project ids: each waits up to a second for a projects reload (test_collector covers them)
    return Target(fuzzed.id, fuzzed.key, other.key, unknown_projects=())


@pytest.fixture(scope="module")
def collector_url(kafka, clickhouse, target, tmp_path_factory):
    topic = f"fuzz-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka.bootstrap, {topic: 2})
    env = {**clickhouse.env, "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_EVENTS_TOPIC": topic,
           "VIGIL_KAFKA_ACK_TIMEOUT": "5", "VIGIL_PROJECTS_REFRESH": "60",
           # generous limits: the fuzz is one client, and it is not what is being limited
           "VIGIL_RATE_LIMIT_PER_KEY": "1000000", "VIGIL_RATE_LIMIT_PER_IP": "1000000"}
    process, url = processes.collector(env, tmp_path_factory.mktemp("fuzz") / "collector.log")
    yield url
    process.stop()


@pytest.fixture(scope="module")
def http(collector_url):
    with httpx.Client(base_url=collector_url, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_answer_is_a_2xx_that_adds_up_or_a_4xx_with_its_reason(endpoint, target, collector_url, http):
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES[endpoint])
    @given(request=requests_for(endpoint, target))
    def fuzz(request):
        answer = send(request, collector_url, http, CLIENT_TIMEOUT)
        note(f"answer: {answer.status} {answer.body[:500]!r} replies={answer.replies!r:.500}")
        assert not violations(request, answer), violations(request, answer)

    fuzz()
