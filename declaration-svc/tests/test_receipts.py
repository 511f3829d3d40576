"""Receipts on a real PostgreSQL: signed over the digest of the body as sent (RFC 8785),
which the broker recomputes from what it sent; verified with the published JWKS; given
again on an idempotent replay and for each amended version. A body with a number RFC 8785
cannot write is refused (422) with nothing kept."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import rfc8785
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.canonical import SentDigests, sent_digests
from customs_shared.keys import KeyRing, load_key_ring
from declaration_svc.declarations import amendments, service
from declaration_svc.declarations.api import router as declarations_router
from declaration_svc.declarations.models import Declaration, DeclarationItem
from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.receipts import service as receipts
from declaration_svc.settings import DeclarationSettings
from tests.support.factories import principal
from tests.support.inprocess import Tokens, client, service_app
from tests.support.postgres import sent_statements
from tests.support.samples import sample, signed

pytestmark = pytest.mark.integration

BROKER = principal(
    Role.BROKER, "0312345673", "declarations:read", "declarations:write", subject="demo-broker"
)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    return load_key_ring(tmp_path / "receipt-key.pem", generate=True)


def as_sent(raw: dict[str, Any]) -> SentDigests:
    return sent_digests(raw, signed="signature" in raw)


async def submit_as_sent(
    session: AsyncSession, raw: dict[str, Any], keys: KeyRing, key: str | None = None
) -> service.Submission:
    """What the endpoint does with a body ``raw`` as sent, with an ``Idempotency-Key``."""
    return await service.submit(
        session=session,
        principal=BROKER,
        body=DeclarationIn.model_validate(raw),
        idempotency_key=key,
        sent=as_sent(raw),
        receipt_keys=keys,
    )


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
    raw = signed(sample("declaration-enterprise"))
    async with sessions() as session, session.begin():
        accepted = await submit_as_sent(session, raw, keys, "r-1")
    assert accepted.receipt is not None
    claims = verify(accepted.receipt, keys)
    assert claims["declaration_id"] == str(accepted.declaration_id)
    assert claims["version"] == 1
    assert claims["tenant"] == BROKER.tenant
    # The whole body, signature included, as the broker sent it.
    assert claims["body_sha256"] == hashlib.sha256(rfc8785.dumps(raw)).hexdigest()
    assert claims["body_canonicalization"] == "RFC8785"
    assert "received_at" in claims

    async with sessions() as session, session.begin():
        replay = await submit_as_sent(session, raw, keys, "r-1")  # a retry
        again = await receipts.get(
            session=session,
            principal=BROKER,
            declaration_id=accepted.declaration_id,
            version=None,
        )
    assert replay.receipt == accepted.receipt
    assert again.jws == accepted.receipt


async def test_each_amended_version_gets_its_own_receipt(sessions: Sessions, keys: KeyRing) -> None:
    raw = sample("declaration-individual")
    async with sessions() as session, session.begin():
        accepted = await submit_as_sent(session, raw, keys)
    amended_raw = {**raw, "items": [{**raw["items"][0], "description": "Amended: cotton"}]}
    async with sessions() as session, session.begin():
        amended = await amendments.amend(
            session=session,
            principal=BROKER,
            declaration_id=accepted.declaration_id,
            body=DeclarationIn.model_validate(amended_raw),
            if_match='"v1"',
            receipt_keys=keys,
            sent=as_sent(amended_raw),
        )
    receipt = amended.receipt
    assert receipt is not None
    claims = verify(receipt, keys)
    assert claims["version"] == 2
    assert claims["body_sha256"] == hashlib.sha256(rfc8785.dumps(amended_raw)).hexdigest()
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
    session = sessions()
    flushes: list[int] = []
    event.listen(session.sync_session, "before_flush", lambda *_: flushes.append(1))
    with sent_statements(session) as statements:
        async with session, session.begin():
            accepted = await submit_as_sent(session, raw, keys)
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


@pytest.fixture
async def http(
    sessions: Sessions, keys: KeyRing, tmp_path: Path
) -> AsyncIterator[tuple[Tokens, httpx.AsyncClient]]:
    tokens = Tokens()
    settings = DeclarationSettings(receipt_signing_key_file=tmp_path / "receipt-key.pem")
    app = service_app([declarations_router])
    async with client(app, sessions, tokens, settings) as api:
        yield tokens, api


async def test_a_broker_recomputes_the_digest_from_the_bytes_it_sent(
    http: tuple[Tokens, httpx.AsyncClient], keys: KeyRing
) -> None:
    """Whatever the spacing, key order and spelling of numbers and text the broker sent,
    RFC 8785 over that JSON gives the digest the receipt names; the signature is part of
    the body it covers."""
    tokens, api = http
    raw = signed(sample("declaration-enterprise"))
    raw["declarant"]["name"] = 'Công ty TNHH Thương mại "Sài Gòn"\t\\ 贸易 😀'
    raw["items"][0]["description"] = "Áo thun cotton, dệt kim\n"
    raw["items"][0]["quantity"] = 1.50  # a JSON number: RFC 8785 writes 1.5
    sent = json.dumps(dict(reversed(raw.items())), indent=3, ensure_ascii=True).encode()

    accepted = await api.post(
        "/api/v1/declarations",
        content=sent,
        headers={**tokens.headers(BROKER), "Content-Type": "application/json"},
    )

    assert accepted.status_code == 202, accepted.text[:500]
    claims = verify(accepted.json()["receipt"], keys)
    expected = hashlib.sha256(rfc8785.dumps(json.loads(sent))).hexdigest()
    assert claims["body_sha256"] == expected
    assert claims["body_canonicalization"] == "RFC8785"
    # Another signature is another body, with the same content as validated.
    resigned = {**raw, "signature": raw["signature"][::-1]}
    assert hashlib.sha256(rfc8785.dumps(resigned)).hexdigest() != expected


async def test_a_number_rfc_8785_cannot_write_is_422_and_nothing_is_kept(
    http: tuple[Tokens, httpx.AsyncClient], sessions: Sessions
) -> None:
    """An integer of 2^53 or more has no exact canonical form: the body has no digest to
    sign, so it is refused before anything is stored. The same value as a string (as the
    sample sends its numbers) is accepted."""
    tokens, api = http
    raw = sample("declaration-individual")
    raw["items"][0]["quantity"] = 2**53 + 1

    refused = await api.post("/api/v1/declarations", json=raw, headers=tokens.headers(BROKER))

    assert refused.status_code == 422, refused.text[:500]
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/number-not-interoperable")
    assert "RFC 8785" in problem["detail"]
    assert "as a string" in problem["detail"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Declaration)) == 0

    raw["items"][0]["quantity"] = str(2**53 + 1)
    accepted = await api.post("/api/v1/declarations", json=raw, headers=tokens.headers(BROKER))
    assert accepted.status_code == 202, accepted.text[:500]
