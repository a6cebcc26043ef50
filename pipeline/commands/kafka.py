"""``vigil kafka``: the embedded Apache Kafka broker (KRaft), with Vigil's topics."""

from __future__ import annotations

import argparse

HELP = "run the embedded Apache Kafka broker (KRaft) and create Vigil's topics"


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from ``VIGIL_*``."""


def main(args: argparse.Namespace) -> int:
    from pipeline.embedded.kafka_broker import serve as serve_kafka

    return serve_kafka(args)
