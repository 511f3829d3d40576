"""The receipt key is loaded when the service starts: outside a local run a process
without it refuses to start (rather than answering every submission with a 500), and
one allowed to create it starts with the key it wrote. After a rotation, the retired key's
receipts still verify."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from customs_shared.keys import SigningKeyError
from customs_shared.services import DECLARATION
from declaration_svc.main import create_app
from declaration_svc.settings import DeclarationSettings
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


def production(
    postgres: PostgresServer, kafka_bootstrap: str, key_file: Path, **more: object
) -> DeclarationSettings:
    return DeclarationSettings.model_validate(
        {
            "environment": "production",
            "cursor_secret": "c" * 40,
            "webhook_secret_key": "w" * 40,
            "database_url": SecretStr(postgres.url(DECLARATION.database or "")),
            "kafka_bootstrap": kafka_bootstrap,
            "receipt_signing_key_file": key_file,
            **more,
        }
    )


async def test_production_without_its_receipt_key_refuses_to_start(
    postgres: PostgresServer, kafka_bootstrap: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "receipt-key.pem"
    app = create_app(production(postgres, kafka_bootstrap, key_file))
    with pytest.raises(SigningKeyError, match="does not exist"):
        async with app.router.lifespan_context(app):
            pytest.fail("started without a receipt key")
    assert not key_file.exists()


async def test_a_process_allowed_to_create_the_key_starts_with_the_key_it_wrote(
    postgres: PostgresServer, kafka_bootstrap: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "receipt-key.pem"
    settings = production(postgres, kafka_bootstrap, key_file, generate_receipt_signing_key=True)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert key_file.exists()
        [published] = settings.receipt_keys().jwks()["keys"]
        assert published["kid"] == settings.receipt_keys().kid
    # Another process (a replica, a restart) signs with the same key.
    again = production(postgres, kafka_bootstrap, key_file)
    assert again.receipt_keys().kid == settings.receipt_keys().kid


def test_after_a_rotation_receipts_of_the_retired_key_still_verify(tmp_path: Path) -> None:
    before = DeclarationSettings(
        receipt_signing_key_file=tmp_path / "old.pem", generate_receipt_signing_key=True
    )
    old = before.receipt_keys()
    receipt = jwt.encode({"declaration_id": "d"}, old.signing_key, "EdDSA", {"kid": old.kid})
    retired = tmp_path / "retired"
    retired.mkdir()
    (retired / "old.pub.pem").write_bytes(
        old.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    after = DeclarationSettings(
        receipt_signing_key_file=tmp_path / "new.pem",
        generate_receipt_signing_key=True,
        receipt_previous_public_keys_dir=retired,
    )
    ring = after.receipt_keys()
    assert ring.kid != old.kid
    assert {k["kid"] for k in ring.jwks()["keys"]} == {ring.kid, old.kid}
    key = ring.verification_key(old.kid)
    assert key is not None
    assert jwt.decode(receipt, key, algorithms=["EdDSA"]) == {"declaration_id": "d"}
