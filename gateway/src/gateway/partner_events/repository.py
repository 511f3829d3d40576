"""All SQL of partner events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import upsert_insert
from gateway.partner_events.models import PartnerEventRecord


async def get(session: AsyncSession, source: str, event_id: str) -> PartnerEventRecord | None:
    return await session.get(PartnerEventRecord, (source, event_id))


async def get_many(
    session: AsyncSession, source: str, event_ids: Collection[str]
) -> dict[str, PartnerEventRecord]:
    """The events of ``source`` among ``event_ids`` that are known, by id."""
    rows = await session.scalars(
        select(PartnerEventRecord).where(
            PartnerEventRecord.source == source, PartnerEventRecord.event_id.in_(event_ids)
        )
    )
    return {row.event_id: row for row in rows}


async def claim_many(session: AsyncSession, records: Sequence[PartnerEventRecord]) -> set[str]:
    """Inserts the records whose (source, id) is free in one statement; the ids of those
    that are new. On PostgreSQL a concurrent claim of the same key waits for this
    transaction; keys are inserted in sorted order, so two batches that share keys wait
    for each other in one order and never deadlock."""
    if not records:
        return set()
    insert = upsert_insert(session.get_bind().dialect.name)
    statement = (
        insert(PartnerEventRecord)
        .values(
            [
                {
                    "source": record.source,
                    "event_id": record.event_id,
                    "type": record.type,
                    "subject": record.subject,
                    "client_id": record.client_id,
                    "digest": record.digest,
                    "received_at": record.received_at,
                }
                for record in sorted(records, key=lambda r: r.event_id)
            ]
        )
        .on_conflict_do_nothing()
        .returning(PartnerEventRecord.source, PartnerEventRecord.event_id)
    )
    return {event_id for _source, event_id in await session.execute(statement)}


async def mark_published_many(session: AsyncSession, records: Sequence[PartnerEventRecord]) -> None:
    """Writes each record's acknowledgement (published_at, partition, offset)."""
    if records:
        await session.execute(
            update(PartnerEventRecord),
            [
                {
                    "source": record.source,
                    "event_id": record.event_id,
                    "published_at": record.published_at,
                    "partition": record.partition,
                    "offset": record.offset,
                }
                for record in records
            ],
        )


async def release(session: AsyncSession, source: str, event_ids: Collection[str]) -> None:
    """Gives up claims whose events were not acknowledged: nothing of them is kept."""
    if event_ids:
        await session.execute(
            delete(PartnerEventRecord).where(
                PartnerEventRecord.source == source, PartnerEventRecord.event_id.in_(event_ids)
            )
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
