"""Client administration on the gateway's PostgreSQL database, through the admin API and
the CLI: register (secret shown once), rotate with overlap, a client's own rate limit,
disable (its tokens revoked through Kafka) and enable; a change on one replica is seen
by another within the refresh interval; only admins administer."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway_tests.support import (
    ADMIN_ID,
    ADMIN_SECRET,
    BROKER_ID,
    BROKER_SECRET,
    BROKER_TENANT,
    Gateway,
    GatewayFactory,
    basic,
    get_token,
)
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

PEPPER = "test-pepper-" + "p" * 32
CLIENTS = "/api/v1/clients"


@pytest.fixture
async def admin_gateways(
    gateway_factory: GatewayFactory, postgres: PostgresServer, kafka_bootstrap: str
) -> AsyncIterator[tuple[Gateway, Gateway]]:
    """Two replicas on one database, as in a deployment."""
    settings: dict[str, Any] = {
        "database_url": postgres.url("gateway"),
        "kafka_bootstrap": kafka_bootstrap,
        "secret_pepper": PEPPER,
        "clients_refresh_seconds": 0.2,
    }
    async with gateway_factory(**settings) as one, gateway_factory(**settings) as two:
        yield one, two


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {await get_token(client, ADMIN_ID, ADMIN_SECRET)}"}


async def token_answer(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(client_id, secret)},
    )


async def eventually_status(
    client: httpx.AsyncClient, client_id: str, secret: str, status: int
) -> httpx.Response:
    """The token endpoint's answer once the replica's registry caught up (≤ 5 s)."""
    for _ in range(50):
        answer = await token_answer(client, client_id, secret)
        if answer.status_code == status:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"{client_id}: still {answer.status_code}, wanted {status}")


def registration(client_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "roles": ["broker"],
        "tenant": BROKER_TENANT,
        "scopes": ["declarations:read"],
        "description": "broker software of a customer",
        **changes,
    }


@pytest.mark.usefixtures("clear_of_a_window_edge")
async def test_register_rotate_limit_disable_enable_across_two_replicas(
    admin_gateways: tuple[Gateway, Gateway],
) -> None:
    one, two = admin_gateways
    admin = await admin_headers(one.client)
    client_id = f"broker-{uuid.uuid4().hex[:8]}"

    created = await one.client.post(CLIENTS, json=registration(client_id), headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{CLIENTS}/{client_id}"
    first_secret = created.json()["client_secret"]
    assert len(first_secret) >= 43  # 256 bits, base64url
    shown = (await one.client.get(f"{CLIENTS}/{client_id}", headers=admin)).json()
    assert "client_secret" not in shown
    assert shown["enabled"] is True

    # Registered through replica one, usable at replica two.
    token = (await eventually_status(two.client, client_id, first_secret, 200)).json()
    assert token["scope"] == "declarations:read"

    again = await one.client.post(CLIENTS, json=registration(client_id), headers=admin)
    assert again.status_code == 409
    bad = await one.client.post(
        CLIENTS, json=registration(f"x-{client_id}", tenant="not-a-tax-code"), headers=admin
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "tax code" in bad.json()["detail"]

    # Rotation with overlap: both secrets work, then the old one ends with a second rotation.
    rotated = await one.client.post(
        f"{CLIENTS}/{client_id}/secret", json={"keep_previous_seconds": 600}, headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    second_secret = rotated.json()["client_secret"]
    await eventually_status(two.client, client_id, second_secret, 200)
    assert (await token_answer(two.client, client_id, first_secret)).status_code == 200
    final = await one.client.post(
        f"{CLIENTS}/{client_id}/secret", json={"keep_previous_seconds": 0}, headers=admin
    )
    third_secret = final.json()["client_secret"]
    await eventually_status(two.client, client_id, second_secret, 401)
    await eventually_status(two.client, client_id, first_secret, 401)

    # A client's own rate limit, below the gateway's default.
    limited = await one.client.patch(
        f"{CLIENTS}/{client_id}", json={"rate_limit_per_minute": 2}, headers=admin
    )
    assert limited.json()["rate_limit_per_minute"] == 2
    await asyncio.sleep(0.5)  # both registries reload
    bearer = {
        "Authorization": "Bearer "
        + (await eventually_status(two.client, client_id, third_secret, 200)).json()["access_token"]
    }
    answers = [
        (await two.client.get("/api/v1/declarations/x", headers=bearer)).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]

    # Disabled: no new token, and the one it holds is refused within seconds.
    disabled = await one.client.post(
        f"{CLIENTS}/{client_id}/disable", json={"reason": "key leaked"}, headers=admin
    )
    assert disabled.json()["enabled"] is False
    await eventually_status(two.client, client_id, third_secret, 401)
    for _ in range(100):
        refused = await two.client.get("/api/v1/declarations/x", headers=bearer)
        if refused.status_code == 401:
            break
        await asyncio.sleep(0.1)
    assert refused.status_code == 401

    enabled = await one.client.post(f"{CLIENTS}/{client_id}/enable", headers=admin)
    assert enabled.json()["enabled"] is True
    await eventually_status(two.client, client_id, third_secret, 200)
    listed = (await one.client.get(CLIENTS, params={"limit": 200}, headers=admin)).json()
    assert client_id in {c["client_id"] for c in listed["items"]}
    assert all("client_secret" not in c for c in listed["items"])


async def test_only_admins_administer(admin_gateways: tuple[Gateway, Gateway]) -> None:
    one, _ = admin_gateways
    broker = {"Authorization": f"Bearer {await get_token(one.client, BROKER_ID, BROKER_SECRET)}"}
    assert (await one.client.get(CLIENTS, headers=broker)).status_code == 403
    assert (await one.client.get(CLIENTS)).status_code == 401
    admin = await admin_headers(one.client)
    missing = await one.client.post(
        f"{CLIENTS}/nobody/disable", json={"reason": "x"}, headers=admin
    )
    assert missing.status_code == 404


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.clients", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_cli_registers_lists_rotates_and_disables(
    admin_gateways: tuple[Gateway, Gateway], postgres: PostgresServer, kafka_bootstrap: str
) -> None:
    one, _ = admin_gateways
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": postgres.url("gateway"),
        "GATEWAY_SECRET_PEPPER": PEPPER,
        "GATEWAY_KAFKA_BOOTSTRAP": kafka_bootstrap,
    }
    client_id = f"cli-{uuid.uuid4().hex[:8]}"
    made = cli(
        env,
        "register",
        client_id,
        "--role",
        "partner_agency",
        "--tenant",
        "vn-port-radiation",
        "--scope",
        "partner-events:write",
        "--partner-event-type",
        "customs.partner.radiation-alarm.v1",
        "--partner-event-source",
        "urn:customs:partner:cli",
    )
    assert made.returncode == 0, made.stderr
    secret = json.loads(made.stdout)["client_secret"]
    await eventually_status(one.client, client_id, secret, 200)

    listed = cli(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert client_id in {c["client_id"] for c in json.loads(listed.stdout)}
    assert "client_secret" not in listed.stdout

    rotated = cli(env, "rotate", client_id, "--keep-previous-seconds", "0")
    new_secret = json.loads(rotated.stdout)["client_secret"]
    await eventually_status(one.client, client_id, secret, 401)
    await eventually_status(one.client, client_id, new_secret, 200)

    disabled = cli(env, "disable", client_id, "--reason", "agreement ended")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["tokens_revoked"] is True
    await eventually_status(one.client, client_id, new_secret, 401)

    unknown = cli(env, "disable", "nobody-at-all", "--reason", "x")
    assert unknown.returncode == 1
    assert "No client nobody-at-all" in unknown.stderr


def _assertion(
    key: Ed25519PrivateKey, client_id: str, *, audience: str, lifetime: int = 60, **extra: Any
) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        **extra,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "partner-key-1"})


async def _with_assertion(client: httpx.AsyncClient, assertion: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


async def test_private_key_jwt_authenticates_once_per_assertion(
    admin_gateways: tuple[Gateway, Gateway],
) -> None:
    one, two = admin_gateways
    admin = await admin_headers(one.client)
    key = Ed25519PrivateKey.generate()
    public = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = {"keys": [{**public, "kid": "partner-key-1", "use": "sig"}]}
    client_id = f"keyed-{uuid.uuid4().hex[:8]}"
    created = await one.client.post(CLIENTS, json=registration(client_id, jwks=jwks), headers=admin)
    assert created.status_code == 201, created.text
    private = {"keys": [{**public, "kid": "k", "d": "c2VjcmV0"}]}
    refused = await one.client.post(
        CLIENTS, json=registration(f"x-{client_id}", jwks=private), headers=admin
    )
    assert refused.status_code == 422  # a private key is never registered

    endpoint = "http://gateway.test/oauth/token"
    good = _assertion(key, client_id, audience=endpoint)
    for _ in range(50):  # until replica two has loaded the client
        answer = await _with_assertion(two.client, good)
        if answer.status_code != 401:
            break
        good = _assertion(key, client_id, audience=endpoint)
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "declarations:read"

    # The same assertion again, at either replica: a replay.
    assert (await _with_assertion(one.client, good)).status_code == 401
    assert (await _with_assertion(two.client, good)).status_code == 401
    other_key = Ed25519PrivateKey.generate()
    for bad in (
        _assertion(key, client_id, audience="https://elsewhere.example/token"),
        _assertion(key, client_id, audience=endpoint, lifetime=3600),  # lives too long
        _assertion(key, client_id, audience=endpoint, lifetime=-60),  # expired
        _assertion(other_key, client_id, audience=endpoint),  # not its key
        _assertion(key, "nobody-registered", audience=endpoint),
    ):
        answer = await _with_assertion(one.client, bad)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client"
    # An assertion and a secret at once is a malformed request.
    both = await one.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(key, client_id, audience=endpoint),
            "client_secret": "x",
        },
    )
    assert (both.status_code, both.json()["error"]) == (400, "invalid_request")
