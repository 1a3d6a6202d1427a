"""Where a webhook may be delivered: the guard against server-side request forgery.

A deployed stage delivers only to `https` URLs whose host resolves to public addresses,
every one of them (a name that also resolves to a private address is refused: the
connection could go to either). An address is public when IANA says it is globally
reachable, and so is any IPv4 address it carries (IPv4-mapped, 6to4, Teredo, NAT64):
no loopback, private, link-local (the cloud metadata service, 169.254.169.254, among
them), shared (CGNAT), multicast, reserved or documentation ranges.

The check runs when a webhook is set (the URL's form) and before every delivery (the
resolution, which may change), and the delivery connects to the address it checked,
never resolving the name again; it follows no redirect.

The `local` stage delivers to `http` or `https` on loopback only, so that `make run`
reaches a receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple, Union
from urllib.parse import urlsplit

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048
# NAT64 prefixes carry an IPv4 address in their last 32 bits (RFC 6052, RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class RefusedDestination(ValueError):
    """The URL may not be delivered to; the message says why, for the editor."""


@dataclass(frozen=True)
class Destination:
    """A URL as the delivery uses it: where to connect (the checked addresses) and what
    to name (the host, for TLS and the Host header)."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # the path and query, as sent
    addresses: Tuple[str, ...] = ()


def parse(url: str, local: bool) -> Destination:
    """The URL's form: refused unless `https` (or, on the local stage, loopback `http`)."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedDestination(f"not a URL: {exc}") from exc
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise RefusedDestination("the URL must be https://host/...")
    if parts.username is not None or parts.password is not None:
        raise RefusedDestination("the URL may not carry a user name or password")
    if parts.scheme == "http" and not (local and _names_loopback(host)):
        raise RefusedDestination("webhooks are delivered over https only (http only to 127.0.0.1 on the local stage)")
    literal = _literal(host)
    if literal is not None and not local:
        check_address(literal)
    if local and not _names_loopback(host):
        raise RefusedDestination("the local stage delivers to 127.0.0.1, ::1 or localhost only")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    default = 443 if parts.scheme == "https" else 80
    return Destination(url=url, scheme=parts.scheme, host=host, port=port or default, target=target)


def resolve(destination: Destination, local: bool, resolver: Resolver | None = None) -> Destination:
    """The destination with the addresses to connect to, every one of them checked."""
    addresses = list((resolver or system_resolver)(destination.host, destination.port))
    if not addresses:
        raise RefusedDestination(f"'{destination.host}' does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if local:
            if not address.is_loopback:
                raise RefusedDestination(f"'{destination.host}' resolves to {text}, not a loopback address")
        else:
            check_address(address)
    return Destination(**{**destination.__dict__, "addresses": tuple(addresses)})


def check_address(address: IPAddress) -> None:
    """Refuses an address that is not public, naming the range it is in."""
    for carried in (address, *_carried(address)):
        if not carried.is_global or carried.is_multicast:
            raise RefusedDestination(f"{address} is not a public address ({_kind(carried)})")


def system_resolver(host: str, port: int) -> List[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedDestination(f"'{host}' does not resolve ({exc.strerror})") from exc
    return sorted({str(info[4][0]) for info in found})


def _carried(address: IPAddress) -> List[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (a connection to it reaches them)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: List[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _kind(address: IPAddress) -> str:
    for name in ("loopback", "private", "link_local", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "not globally reachable"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _names_loopback(host: str) -> bool:
    literal = _literal(host)
    return host == "localhost" if literal is None else literal.is_loopback
