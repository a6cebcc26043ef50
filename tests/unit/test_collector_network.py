"""Who the client is: the socket's peer, or X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import pytest

from pipeline.ingest.network import ClientAddress, parse_trusted_proxies


def test_without_trusted_proxies_forwarded_for_is_ignored():
    assert ClientAddress().resolve("198.51.100.7", "203.0.113.1") == "198.51.100.7"


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    resolver = ClientAddress(parse_trusted_proxies("10.0.0.0/8"))
    assert resolver.resolve("198.51.100.7", "203.0.113.1") == "198.51.100.7"


def test_the_rightmost_untrusted_hop_is_the_client():
    resolver = ClientAddress(parse_trusted_proxies("10.0.0.0/8, 127.0.0.1"))
    # the client forged the first entry; our proxies appended the rest
    assert resolver.resolve("127.0.0.1", "1.1.1.1, 203.0.113.1, 10.0.0.5") == "203.0.113.1"


def test_when_every_hop_is_trusted_the_leftmost_is_taken():
    resolver = ClientAddress(parse_trusted_proxies("10.0.0.0/8"))
    assert resolver.resolve("10.0.0.1", "10.0.0.9, 10.0.0.5") == "10.0.0.9"


def test_ipv6_proxies_and_clients():
    resolver = ClientAddress(parse_trusted_proxies("::1"))
    assert resolver.resolve("::1", "2001:db8::7") == "2001:db8::7"


def test_a_bad_proxy_entry_stops_the_collector_with_the_reason():
    with pytest.raises(SystemExit, match="VIGIL_TRUSTED_PROXIES"):
        parse_trusted_proxies("10.0.0.0/8, proxy.internal")
