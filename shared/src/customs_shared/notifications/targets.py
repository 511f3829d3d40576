"""Which webhook targets may be called: never loopback, private, link-local or other
non-public addresses, unless an operator allows them (the local run and tests do)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from customs_shared.notifications.errors import WebhookTargetRefused


async def check_target(host: str, port: int, *, allow_private: bool) -> None:
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookTargetRefused(f"{host} does not resolve: {exc}.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise WebhookTargetRefused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved "
                "address; webhooks go to public addresses only.",
                address=str(address),
            )
