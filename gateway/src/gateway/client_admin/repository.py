"""All SQL of registered clients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.client_admin.models import RegisteredClient, UsedClientAssertion


async def get(
    session: AsyncSession, client_id: str, *, lock: bool = False
) -> RegisteredClient | None:
    statement = select(RegisteredClient).where(RegisteredClient.client_id == client_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def page(
    session: AsyncSession, *, after: str | None, limit: int
) -> Sequence[RegisteredClient]:
    statement = select(RegisteredClient).order_by(RegisteredClient.client_id).limit(limit)
    if after is not None:
        statement = statement.where(RegisteredClient.client_id > after)
    return (await session.scalars(statement)).all()


async def all_clients(session: AsyncSession) -> Sequence[RegisteredClient]:
    return (await session.scalars(select(RegisteredClient))).all()


async def fingerprint(session: AsyncSession) -> tuple[int, datetime | None, int]:
    """Changes whenever a client is added or changed: (count, newest update, version sum)."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.max(RegisteredClient.updated_at),
                func.coalesce(func.sum(RegisteredClient.version), 0),
            )
        )
    ).one()
    return int(row[0]), row[1], int(row[2])


async def existing_ids(session: AsyncSession, client_ids: Sequence[str]) -> set[str]:
    if not client_ids:
        return set()
    statement = select(RegisteredClient.client_id).where(RegisteredClient.client_id.in_(client_ids))
    return set((await session.scalars(statement)).all())


async def prune_used_assertions(session: AsyncSession, now: datetime) -> int:
    """Forgets assertion ids that have expired (they cannot be replayed any more)."""
    result = await session.execute(
        delete(UsedClientAssertion).where(UsedClientAssertion.expires_at < now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
