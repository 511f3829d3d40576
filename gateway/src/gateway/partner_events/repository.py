"""All SQL of partner events."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import any_of, batch_insert, batch_parameters
from gateway.partner_events.models import PartnerEventRecord


async def get(session: AsyncSession, source: str, event_id: str) -> PartnerEventRecord | None:
    return await session.get(PartnerEventRecord, (source, event_id))


async def get_many(
    session: AsyncSession, source: str, event_ids: Sequence[str]
) -> dict[str, PartnerEventRecord]:
    """The events of ``source`` among ``event_ids`` that are known, by id."""
    dialect = session.get_bind().dialect.name
    rows = await session.scalars(
        select(PartnerEventRecord).where(
            PartnerEventRecord.source == source,
            any_of(PartnerEventRecord.event_id, event_ids, dialect),
        )
    )
    return {row.event_id: row for row in rows}


_CLAIMED = ("source", "event_id", "type", "subject", "client_id", "digest", "received_at")


async def claim_many(session: AsyncSession, records: Sequence[PartnerEventRecord]) -> set[str]:
    """Inserts the records whose (source, id) is free in one statement; the ids of those
    that are new. On PostgreSQL a concurrent claim of the same key waits for this
    transaction; keys are inserted in sorted order, so two batches that share keys wait
    for each other in one order and never deadlock."""
    if not records:
        return set()
    dialect = session.get_bind().dialect.name
    rows = [
        {column: getattr(record, column) for column in _CLAIMED}
        for record in sorted(records, key=lambda r: r.event_id)
    ]
    result = await session.execute(
        _claim_statement(dialect),
        batch_parameters(cast(Table, PartnerEventRecord.__table__), rows, _CLAIMED, dialect),
    )
    return {event_id for _source, event_id in result}


@functools.cache
def _claim_statement(dialect: str) -> Any:
    table = cast(Table, PartnerEventRecord.__table__)
    statement = batch_insert(table, _CLAIMED, dialect).on_conflict_do_nothing()
    return statement.returning(table.c.source, table.c.event_id)


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


async def release(session: AsyncSession, source: str, event_ids: Sequence[str]) -> None:
    """Gives up claims whose events were not acknowledged: nothing of them is kept."""
    if event_ids:
        dialect = session.get_bind().dialect.name
        await session.execute(
            delete(PartnerEventRecord).where(
                PartnerEventRecord.source == source,
                any_of(PartnerEventRecord.event_id, event_ids, dialect),
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
