"""``vigil alerts``: evaluate alert rules every minute and on streaming signals; notify."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from pipeline import settings as settings_module
from pipeline.settings import redacted

HELP = "evaluate alert rules every minute and on streaming signals; notify"
log = logging.getLogger("vigil.alerts")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="evaluate once and exit")
    parser.add_argument("--check", nargs="?", const="", default=None, metavar="FILE",
                        help="validate an alerts YAML file (default: VIGIL_ALERTS_FILE) and exit")
    parser.add_argument("--healthcheck", action="store_true", help="exit 0 if the service evaluated recently")


def main(args: argparse.Namespace) -> int:
    from pipeline.alerts.evaluator import Evaluator
    from pipeline.alerts.notify import Sender
    from pipeline.alerts.on_request import TestRequestDesk
    from pipeline.alerts.service import AlertService, check, healthcheck
    from pipeline.queries.alert_rules import RuleError
    from pipeline.queries.alert_store import AlertStore
    from pipeline.broker.topics import SIGNALS_TOPIC

    config = settings_module.load()
    if getattr(args, "check", None) is not None:
        return check(args.check or config.alerts_file)
    if getattr(args, "healthcheck", False):
        return healthcheck(config)

    from pipeline.warehouse.client import WarehouseUnavailable, connect_reader, wait_until_ready

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO, and a webhook's URL is a secret (Slack's token is its path)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        wait_until_ready(config.clickhouse_url, timeout=30.0)
        client = connect_reader(config)  # vigil_reader: reads, and writes only the alert tables
    except WarehouseUnavailable as error:
        print(f"vigil alerts: {error}", file=sys.stderr)
        return 1
    try:
        service = AlertService(config, Evaluator(client))
        service.sync_file(force=True)
    except RuleError as error:
        print(f"vigil alerts: {config.alerts_file} has problems; fix them (check with `vigil alerts --check`):",
              file=sys.stderr)
        for problem in error.problems:
            print(f"  ✗ {problem}", file=sys.stderr)
        return 1
    except Exception as error:
        if "alert_" in str(error):
            print(f"vigil alerts: the alert tables are missing ({str(error).splitlines()[0]}); run `vigil migrate`",
                  file=sys.stderr)
            return 1
        raise
    if getattr(args, "once", False):
        service.evaluate()
        return 0

    stopping = False

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rules = len(service.store.rules())
    log.info("evaluating %d rule(s) every %g s on %s; signals from %s on %s", rules, config.alerts_interval_s,
             redacted(config.clickhouse_url), SIGNALS_TOPIC, redacted(config.kafka_brokers))
    # the Alerts page's test notifications: its own thread and client, answered within a second or so
    desk_client = connect_reader(config)
    # people wait for the answer: fewer, shorter retries than the evaluator's
    desk = TestRequestDesk(AlertStore(desk_client), Sender(config, attempts=2, backoff_s=0.5)).start()
    log.info("answering the Alerts page's test notification requests every %g s", desk.poll_s)
    try:
        while not stopping:
            service.step()
    finally:
        desk.stop()
        desk_client.close()
        service.close()
        client.close()
    return 0
