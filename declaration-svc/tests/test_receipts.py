"""Receipts on a real PostgreSQL: signed over the canonical body, verified with the
published JWKS, given again on an idempotent replay and for each amended version."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jwt
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.keys import KeyRing, load_key_ring
from declaration_svc.declarations import amendments, service
from declaration_svc.declarations.models import DeclarationItem
from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.receipts import service as receipts
from tests.support.factories import principal
from tests.support.postgres import sent_statements
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    return load_key_ring(tmp_path / "receipt-key.pem", generate=True)


def verify(token: str, keys: KeyRing) -> dict[str, object]:
    """As a broker does: the key named by ``kid`` in the published JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in keys.jwks()["keys"] if k["kid"] == kid]
    claims: dict[str, object] = jwt.decode(
        token, jwt.PyJWK(jwk, "EdDSA"), algorithms=["EdDSA"], options={"require": ["iat"]}
    )
    return claims


async def test_a_receipt_covers_id_version_body_digest_time_and_tenant(
    sessions: Sessions, keys: KeyRing
) -> None:
    raw = sample("declaration-enterprise")
    body = DeclarationIn.model_validate(raw)
    async with sessions() as session, session.begin():
        accepted = await service.submit(
            session=session, principal=BROKER, body=body, idempotency_key="r-1", receipt_keys=keys
        )
    assert accepted.receipt is not None
    claims = verify(accepted.receipt, keys)
    assert claims["declaration_id"] == str(accepted.declaration_id)
    assert claims["version"] == 1
    assert claims["tenant"] == BROKER.tenant
    assert claims["body_sha256"] == hashlib.sha256(receipts.canonical_body(body)).hexdigest()
    assert "received_at" in claims
    # The same body spelt otherwise (key order, spacing) has the same digest.
    respelt = DeclarationIn.model_validate(json.loads(json.dumps(raw, indent=3, sort_keys=True)))
    assert receipts.canonical_body(respelt) == receipts.canonical_body(body)

    async with sessions() as session, session.begin():
        replay = await service.submit(
            session=session, principal=BROKER, body=body, idempotency_key="r-1", receipt_keys=keys
        )
        again = await receipts.get(
            session=session,
            principal=BROKER,
            declaration_id=accepted.declaration_id,
            version=None,
        )
    assert replay.receipt == accepted.receipt
    assert again.jws == accepted.receipt


async def test_each_amended_version_gets_its_own_receipt(sessions: Sessions, keys: KeyRing) -> None:
    body = DeclarationIn.model_validate(sample("declaration-individual"))
    async with sessions() as session, session.begin():
        accepted = await service.submit(
            session=session, principal=BROKER, body=body, idempotency_key=None, receipt_keys=keys
        )
    async with sessions() as session, session.begin():
        amended = await amendments.amend(
            session=session,
            principal=BROKER,
            declaration_id=accepted.declaration_id,
            body=body,
            if_match='"v1"',
            receipt_keys=keys,
        )
    receipt = amended.receipt
    assert receipt is not None
    assert verify(receipt, keys)["version"] == 2
    async with sessions() as session:
        first = await receipts.get(
            session=session, principal=BROKER, declaration_id=accepted.declaration_id, version=1
        )
        newest = await receipts.get(
            session=session, principal=BROKER, declaration_id=accepted.declaration_id, version=None
        )
    assert first.jws == accepted.receipt
    assert newest.jws == receipt


def test_a_tampered_receipt_does_not_verify(keys: KeyRing, tmp_path: Path) -> None:
    other = load_key_ring(tmp_path / "other.pem", generate=True)
    token = jwt.encode(
        {"version": 1, "iat": 0}, other.signing_key, algorithm="EdDSA", headers={"kid": keys.kid}
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token, keys)


async def test_a_submission_writes_each_table_once_and_nothing_through_the_unit_of_work(
    sessions: Sessions, keys: KeyRing
) -> None:
    """Intake's statement budget: one statement that inserts into every table (the
    declaration, its items, its timeline, the notification, the outbox event, the
    receipt), whatever the number of items, and no flush of the ORM's unit of work."""
    raw = sample("declaration-enterprise")
    raw["items"] = [{**raw["items"][0], "customs_value": "46200000"} for _ in range(5)]
    raw["invoice"]["total"] = "231000000"
    body = DeclarationIn.model_validate(raw)
    session = sessions()
    flushes: list[int] = []
    event.listen(session.sync_session, "before_flush", lambda *_: flushes.append(1))
    with sent_statements(session) as statements:
        async with session, session.begin():
            accepted = await service.submit(
                session=session,
                principal=BROKER,
                body=body,
                idempotency_key=None,
                receipt_keys=keys,
            )
            assert not session.new
    writes = [s for s in statements if "INSERT" in s]
    assert len(writes) == 1, writes
    assert sorted(re.findall(r"INSERT INTO (\w+)", writes[0])) == [
        "declaration_items",
        "declaration_timeline",
        "declarations",
        "notifications",
        "outbox_events",
        "receipts",
    ]
    assert flushes == []
    async with sessions() as session:
        stored = await receipts.of_version(session, accepted.declaration_id, 1)
        items = await session.scalar(
            select(func.count())
            .select_from(DeclarationItem)
            .where(DeclarationItem.declaration_id == accepted.declaration_id)
        )
    assert stored is not None
    assert stored.jws == accepted.receipt
    assert items == 5


def test_the_canonical_body_is_spelt_as_receipts_have_always_been() -> None:
    """Keys sorted at every level, no whitespace, text as UTF-8 (not escaped), decimals
    and dates as strings: a receipt issued earlier still matches its body's digest."""
    raw = sample("declaration-enterprise")
    raw["declarant"]["name"] = 'Công ty TNHH Thương mại "Sài Gòn"\t\\ 贸易 😀'
    raw["items"][0]["description"] = "Áo thun cotton, dệt kim\n"
    body = DeclarationIn.model_validate(raw)
    spelt = json.dumps(
        body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert receipts.canonical_body(body) == spelt
    assert "Công ty".encode() in spelt
