"""Who is the client? The socket's peer, unless that peer is a reverse proxy we were told to trust.

``X-Forwarded-For`` is trivially forged, so it is read only when the connection comes from
one of ``VIGIL_TRUSTED_PROXIES`` (IPs or CIDRs). Then the header is walked from the right —
each trusted proxy appends the address it saw — and the first address that is not itself
a trusted proxy is the client. (uvicorn's own proxy-header handling is switched off so this
is the only place that decides.)
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; a bad entry stops the collector with the reason."""
    networks = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SystemExit(
                f"VIGIL_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR; "
                "give e.g. 10.0.0.0/8,127.0.0.1 (or leave it empty to trust no proxy)"
            ) from None
    return tuple(networks)


class ClientAddress:
    """Resolves the client IP of a request from its peer address and forwarded headers."""

    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted)

    def is_trusted(self, address: str) -> bool:
        if not self.trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        if not forwarded_for or not self.is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        # every hop is one of our proxies: the leftmost is the closest thing to a client
        return hops[0] if hops else peer
