"""Which webhook targets may be called: https only, never loopback, private, link-local
or other non-public addresses, unless an operator allows them (the local run and tests
do)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from customs_shared.notifications.errors import WebhookTargetRefused

# NAT64's well-known prefix (RFC 6052): its last 32 bits are an IPv4 address a gateway on
# the way forwards to. Python counts the prefix global. The local-use prefix (RFC 8215)
# is a network's own, so not public.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuses a webhook URL that is not https or whose host resolves to an address
    that is not public."""
    if allow_private:
        return
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise WebhookTargetRefused("Webhooks are delivered over https only.")
    await check_target(parts.hostname or "", parts.port or 443, allow_private=False)


async def check_target(host: str, port: int, *, allow_private: bool) -> None:
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookTargetRefused(f"{host} does not resolve: {exc}.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not all(_public(a) for a in (address, *_embedded_ipv4(address))):
            raise WebhookTargetRefused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved "
                "address; webhooks go to public addresses only.",
                address=str(address),
            )


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
