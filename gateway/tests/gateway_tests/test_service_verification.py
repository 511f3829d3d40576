"""A service verifies gateway tokens the way every service does: shared JwksCache
fetching the gateway's JWKS over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import httpx
import pytest
import uvicorn

from customs_shared.auth import JwksCache, Role, TokenVerifier
from customs_shared.problems import Unauthorized
from gateway.main import create_app
from gateway.settings import GatewaySettings
from gateway_tests.support import BROKER_ID, BROKER_SECRET, BROKER_TENANT, basic


async def test_service_verifies_gateway_token_through_http_jwks(
    make_settings: Callable[..., GatewaySettings],
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(make_settings()), log_config=None, lifespan="on", ws="none")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        async with httpx.AsyncClient(base_url=base) as http:
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "declarations:read"},
                headers={"Authorization": basic(BROKER_ID, BROKER_SECRET)},
            )
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]

            verifier = TokenVerifier(
                JwksCache(f"{base}/.well-known/jwks.json", http, ttl_seconds=300),
                issuer="customs-gateway",
                audience="customs-api",
                algorithms=["EdDSA"],
            )
            principal = await verifier.verify(token)

            assert principal.subject == BROKER_ID
            assert principal.tenant == BROKER_TENANT
            assert principal.roles == frozenset({Role.BROKER})
            assert principal.scopes == frozenset({"declarations:read"})
            with pytest.raises(Unauthorized):
                await verifier.verify(token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    finally:
        server.should_exit = True
        await task
        sock.close()
