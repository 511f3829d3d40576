"""All SQL of partner events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import insert_if_absent
from gateway.partner_events.models import PartnerEventRecord


async def get(session: AsyncSession, source: str, event_id: str) -> PartnerEventRecord | None:
    return await session.get(PartnerEventRecord, (source, event_id))


async def claim(session: AsyncSession, record: PartnerEventRecord) -> bool:
    """Inserts the record unless its (source, id) is taken; True if it is new. On
    PostgreSQL a concurrent claim of the same key waits for this transaction."""
    return await insert_if_absent(
        session,
        PartnerEventRecord,
        source=record.source,
        event_id=record.event_id,
        type=record.type,
        subject=record.subject,
        client_id=record.client_id,
        digest=record.digest,
        received_at=record.received_at,
    )


async def mark_published(
    session: AsyncSession,
    source: str,
    event_id: str,
    *,
    published_at: datetime,
    partition: int,
    offset: int,
) -> None:
    await session.execute(
        update(PartnerEventRecord)
        .where(PartnerEventRecord.source == source, PartnerEventRecord.event_id == event_id)
        .values(published_at=published_at, partition=partition, offset=offset)
    )


async def record_routing(
    session: AsyncSession, source: str, event_id: str, routing: dict[str, Any]
) -> bool:
    """Keeps routing's report on the event; False if the gateway has no such event."""
    result = await session.execute(
        update(PartnerEventRecord)
        .where(PartnerEventRecord.source == source, PartnerEventRecord.event_id == event_id)
        .values(routing=routing)
    )
    return bool(getattr(result, "rowcount", 0))
