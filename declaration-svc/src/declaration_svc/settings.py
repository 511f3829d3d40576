from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from customs_shared.keys import KeyRing, load_key_ring
from customs_shared.notifications.settings import NotifyingServiceSettings
from customs_shared.pagination import CursorCodec
from customs_shared.services import DECLARATION
from declaration_svc.documents.storage import (
    DatabaseStore,
    DirectoryStore,
    DocumentStore,
    S3Store,
)

_MIN_CURSOR_SECRET = 32


class DeclarationSettings(NotifyingServiceSettings):
    # Errors never echo the input: it holds the secrets.
    model_config = SettingsConfigDict(
        env_prefix=DECLARATION.prefix, extra="ignore", hide_input_in_errors=True
    )

    spec = DECLARATION
    cursor_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key of the listing's page cursors, at least 32 characters; every "
        "replica needs the same one. Required unless environment is 'local', where a "
        "random key per process is used (cursors then die with the process).",
    )
    idempotency_key_retention_hours: float = Field(
        default=24,
        ge=24,
        description="Idempotency keys are kept at least this long, then purged; a retry "
        "after that is a new request.",
    )
    idempotency_purge_interval_seconds: float = Field(
        default=600, gt=0, description="How often expired idempotency keys are purged."
    )
    document_storage: Literal["database", "directory", "s3"] = Field(
        default="database",
        description="Where document bytes are kept: in the database (in the request's "
        "transaction), as files under document_directory, or in an S3-compatible bucket "
        "(document_s3_*).",
    )
    document_s3_bucket: str | None = Field(
        default=None, description="Bucket of the S3 store (it must exist); required for s3."
    )
    document_s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible server (MinIO, Ceph, …); unset: AWS S3 "
        "of document_s3_region.",
    )
    document_s3_region: str = Field(default="us-east-1")
    document_s3_access_key_id: SecretStr | None = Field(
        default=None,
        description="Access key of the S3 store; unset (with the secret): the default "
        "credential chain (environment, instance or pod role).",
    )
    document_s3_secret_access_key: SecretStr | None = Field(default=None)
    document_orphan_grace_seconds: float = Field(
        default=3600,
        ge=60,
        description="Directory and S3 stores: bytes no document row names are deleted once "
        "this old (left by a process stopped between writing them and committing the row).",
    )
    document_orphan_sweep_interval_seconds: float = Field(default=900, gt=0)
    document_directory: Path = Field(
        default=Path(".run/declaration-svc/documents"),
        description="Root of the directory store (document_storage=directory).",
    )
    receipt_signing_key_file: Path = Field(
        default=Path(".run/declaration-svc/receipt-key.pem"),
        description="Ed25519 private key (PKCS#8 PEM) that signs receipts.",
    )
    generate_receipt_signing_key: bool | None = Field(
        default=None,
        description="Create the receipt key file if missing; unset: only when environment "
        "is 'local'.",
    )
    receipt_previous_public_keys_dir: Path | None = Field(
        default=None,
        description="During a receipt-key rotation: a folder whose every *.pem file is the "
        "PEM public key of a retired receipt key. They stay in the receipts' JWKS, so receipts "
        "signed before the rotation still verify; keep them as long as receipts are kept.",
    )
    _cursor_key: bytes = PrivateAttr(default=b"")
    _document_store: DocumentStore | None = PrivateAttr(default=None)
    _receipt_keys: KeyRing | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cursor_secret_present(self) -> Self:
        # Like the gateway's signing key: only a local run may invent its own.
        if self.cursor_secret is None and self.environment != "local":
            raise ValueError("DECLARATION_CURSOR_SECRET is required outside the local environment")
        secret = self.cursor_secret
        if secret is not None and len(secret.get_secret_value().encode()) < _MIN_CURSOR_SECRET:
            raise ValueError(
                f"DECLARATION_CURSOR_SECRET needs at least {_MIN_CURSOR_SECRET} characters"
            )
        return self

    @model_validator(mode="after")
    def _s3_settings_complete(self) -> Self:
        if self.document_storage == "s3" and not self.document_s3_bucket:
            raise ValueError("DECLARATION_DOCUMENT_S3_BUCKET is required for the s3 store")
        keys = (self.document_s3_access_key_id, self.document_s3_secret_access_key)
        if (keys[0] is None) != (keys[1] is None):
            raise ValueError(
                "DECLARATION_DOCUMENT_S3_ACCESS_KEY_ID and DECLARATION_DOCUMENT_S3_SECRET_"
                "ACCESS_KEY go together"
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        secret = self.cursor_secret
        self._cursor_key = (
            secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32)
        )

    def cursor_codec(self) -> CursorCodec:
        return CursorCodec(self._cursor_key)

    def receipt_keys(self) -> KeyRing:
        """Loaded on first use, then kept (created first where allowed)."""
        if self._receipt_keys is None:
            generate = self.generate_receipt_signing_key
            self._receipt_keys = load_key_ring(
                self.receipt_signing_key_file,
                generate=self.environment == "local" if generate is None else generate,
                previous_public_keys_dir=self.receipt_previous_public_keys_dir,
            )
        return self._receipt_keys

    def document_store(self) -> DocumentStore:
        """Made on first use, then kept: the S3 store holds the client the lifespan opens."""
        if self._document_store is None:
            self._document_store = self._make_document_store()
        return self._document_store

    def _make_document_store(self) -> DocumentStore:
        if self.document_storage == "directory":
            return DirectoryStore(self.document_directory)
        if self.document_storage == "s3":
            access, secret = self.document_s3_access_key_id, self.document_s3_secret_access_key
            return S3Store(
                bucket=self.document_s3_bucket or "",
                endpoint_url=self.document_s3_endpoint_url,
                region=self.document_s3_region,
                access_key_id=None if access is None else access.get_secret_value(),
                secret_access_key=None if secret is None else secret.get_secret_value(),
            )
        return DatabaseStore()
