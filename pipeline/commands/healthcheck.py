"""Container healthchecks for ``docker-compose.yml``: exit 0 when healthy, 1 with the reason on stderr.

    python -m pipeline.commands.healthcheck http URL        # URL answers 200 (collector /healthz, dashboard /_stcore/health)
    python -m pipeline.commands.healthcheck consumer-group  # the processor's consumer group has live members
    python -m pipeline.commands.healthcheck consumer-group signals  # so has vigil signals' (VIGIL_SIGNALS_GROUP)

The image has no curl; this uses the standard library and the Kafka client Vigil already
ships. ``consumer-group`` reads ``VIGIL_KAFKA_BROKERS`` and ``VIGIL_PROCESSOR_GROUP`` like the
processor itself, so it checks exactly the group the processor joins: a processor that
started but never joined (broker unreachable, stuck rebalance) is reported unhealthy.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from pipeline import settings

TIMEOUT_S = 5.0


def check_http(url: str) -> str | None:
    """None if ``url`` answers 200, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{url} did not answer: {getattr(error, 'reason', error)}"


def check_consumer_group(brokers: str, group: str, config: settings.Settings | None = None) -> str | None:
    """None if ``group`` is a stable consumer group with at least one member, else why not.
    TLS/SASL options come from ``config`` (default: the environment's settings)."""
    from confluent_kafka import ConsumerGroupState, KafkaException
    from confluent_kafka.admin import AdminClient

    from pipeline.broker.connection import security_config

    admin = AdminClient({**security_config(config or settings.load()), "bootstrap.servers": brokers})
    try:
        description = admin.describe_consumer_groups([group], request_timeout=TIMEOUT_S)[group].result()
    except KafkaException as error:
        return f"cannot describe consumer group {group!r} on {settings.redacted(brokers)}: {error.args[0].str()}"
    if description.state != ConsumerGroupState.STABLE or not description.members:
        return f"consumer group {group!r} is {description.state.name} with {len(description.members)} member(s)"
    return None


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "http":
        problem = check_http(argv[1])
    elif argv in (["consumer-group"], ["consumer-group", "signals"]):
        config = settings.load()
        group = config.signals_group if argv[1:] == ["signals"] else config.processor_group
        problem = check_consumer_group(config.kafka_brokers, group, config)
    else:
        print("usage: python -m pipeline.commands.healthcheck http URL | consumer-group [signals]", file=sys.stderr)
        return 2
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
