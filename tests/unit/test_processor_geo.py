"""GeoIP: the database is opened once and checked at start, and ``put_geo`` turns the full
client IP into country/region/city (GeoLite2-City layout) before the IP is anonymised."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import orjson
import pytest

from pipeline.processor import geo, steps
from pipeline.processor.geo import Location
from pipeline.processor.steps import Options
from pipeline.settings import Settings
from tests.support import geoip
from tests.unit.test_processor_steps import message


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    return geoip.write_city_database(tmp_path_factory.mktemp("geoip") / "GeoLite2-City.mmdb")


@pytest.fixture
def located(database) -> Options:
    """The steps' options with the test database, as the processor reads them at start."""
    return Options(locate=geo.open_locator(str(database)))


@pytest.mark.parametrize("network", list(geoip.NETWORKS))
def test_each_network_reads_as_its_location(database, network):
    address = str(ipaddress.ip_network(network)[9])
    assert geo.open_locator(str(database))(address) == geoip.NETWORKS[network][1]


@pytest.mark.parametrize("ip, expected", [
    ("203.0.113.9", Location("DE", "Bavaria", "Munich")),
    ("2001:db8:85a3::8a2e:370:7334", Location("FR", "Île-de-France", "Paris")),
    ("::ffff:203.0.113.9", Location("DE", "Bavaria", "Munich")),  # IPv4-mapped: the IPv4 network's
    ("10.0.0.1", geo.UNKNOWN),  # private: in no database
    ("2001:db8:ffff::1", geo.UNKNOWN),
    ("fe80::1%eth0", geo.UNKNOWN),
    ("", geo.UNKNOWN),
])
def test_put_geo_locates_the_full_client_ip(located, ip, expected):
    event = steps.put_geo(steps.put_client_ip(message(client={"ip": ip, "user_agent": "Mozilla/5.0"})), located)
    assert (event["country"], event["region"], event["city"]) == expected


@pytest.mark.parametrize("ip", ["not an ip", "999.1.1.1", "1" * 1_000_000, "203.0.113.9\x00", "\ud800", 42, None])
def test_garbage_addresses_are_located_nowhere(located, ip):
    event = steps.put_geo(steps.put_client_ip(message(client={"ip": ip, "user_agent": "Mozilla/5.0"})), located)
    assert (event["country"], event["region"], event["city"]) == ("", "", "")


def test_the_lookup_uses_the_address_before_anonymize_ip_cuts_it(located):
    event = steps.run(orjson.dumps(message(client={"ip": "2001:db8:85a3::8a2e:370:7334", "user_agent": "Mozilla/5.0"})),
                      steps.steps_for(located))
    assert (event["country"], event["city"], event["client_ip"]) == ("FR", "Paris", "2001:db8:85a3::")
    names = [step.__name__ for step in steps.STEPS]
    assert names.index("put_client_ip") < names.index("put_geo") < names.index("anonymize_ip")


def test_without_a_database_every_location_is_unknown():
    event = steps.run(orjson.dumps(message(client={"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"})),
                      steps.steps_for(Options()))
    assert (event["country"], event["region"], event["city"]) == ("", "", "")
    assert geo.open_locator("") is geo.no_database


def test_a_country_database_gives_countries_only(tmp_path):
    locate = geo.open_locator(str(geoip.write_city_database(tmp_path / "GeoLite2-Country.mmdb", "GeoLite2-Country")))
    assert locate("198.51.100.7") == Location("US", "", "")


def test_lookups_are_cached(database):
    locate = geo.open_locator(str(database))
    locate("203.0.113.9")
    locate("203.0.113.9")
    assert locate.cache_info().hits == 1


def test_a_missing_file_stops_the_processor_at_start_saying_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_GEOIP_DATABASE", str(tmp_path / "GeoLite2-City.mmdb"))
    monkeypatch.setenv("VIGIL_SECRET", "test secret")
    with pytest.raises(SystemExit, match="no such file; download GeoLite2-City.mmdb .* VIGIL_GEOIP_DATABASE"):
        Options.from_settings(Settings())


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"\xab\xcd\xefMaxMind.com" + b"\x00" * 64])
def test_a_corrupt_file_stops_the_processor_at_start(tmp_path, content):
    path = tmp_path / "GeoLite2-City.mmdb"
    path.write_bytes(content)
    with pytest.raises(SystemExit, match="is not a MaxMind DB file .*unset VIGIL_GEOIP_DATABASE"):
        geo.open_locator(str(path))


@pytest.mark.parametrize("kind", ["GeoLite2-ASN", "GeoIP2-ISP", "GeoIP2-Connection-Type"])
def test_a_database_about_networks_not_places_is_refused(tmp_path, kind):
    path = geoip.write_city_database(tmp_path / f"{kind}.mmdb", kind)
    with pytest.raises(SystemExit, match=f"{kind} database, which has no countries"):
        geo.open_locator(str(path))


@pytest.mark.parametrize("kind", ["GeoIP2-City", "GeoIP2-Enterprise", "DBIP-City-Lite"])
def test_other_databases_with_locations_are_read(tmp_path, kind):
    assert geo.open_locator(str(geoip.write_city_database(tmp_path / "x.mmdb", kind)))("203.0.113.9").city == "Munich"


def test_a_record_in_an_unexpected_layout_reads_as_unknown():
    assert geo.location_of({"country": {"iso_code": "Germany"}, "city": {"names": {"en": "x" * 1000}}}) == (
        Location("", "", "x" * geo.MAX_NAME_CHARS))
    assert geo.location_of({"country": "DE", "subdivisions": [None], "city": []}) == geo.UNKNOWN
