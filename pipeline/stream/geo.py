"""Where a visitor is: country, region and city from the client IP, in a MaxMind DB file.

The database is the operator's (``VIGIL_GEOIP_DATABASE``, a ``.mmdb`` such as MaxMind's free
GeoLite2-City or GeoLite2-Country, or DB-IP's Lite files in the same layout); Vigil ships
none, and without one every location is unknown (``""``). It is read with MaxMind's own
``maxminddb`` reader (its C extension, memory-mapped, when installed: ``MODE_AUTO``), which
is what their GeoIP2 libraries use underneath; Vigil reads the records itself instead of
going through ``geoip2`` because it needs three strings, not model objects.

Records follow GeoLite2-City's layout: ``country.iso_code`` (ISO 3166-1 alpha-2),
``subdivisions[0]`` (the largest region: its English name, else its ISO 3166-2 code as
``DE-BY``) and ``city.names.en``. A Country database has no subdivisions or cities: those
stay empty. The file is opened and checked once, at start (:func:`open_locator`): a missing
or unreadable file stops the processor with what to do, instead of failing every event.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple

import maxminddb

log = logging.getLogger(__name__)

CACHE_SIZE = 16_384  # as the other steps' caches: the busiest visitors' addresses stay hot
MAX_NAME_CHARS = 128  # a region or city name longer than any real one is not stored whole
# MaxMind's databases about networks rather than places (by their database_type)
WITHOUT_LOCATIONS = ("ASN", "ISP", "Domain", "Connection-Type", "Anonymous-IP", "IP-Risk")
DOWNLOAD_HINT = ("download GeoLite2-City.mmdb (free account at maxmind.com, or `geoipupdate`) and point "
                 "VIGIL_GEOIP_DATABASE at it, or unset VIGIL_GEOIP_DATABASE to store no locations")


class Location(NamedTuple):
    """What the ``events`` table stores about where a visitor is; ``""`` = unknown."""

    country: str  # ISO 3166-1 alpha-2, e.g. "DE"
    region: str  # the first subdivision's English name, e.g. "Bavaria"
    city: str  # English name, e.g. "Munich"


UNKNOWN = Location("", "", "")
Locator = Callable[[str], Location]


def no_database(ip: str) -> Location:
    """The locator without a database: every address is somewhere unknown."""
    return UNKNOWN


class GeoIPDatabaseError(SystemExit):
    """The configured database cannot be used; the message says why and what to do."""


def open_locator(path: str) -> Locator:
    """A cached ``ip → Location`` over the database at ``path``; :func:`no_database` when empty.

    Opens the file once and checks it is a MaxMind DB with locations in it, so a wrong
    setting stops the processor at start rather than leaving every event unlocated.
    """
    if not path:
        return no_database
    database = Path(path).expanduser()
    if not database.is_file():
        raise GeoIPDatabaseError(f"VIGIL_GEOIP_DATABASE={path}: no such file; {DOWNLOAD_HINT}")
    try:
        reader = maxminddb.open_database(str(database), maxminddb.MODE_AUTO)
    except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
        raise GeoIPDatabaseError(f"VIGIL_GEOIP_DATABASE={path} is not a MaxMind DB file ({exc}); "
                                 f"{DOWNLOAD_HINT}") from None
    kind = reader.metadata().database_type
    if any(product in kind for product in WITHOUT_LOCATIONS):
        reader.close()
        raise GeoIPDatabaseError(f"VIGIL_GEOIP_DATABASE={path} is a {kind} database, which has no countries; "
                                 f"{DOWNLOAD_HINT}")
    log.info("GeoIP: %s (%s, built %s)", database, kind, reader.metadata().build_epoch)
    return functools.lru_cache(maxsize=CACHE_SIZE)(functools.partial(locate, reader))


def locate(reader: maxminddb.Reader, ip: str) -> Location:
    """The location of one address (``""`` fields where the database does not know)."""
    if not ip:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(ip)
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:203.0.113.9 is 203.0.113.9 in every database
        record = reader.get(address)
    except ValueError:  # not an address, or IPv6 in an IPv4-only database
        return UNKNOWN
    except maxminddb.InvalidDatabaseError as exc:  # a damaged record: this address stays unknown
        log.warning("GeoIP: the record of %s cannot be read (%s); replace the database file", ip, exc)
        return UNKNOWN
    return location_of(record) if type(record) is dict else UNKNOWN


def location_of(record: dict[str, Any]) -> Location:
    """A GeoLite2-City/-Country record → :class:`Location`; anything unexpected reads as unknown."""
    country = _field(record.get("country"), "iso_code")
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        country = ""
    subdivisions = record.get("subdivisions")
    region = ""
    if type(subdivisions) is list and subdivisions and type(subdivisions[0]) is dict:
        region = _english_name(subdivisions[0])
        if not region:
            code = _field(subdivisions[0], "iso_code")
            region = f"{country}-{code}" if code and country else code
    city = _english_name(record.get("city"))
    return Location(country.upper(), region[:MAX_NAME_CHARS], city[:MAX_NAME_CHARS])


def _field(entry: Any, key: str) -> str:
    value = entry.get(key) if type(entry) is dict else None
    return value if type(value) is str else ""


def _english_name(entry: Any) -> str:
    return _field(entry.get("names") if type(entry) is dict else None, "en")
