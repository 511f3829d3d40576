"""Server-side request forgery (OWASP API7) through the APIs that take a URL: webhook
subscriptions of declaration-svc and ipr-svc, with private targets not allowed (every
environment but the local one). Each hostile URL is a 422 problem and nothing is stored
(the apps have no database: a store would be a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from customs_shared.auth import Role
from gateway_tests.services import domain_services, role_token
from gateway_tests.support import Gateway

URLS = [
    "https://127.0.0.1/hook",
    "https://2130706433/",
    "https://0x7f000001/",
    "https://localhost:9001/metrics",
    "https://10.0.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/",
    "https://[fd00::1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::7f00:1]/",
    "https://public.example@127.0.0.1/",
    "http://93.184.215.14/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "https://public.example/" + "a" * 2000,
]
SUBSCRIBERS = {
    "declaration-svc": ("/api/v1/declarations/webhooks", Role.BROKER, "declarations:write"),
    "ipr-svc": ("/api/v1/ipr/webhooks", Role.RIGHT_HOLDER, "ipr:write"),
}


@pytest.fixture(scope="module")
async def clients(gateway: Gateway) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with domain_services(gateway, webhook_allow_private_targets=False) as services:
        yield {s.spec.name: s.client for s in services}


def _token(gateway: Gateway, role: Role, scope: str) -> str:
    return role_token(gateway, role, scope, subject="subscriber")


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("service", SUBSCRIBERS)
async def test_a_webhook_to_a_private_address_is_refused_at_subscription(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], service: str, url: str
) -> None:
    path, role, scope = SUBSCRIBERS[service]
    response = await clients[service].post(
        path,
        json={"url": url},
        headers={"Authorization": f"Bearer {_token(gateway, role, scope)}"},
    )
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
