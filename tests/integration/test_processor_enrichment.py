"""GeoIP and traffic sources end to end: ``vigil process`` with a GeoIP database on a real
Kafka broker fills country/region/city, the referrer source and the UTM columns in the real
ClickHouse; with a database that cannot be used it stops at start, saying what to do."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.integration.test_processor import (  # noqa: F401 - make_processor is a fixture
    make_processor, produce, project_id, valid_event, wait_for_rows)
from tests.support import geoip

pytestmark = pytest.mark.integration

COLUMNS = ("country", "region", "city", "client_ip", "referrer_source", "referrer_domain",
           "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def page_view(index: int, project: int, run: str, ip: str, url: str, referrer: str = "") -> tuple[bytes, bytes]:
    event = valid_event(0, project, run)  # index 0: a page_view
    event["event_id"] = f"e-{run}-geo-{index}"
    event["client"]["ip"] = ip
    event["page"] = {"url": url, "referrer": referrer} if referrer else {"url": url}
    return event["session_id"].encode(), orjson.dumps(event)


def test_an_event_lands_with_its_location_source_and_campaign(make_processor, kafka, clickhouse, tmp_path):
    project = project_id()
    processor = make_processor(clickhouse.url)
    processor.env["VIGIL_GEOIP_DATABASE"] = str(geoip.write_city_database(tmp_path / "GeoLite2-City.mmdb"))
    run = processor.run
    produce(kafka.bootstrap, processor.events_topic, [
        page_view(1, project, run, "203.0.113.9",
                  "https://shop.example.com/landing?utm_source=newsletter&utm_medium=email"
                  "&utm_campaign=spring%20sale&utm_term=linen&utm_content=hero", "https://mail.google.com/mail/u/0/"),
        page_view(2, project, run, "2001:db8:85a3::8a2e:370:7334", "https://shop.example.com/", "https://t.co/x1"),
        page_view(3, project, run, "10.1.2.3", "https://shop.example.com/cart", "https://shop.example.com/"),
    ])
    processor.start()
    client = clickhouse.client()
    wait_for_rows(client, project, 3, processor)
    stored = client.query(
        f"SELECT event_id, {', '.join(f'toString({column})' for column in COLUMNS)} FROM events FINAL "
        "WHERE project_id = {project:UInt32} ORDER BY event_id", parameters={"project": project}).result_rows
    assert {row[0].rsplit("-", 1)[1]: dict(zip(COLUMNS, row[1:])) for row in stored} == {
        "1": {"country": "DE", "region": "Bavaria", "city": "Munich", "client_ip": "203.0.113.0",
              "referrer_source": "newsletter", "referrer_domain": "mail.google.com", "utm_source": "newsletter",
              "utm_medium": "email", "utm_campaign": "spring sale", "utm_term": "linen", "utm_content": "hero"},
        "2": {"country": "FR", "region": "Île-de-France", "city": "Paris", "client_ip": "2001:db8:85a3::",
              "referrer_source": "Twitter", "referrer_domain": "t.co", "utm_source": "", "utm_medium": "",
              "utm_campaign": "", "utm_term": "", "utm_content": ""},
        "3": {"country": "", "region": "", "city": "", "client_ip": "10.1.2.0",  # private address; self-referral
              "referrer_source": "Direct / None", "referrer_domain": "", "utm_source": "", "utm_medium": "",
              "utm_campaign": "", "utm_term": "", "utm_content": ""},
    }


def test_a_geoip_database_that_cannot_be_read_stops_the_processor_at_start(make_processor, clickhouse, tmp_path):
    broken = tmp_path / "GeoLite2-City.mmdb"
    broken.write_bytes(b"this is not a MaxMind DB")
    processor = make_processor(clickhouse.url)
    processor.env["VIGIL_GEOIP_DATABASE"] = str(broken)
    processor.start()
    deadline = time.monotonic() + 60
    while processor.alive and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processor.alive, "the processor kept running with an unreadable GeoIP database"
    assert processor.process.returncode != 0
    assert f"VIGIL_GEOIP_DATABASE={broken} is not a MaxMind DB file" in processor.log_text()
    assert "unset VIGIL_GEOIP_DATABASE" in processor.log_text()
