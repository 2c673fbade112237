"""What newsbot may fetch and what it may believe: the one policy every web request goes through.

Whoever publishes a feed controls the addresses newsbot fetches and the pages it reads, so:

- **Addresses.** Only public (globally routable) internet addresses are fetched. Loopback,
  private, link-local (where cloud metadata services live), shared, multicast, reserved and
  unspecified addresses are refused, unless the host name or the address is allowed by
  ``NEWSBOT_FETCH_ALLOW_HOSTS`` (for an intranet). The check runs on the addresses a name
  resolves to, at the moment of connecting, for every connection, so every redirect is checked
  and the connection goes to the very address that was checked (a name that resolves to a
  public address for the check and a private one for the connection gains nothing).
- **Canonical links.** A page's ``<link rel="canonical">`` is believed only when it names the host
  the page was served from: a page cannot claim another site's story, or be cited as another
  outlet.
- **Limits.** One deadline covers a whole request (connect, headers, body); the body is
  decompressed in bounded steps and stops at the size cap (:mod:`index.connect`,
  :mod:`index.inflate`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_REDIRECTS = 10


class AddressRefused(Exception):
    """A connection the policy does not allow. ``str()`` says why, naming the setting."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the order the system gives them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def is_address(host: str) -> bool:
    """Is ``host`` an IP address rather than a name?"""
    return _address(_normal_host(host)) is not None


def kind_of(address: IPAddress) -> str | None:
    """What makes ``address`` non-public, or ``None`` for a public internet address."""
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_unspecified:
        return "an unspecified address (this machine)"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private network address"
    if not address.is_global:
        return "not a public internet address"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts may be connected to. ``allow_hosts`` holds names, addresses or networks
    (``intranet.example``, ``10.0.0.5``, ``10.1.0.0/16``) that may be fetched although private."""

    allow_names: frozenset[str] = frozenset()
    allow_networks: tuple[Network, ...] = ()
    resolver: Resolver = system_resolver

    @classmethod
    def allowing(cls, hosts: Iterable[str], resolver: Resolver | None = None) -> AddressPolicy:
        names: set[str] = set()
        networks: list[Network] = []
        for raw in hosts:
            host = _normal_host(raw)
            if not host:
                continue
            try:
                networks.append(ipaddress.ip_network(host, strict=False))
            except ValueError:
                names.add(host)
        return cls(frozenset(names), tuple(networks), resolver or system_resolver)

    def refusal(self, host: str, ip: str) -> str | None:
        """Why ``host`` may not be reached at ``ip``, or ``None`` when it may."""
        address = _address(ip)
        if address is None:
            return f"{ip} is not an IP address"
        if _normal_host(host) in self.allow_names:
            return None
        if any(address in network for network in self.allow_networks):
            return None
        kind = kind_of(address)
        if kind is None:
            return None
        shown = host if _normal_host(host) == str(address) else f"{host} ({address})"
        return (
            f"refused: {shown} is {kind}; newsbot only fetches public addresses "
            "(allow it with NEWSBOT_FETCH_ALLOW_HOSTS)"
        )

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` that may be connected to, in resolver order; raises
        :class:`AddressRefused` when it resolves only to refused ones."""
        literal = _address(_normal_host(host))
        found = [str(literal)] if literal is not None else self.resolver(host, port)
        allowed = [ip for ip in found if self.refusal(host, ip) is None]
        if not allowed:
            reasons = [self.refusal(host, ip) for ip in found]
            raise AddressRefused(next((r for r in reasons if r), f"{host} has no address"))
        return allowed


def _site(host: str) -> str:
    return _normal_host(host).removeprefix("www.")


def trusted_canonical(canonical: str, served_from: str) -> bool:
    """May a page served from ``served_from`` (its address after redirects) name ``canonical``
    as its address? Only on its own host (``www.`` aside): a page can't speak for another site."""
    own, named = urlsplit(served_from), urlsplit(canonical)
    if named.scheme not in ("http", "https") or not named.hostname or not own.hostname:
        return False
    return _site(named.hostname) == _site(own.hostname) and _port(named) == _port(own)


def _port(parts: SplitResult) -> int | None:
    """A port that is not the default of http or https (a site may name either scheme)."""
    return None if parts.port in (None, 80, 443) else parts.port
