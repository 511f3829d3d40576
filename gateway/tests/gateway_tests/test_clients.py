from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from stdnum.vn import mst

from customs_shared.auth import Role
from gateway.clients import (
    ClientRegistry,
    ClientsFileError,
    OAuthClient,
    parse_clients,
    read_clients_file,
)

DEMO_CLIENTS = Path(__file__).resolve().parents[3] / "deploy" / "local" / "clients.json"

_HASH = PasswordHasher().hash("a-secret-for-the-validation-tests")


def _client(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "client_id": "c1",
        "client_secret_hash": _HASH,
        "roles": ["broker"],
        "tenant": "0312345673",
        "scopes": ["declarations:read"],
    }
    values.update(overrides)
    return values


def test_valid_client_parses() -> None:
    (client,) = parse_clients(json.dumps({"_comment": "x", "clients": [_client()]}))

    assert client.roles == (Role.BROKER,)
    assert "client_secret_hash" not in repr(client)


@pytest.mark.parametrize(
    "overrides",
    [
        {"roles": ["emperor"]},
        {"roles": []},
        {"client_secret_hash": "plaintext-secret"},
        {"client_secret_hash": "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"},
        {"tenant": "0312345678"},  # broker with a bad tax-code check digit
        {"scopes": ["has space"]},
        {"client_id": "bad id"},
        {"unexpected": 1},
    ],
)
def test_invalid_client_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        parse_clients(json.dumps({"clients": [_client(**overrides)]}))


def test_duplicate_client_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": [_client(), _client()]}))

    with pytest.raises(ClientsFileError, match="listed twice"):
        read_clients_file(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ClientsFileError, match="does not exist"):
        read_clients_file(tmp_path / "absent.json")


class _CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.checked: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checked.append(str(hash))
        return super().verify(hash, password)


async def test_unknown_client_costs_an_argon2_check() -> None:
    """No shortcut for unknown ids: timing must not reveal which ids exist."""
    hasher = _CountingHasher()
    registry = ClientRegistry([OAuthClient.model_validate(_client())], hasher=hasher)

    assert await registry.authenticate("nobody", "a-secret-for-the-validation-tests") is None
    assert await registry.authenticate("c1", "wrong") is None
    assert await registry.authenticate("c1", "a-secret-for-the-validation-tests") is not None

    assert len(hasher.checked) == 3
    assert hasher.checked[0].startswith("$argon2id$")
    assert hasher.checked[0] != _HASH


def test_hash_secret_cli_prints_a_verifiable_hash() -> None:
    secret = "operator-chosen-secret-0123"
    result = subprocess.run(
        [sys.executable, "-m", "gateway.hash_secret"],
        input=secret + "\n",
        capture_output=True,
        text=True,
        check=True,
    )

    printed = result.stdout.strip()
    assert printed.startswith("$argon2id$")
    assert PasswordHasher().verify(printed, secret)
    assert secret not in result.stdout


def test_hash_secret_cli_refuses_short_secrets() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.hash_secret"],
        input="short",
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""


async def test_demo_clients_file_is_valid_and_secrets_follow_the_pattern() -> None:
    registry = ClientRegistry(read_clients_file(DEMO_CLIENTS))
    raw = json.loads(DEMO_CLIENTS.read_text())
    ids = [c["client_id"] for c in raw["clients"]]

    assert "demo-only" in raw["_comment"].lower()
    assert {r for c in raw["clients"] for r in c["roles"]} == {role.value for role in Role}
    for client_id in ids:
        client = await registry.authenticate(client_id, f"{client_id}-secret")
        assert client is not None, client_id
        if Role.BROKER in client.roles or Role.DECLARANT in client.roles:
            assert mst.is_valid(client.tenant), client.tenant
    brokers = [c for c in raw["clients"] if c["roles"] == ["broker"]]
    assert len({b["tenant"] for b in brokers}) == 2
