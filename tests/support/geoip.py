"""A small GeoIP database in GeoLite2-City's record layout, written for tests with mmdb-writer.

The real GeoLite2 files cannot be shipped (licence) or downloaded in tests; this one has the
same structure (``country.iso_code``, ``subdivisions[].iso_code`` / ``names.en``,
``city.names.en``) for a few documentation networks, IPv4 and IPv6 in one IPv6 tree as
MaxMind builds theirs, so the reader and the step see what they would see in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from pipeline.stream.geo import Location


def _city_record(country: str, region_code: str, region: str, city: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "country": {"iso_code": country, "names": {"en": country}},
        "registered_country": {"iso_code": country, "names": {"en": country}},
        "location": {"accuracy_radius": 20, "time_zone": "Europe/Berlin"},
    }
    if region_code:
        names = {"en": region, "de": region} if region else {"de": "Bayern"}
        record["subdivisions"] = [{"iso_code": region_code, "names": names}]
    if city:
        record["city"] = {"names": {"en": city, "de": city}}
    return record


# network → (its record, the Location the step must derive from it)
NETWORKS: dict[str, tuple[dict[str, Any], Location]] = {
    "203.0.113.0/24": (_city_record("DE", "BY", "Bavaria", "Munich"), Location("DE", "Bavaria", "Munich")),
    "198.51.100.0/24": (_city_record("US", "", "", ""), Location("US", "", "")),  # country only
    "192.0.2.0/24": (_city_record("DE", "BY", "", ""), Location("DE", "DE-BY", "")),  # no English name
    "2001:db8:85a3::/48": (_city_record("FR", "IDF", "Île-de-France", "Paris"),
                           Location("FR", "Île-de-France", "Paris")),
    "2001:db8:bad::/48": ({"country": "not a map", "subdivisions": "nor a list", "city": 42}, Location("", "", "")),
}


def write_city_database(path: Path, database_type: str = "GeoLite2-City") -> Path:
    """Write the :data:`NETWORKS` database to ``path`` and return it."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type,
                        languages=["en", "de"], description="Vigil test GeoIP database")
    for network, (record, _location) in NETWORKS.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
