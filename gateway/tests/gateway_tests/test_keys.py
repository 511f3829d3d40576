from __future__ import annotations

import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared.keys import (
    KeyRing,
    SigningKeyError,
    jwk_thumbprint,
    load_key_ring,
    load_or_create_private_key,
    public_jwk,
)
from gateway.settings import GatewaySettings
from gateway.tokens import TokenIssuer
from gateway_tests.support import BROKER_ID, get_token, run_gateway


def test_thumbprint_matches_rfc_8037_example() -> None:
    # RFC 8037 appendix A.2/A.3: the Ed25519 example key and its RFC 7638 thumbprint.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_public_jwk_kid_is_its_thumbprint() -> None:
    jwk = public_jwk(Ed25519PrivateKey.generate().public_key())

    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert jwk["use"] == "sig"
    assert jwk["alg"] == "EdDSA"


def test_generated_key_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "key.pem"

    first = load_key_ring(path, generate=True)
    second = load_key_ring(path, generate=False)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.kid == second.kid


def test_processes_starting_at_once_all_get_the_one_key_written_whole(tmp_path: Path) -> None:
    """Replicas (or a service and its tests) starting together on an empty volume: one key
    wins, and none of the others reads it half written."""
    racers = 16
    for attempt in range(5):
        path = tmp_path / f"round-{attempt}" / "signing-key.pem"
        start = threading.Barrier(racers)

        def load(path: Path = path, start: threading.Barrier = start) -> bytes:
            start.wait()
            key = load_or_create_private_key(path, generate=True)
            return key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )

        with ThreadPoolExecutor(racers) as pool:
            keys = list(pool.map(lambda _: load(), range(racers)))
        assert len(set(keys)) == 1
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no draft left


def test_encrypted_key_needs_its_password(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    load_or_create_private_key(path, generate=True, password=b"s3cret-passphrase")

    assert b"ENCRYPTED" in path.read_bytes()
    with pytest.raises(SigningKeyError):
        load_or_create_private_key(path, generate=False, password=None)
    load_or_create_private_key(path, generate=False, password=b"s3cret-passphrase")


def test_missing_key_without_generation_fails(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="does not exist"):
        load_or_create_private_key(tmp_path / "absent.pem", generate=False)


def test_key_generation_defaults_to_local_environment_only() -> None:
    assert GatewaySettings(environment="local").generate_signing_key is True
    assert GatewaySettings(environment="production").generate_signing_key is False
    assert GatewaySettings(environment="production", generate_signing_key=True).generate_signing_key


def test_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(SigningKeyError, match="Ed25519"):
        load_or_create_private_key(path, generate=False)


async def test_rotation_lists_previous_key_and_accepts_its_tokens(
    tmp_path: Path, make_settings: Callable[..., GatewaySettings]
) -> None:
    retired = Ed25519PrivateKey.generate()
    previous_dir = tmp_path / "previous"
    previous_dir.mkdir()
    (previous_dir / "2025-01.pem").write_bytes(
        retired.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = make_settings(
        signing_key_file=tmp_path / "current.pem", previous_public_keys_dir=previous_dir
    )

    async with run_gateway(settings) as gw:
        jwks = (await gw.client.get("/.well-known/jwks.json")).json()
        kids = [key["kid"] for key in jwks["keys"]]
        retired_kid = public_jwk(retired.public_key())["kid"]
        assert kids == [gw.state["keys"].kid, retired_kid]

        # A token the retired key signed before the rotation still passes the gateway.
        old_ring = KeyRing.build(retired)
        client = gw.state["clients"].get(BROKER_ID)
        assert client is not None
        old_token = TokenIssuer(
            old_ring, issuer="customs-gateway", audience="customs-api", ttl_seconds=300
        ).issue(client, ["declarations:read"])
        assert jwt.get_unverified_header(old_token.access_token)["kid"] == retired_kid
        response = await gw.client.get(
            "/api/v1/declarations",
            headers={"Authorization": f"Bearer {old_token.access_token}"},
        )
        assert response.status_code == 200

        # New tokens are signed by the current key.
        new_token = await get_token(gw.client)
        assert jwt.get_unverified_header(new_token)["kid"] == gw.state["keys"].kid


async def test_rotation_overlap_then_the_retired_key_is_refused(
    tmp_path: Path, make_settings: Callable[..., GatewaySettings]
) -> None:
    """The documented procedure: (1) the new key is published before it signs, (2) it
    signs while the old one is still accepted, (3) once the old key's last token has
    expired, the old key leaves the previous keys and its tokens are refused."""
    old_pem = tmp_path / "old.pem"
    new_pem = tmp_path / "new.pem"
    previous_dir = tmp_path / "previous"
    previous_dir.mkdir()

    async with run_gateway(make_settings(signing_key_file=old_pem)) as before:
        old_token = await get_token(before.client)
        old_kid = before.state["keys"].kid

    # Rotation: the new key signs, the old key's public half stays in the previous keys.
    old_private = serialization.load_pem_private_key(old_pem.read_bytes(), password=None)
    (previous_dir / "old.pem").write_bytes(
        old_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    overlap = make_settings(signing_key_file=new_pem, previous_public_keys_dir=previous_dir)
    async with run_gateway(overlap) as during:
        new_token = await get_token(during.client)
        kids = {
            k["kid"] for k in (await during.client.get("/.well-known/jwks.json")).json()["keys"]
        }
        both = [
            (
                await during.client.get(
                    "/api/v1/declarations", headers={"Authorization": f"Bearer {token}"}
                )
            ).status_code
            for token in (old_token, new_token)
        ]
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    assert old_kid in kids
    assert both == [200, 200]

    # After the old tokens' lifetime: the old key is removed from the previous keys.
    (previous_dir / "old.pem").unlink()
    async with run_gateway(overlap) as after:
        kids = {k["kid"] for k in (await after.client.get("/.well-known/jwks.json")).json()["keys"]}
        statuses = [
            (
                await after.client.get(
                    "/api/v1/declarations", headers={"Authorization": f"Bearer {token}"}
                )
            ).status_code
            for token in (old_token, new_token)
        ]
    assert old_kid not in kids
    assert statuses == [401, 200]
