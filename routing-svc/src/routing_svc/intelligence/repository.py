"""All SQL of partner intelligence."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import insert_if_absent
from routing_svc.intelligence.models import (
    CaseContainer,
    OriginCertificateRecord,
    RadiationAlarmRecord,
    RiskAlertRecord,
)


async def alarms_on(
    session: AsyncSession, containers: Iterable[str], at: datetime
) -> Sequence[RadiationAlarmRecord]:
    numbers = sorted(set(containers))
    if not numbers:
        return []
    statement = (
        select(RadiationAlarmRecord)
        .where(
            RadiationAlarmRecord.container_number.in_(numbers),
            RadiationAlarmRecord.valid_until > at,
        )
        .order_by(RadiationAlarmRecord.received_at)
    )
    return (await session.scalars(statement)).all()


async def alerts_in_force(session: AsyncSession, at: datetime) -> Sequence[RiskAlertRecord]:
    """Alerts whose window covers ``at``; their targets are matched per declaration."""
    statement = select(RiskAlertRecord).where(
        RiskAlertRecord.valid_from <= at, RiskAlertRecord.valid_until > at
    )
    return (await session.scalars(statement)).all()


async def certificates(
    session: AsyncSession, references: Iterable[str]
) -> Sequence[OriginCertificateRecord]:
    wanted = sorted(set(references))
    if not wanted:
        return []
    statement = select(OriginCertificateRecord).where(OriginCertificateRecord.reference.in_(wanted))
    return (await session.scalars(statement)).all()


async def remember_containers(
    session: AsyncSession, declaration_id: uuid.UUID, containers: Iterable[str]
) -> None:
    for number in sorted(set(containers)):
        await insert_if_absent(
            session, CaseContainer, container_number=number, declaration_id=declaration_id
        )


async def declarations_carrying(session: AsyncSession, container: str) -> Sequence[uuid.UUID]:
    statement = select(CaseContainer.declaration_id).where(
        CaseContainer.container_number == container
    )
    return (await session.scalars(statement)).all()
