"""signature-svc's handler on a real PostgreSQL built by its migrations."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.schemas import DeclarantKind
from customs_shared.messaging.models import OutboxEvent
from signature_svc.checks import service
from signature_svc.checks.models import SignatureCheck
from signature_svc.verification.trust import TrustMaterial
from signature_svc.verification.verifier import Verifier
from tests.support.factories import declaration_submitted

pytestmark = pytest.mark.integration


async def test_a_check_is_stored_and_published_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    verifier = Verifier(TrustMaterial.build([]))
    unsigned = declaration_submitted(signature_present=False)
    individual = declaration_submitted(declarant_kind=DeclarantKind.INDIVIDUAL)
    for data in (unsigned, individual, unsigned):  # the last is a re-send
        async with sessions() as session, session.begin():
            await service.check_declaration(session, data, verifier=verifier)

    async with sessions() as session:
        checks = {c.declaration_id: c.status for c in await session.scalars(select(SignatureCheck))}
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    assert checks == {unsigned.declaration_id: "missing", individual.declaration_id: "not_required"}
    assert events == 2


async def test_an_amended_version_is_checked_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    verifier = Verifier(TrustMaterial.build([]))
    unsigned = declaration_submitted(signature_present=False)
    # A version with a signature but no CMS bytes in the event: "present", nothing to verify.
    signed_v2 = unsigned.model_copy(update={"version": 2, "signature_present": True})
    async with sessions() as session, session.begin():
        await service.check_declaration(session, unsigned, verifier=verifier)
    async with sessions() as session, session.begin():
        await service.recheck_amended(session, signed_v2, verifier=verifier)
    async with sessions() as session:
        check = await session.get(SignatureCheck, unsigned.declaration_id)
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    assert check is not None
    assert check.status == "present"
    published = [json.loads(p)["data"] for p in payloads]
    assert [(d["version"], d["status"]) for d in published] == [(1, "missing"), (2, "present")]
