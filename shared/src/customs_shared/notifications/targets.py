"""Which webhook targets may be called: https only, never loopback, private, link-local
or other non-public addresses, unless an operator allows them (the local run and tests
do)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from customs_shared.notifications.errors import WebhookTargetRefused

# NAT64's well-known prefix (RFC 6052): its last 32 bits are an IPv4 address a gateway on
# the way forwards to. Python counts the prefix global. The local-use prefix (RFC 8215)
# is a network's own, so not public.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Connection:
    """Where a checked webhook URL is called: the address it was checked at in place of
    its name, so a second lookup cannot lead elsewhere (DNS rebinding), with the name
    kept for the ``Host`` header and TLS (SNI and certificate check)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


async def check_url(url: str, *, allow_private: bool) -> Connection:
    """Refuses a webhook URL that is not https or whose host resolves to an address
    that is not public; otherwise, how to call it."""
    if allow_private:
        return Connection(url)
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise WebhookTargetRefused("Webhooks are delivered over https only.")
    host = parts.hostname or ""
    addresses = await check_target(host, parts.port or 443, allow_private=False)
    if _literal(host):
        return Connection(url)
    pinned = f"[{addresses[0]}]" if addresses[0].version == 6 else str(addresses[0])
    userinfo, _, host_and_port = parts.netloc.rpartition("@")
    netloc = (f"{userinfo}@" if userinfo else "") + pinned
    netloc += f":{parts.port}" if parts.port else ""
    return Connection(
        urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")),
        headers={"host": host_and_port},
        extensions={"sni_hostname": host},
    )


async def check_target(host: str, port: int, *, allow_private: bool) -> list[Address]:
    """The addresses ``host`` resolves to, all public (unless ``allow_private``)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookTargetRefused(f"{host} does not resolve: {exc}.") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses if not allow_private else ():
        if not all(_public(a) for a in (address, *_embedded_ipv4(address))):
            raise WebhookTargetRefused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved "
                "address; webhooks go to public addresses only.",
                address=str(address),
            )
    if not addresses:
        raise WebhookTargetRefused(f"{host} resolves to no address.")
    return addresses


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _public(address: Address) -> bool:
    if address in _NAT64_LOCAL:
        return False
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through 6to4, Teredo or NAT64: a
    public-looking IPv6 address must not reach 127.0.0.1 or 10.0.0.0/8 that way."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found
