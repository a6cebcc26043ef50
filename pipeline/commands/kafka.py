"""``vigil kafka``: the embedded Apache Kafka broker (KRaft), with Vigil's topics; with
``--nodes 3`` a cluster of three on loopback."""

from __future__ import annotations

import argparse

HELP = "run the embedded Apache Kafka broker (KRaft) and create Vigil's topics"


def arguments(parser: argparse.ArgumentParser) -> None:
    """``--nodes``; everything else comes from ``VIGIL_*``."""
    parser.add_argument(
        "--nodes", type=int, default=1, choices=range(1, 10), metavar="N",
        help="run a KRaft cluster of N nodes on 127.0.0.1 (replication factor min(N, 3), "
             "min.insync.replicas one less); node n listens on VIGIL_KAFKA_PORT + 2(n-1) and its "
             "controller on VIGIL_KAFKA_CONTROLLER_PORT + 2(n-1); default 1, the single broker")


def main(args: argparse.Namespace) -> int:
    if args.nodes > 1:
        from pipeline.embedded.kafka_cluster import serve_cluster

        return serve_cluster(args.nodes)
    from pipeline.embedded.kafka_broker import serve as serve_kafka

    return serve_kafka(args)
