from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signature_svc.checks.models import SignatureCheck


async def get_visible(
    session: AsyncSession, declaration_id: uuid.UUID, tenant: str | None
) -> SignatureCheck | None:
    statement = select(SignatureCheck).where(SignatureCheck.declaration_id == declaration_id)
    if tenant is not None:
        statement = statement.where(SignatureCheck.tenant == tenant)
    return (await session.scalars(statement)).one_or_none()


async def exists(session: AsyncSession, declaration_id: uuid.UUID) -> bool:
    return await session.get(SignatureCheck, declaration_id) is not None


def add(session: AsyncSession, check: SignatureCheck) -> None:
    session.add(check)
