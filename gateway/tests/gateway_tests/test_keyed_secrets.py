from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.clients import ClientRegistry, ClientsFileError, OAuthClient, main, new_client_secret
from gateway.settings import GatewaySettings
from gateway_tests.support import basic, run_gateway

PEPPER = b"p" * 32


def _client(stored: str) -> OAuthClient:
    return OAuthClient(
        client_id="machine", client_secret_hash=stored, roles=("officer",), tenant="hq"
    )


async def test_a_generated_secret_is_checked_in_microseconds() -> None:
    secret, stored = new_client_secret(PEPPER)
    registry = ClientRegistry([_client(stored)], pepper=PEPPER)

    started = time.perf_counter()
    accepted = await registry.authenticate("machine", secret)
    elapsed = time.perf_counter() - started

    assert len(secret) >= 43  # 32 random bytes, base64url
    assert stored.startswith("$hmac-sha256$")
    assert secret not in stored
    assert accepted is not None
    assert elapsed < 0.01
    assert await registry.authenticate("machine", secret + "x") is None
    # Another pepper does not verify it: the stored hash alone is useless.
    other = ClientRegistry([_client(stored)], pepper=b"q" * 32)
    assert await other.authenticate("machine", secret) is None


def test_generated_secrets_need_the_pepper() -> None:
    _, stored = new_client_secret(PEPPER)
    with pytest.raises(ClientsFileError, match="GATEWAY_SECRET_PEPPER"):
        ClientRegistry([_client(stored)])
    with pytest.raises(ValueError, match="64 lowercase hex"):
        _client("$hmac-sha256$nothex")


def test_cli_prints_a_secret_once_with_its_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SECRET_PEPPER", PEPPER.decode())
    assert main(["new-secret"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    registry = ClientRegistry([_client(lines["client_secret_hash"])], pepper=PEPPER)
    assert registry.get("machine") is not None

    monkeypatch.delenv("GATEWAY_SECRET_PEPPER")
    assert main(["new-secret"]) == 2


async def test_token_for_a_generated_secret(
    tmp_path: Path, make_settings: Callable[..., GatewaySettings]
) -> None:
    secret, stored = new_client_secret(PEPPER)
    clients = tmp_path / "clients.json"
    clients.write_text(
        json.dumps(
            {
                "clients": [
                    {
                        "client_id": "machine",
                        "client_secret_hash": stored,
                        "roles": ["officer"],
                        "tenant": "hq",
                        "scopes": ["declarations:read"],
                    }
                ]
            }
        )
    )
    settings = make_settings(clients_file=clients, secret_pepper=PEPPER.decode())

    async with run_gateway(settings) as gw:
        ok = await gw.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic("machine", secret)},
        )
        wrong = await gw.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic("machine", "x" * 43)},
        )

    assert ok.status_code == 200
    assert wrong.status_code == 401
