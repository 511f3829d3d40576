"""Receipts: proof a broker can keep that a declaration's version was received, as a
compact JWS (EdDSA, the service's own key, published as a JWKS) over the declaration
id, version, SHA-256 of the canonical body, received time and tenant.

The canonical body is the body as the broker sent it, signature and all, in RFC 8785
canonical JSON (customs_shared.canonical): the broker recomputes the digest from what it
sent with any RFC 8785 implementation, whatever spacing or key order it sent."""

from __future__ import annotations

import uuid
from datetime import datetime

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.canonical import SentDigests
from customs_shared.db import insert_values_at_commit
from customs_shared.keys import ALGORITHM, KeyRing
from declaration_svc.declarations.errors import DeclarationNotFound
from declaration_svc.declarations.repository import DeclarationRepository
from declaration_svc.receipts.models import Receipt

ISSUER = "declaration-svc"
TYPE = "customs-receipt+jwt"


# Names the digest's canonical form. Receipts issued before it carry none: their digest is
# of the body as validated (JSON, keys sorted, no whitespace, decimals as strings).
CANONICALIZATION = "RFC8785"


def body_digest(sent: SentDigests | None) -> bytes:
    """The digest a receipt names: a receipt is only ever given for a body as sent."""
    if sent is None:
        raise ValueError("a receipt needs the digests of the body as sent")
    return sent.body


def issue(
    session: AsyncSession,
    keys: KeyRing,
    *,
    declaration_id: uuid.UUID,
    version: int,
    tenant: str,
    body_sha256: bytes,
    received_at: datetime,
) -> str:
    """Signs the receipt of a version whose body as sent has the digest ``body_sha256``
    (:attr:`customs_shared.canonical.SentDigests.body`), and stores it at commit."""
    claims = {
        "iss": ISSUER,
        "sub": str(declaration_id),
        "declaration_id": str(declaration_id),
        "version": version,
        "body_sha256": body_sha256.hex(),
        "body_canonicalization": CANONICALIZATION,
        "received_at": received_at.isoformat(),
        "tenant": tenant,
        "iat": int(received_at.timestamp()),
    }
    token = jwt.encode(
        claims, keys.signing_key, algorithm=ALGORITHM, headers={"kid": keys.kid, "typ": TYPE}
    )
    # Written at commit with the transaction's other new rows, not through the unit of
    # work (a flush of its own on every submission).
    insert_values_at_commit(
        session,
        Receipt,
        [
            {
                "declaration_id": declaration_id,
                "version": version,
                "jws": token,
                "issued_at": received_at,
            }
        ],
    )
    return token


async def of_version(
    session: AsyncSession, declaration_id: uuid.UUID, version: int | None
) -> Receipt | None:
    statement = select(Receipt).where(Receipt.declaration_id == declaration_id)
    if version is not None:
        statement = statement.where(Receipt.version == version)
    statement = statement.order_by(Receipt.version.desc()).limit(1)
    return (await session.scalars(statement)).one_or_none()


async def get(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    version: int | None,
) -> Receipt:
    not_found = DeclarationNotFound(f"No receipt for declaration {declaration_id}.")
    await DeclarationRepository(session).get_visible_or_404(declaration_id, principal, not_found)
    receipt = await of_version(session, declaration_id, version)
    if receipt is None:
        raise not_found
    return receipt
