"""All SQL of the risk inputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.risk.models import RiskInput

TRADER = "trader"
COUNTRY = "country"
HS = "hs"
REFERENCE_PRICE = "reference-price"


def reference_price_key(hs_code: str, origin_country: str, unit: str) -> str:
    return f"{hs_code}/{origin_country}/{unit}"


async def lookup(session: AsyncSession, wanted: Iterable[tuple[str, str]]) -> Sequence[RiskInput]:
    """The inputs among ``(kind, key)`` pairs that exist, in one query."""
    pairs = sorted(set(wanted))
    if not pairs:
        return []
    statement = select(RiskInput).where(tuple_(RiskInput.kind, RiskInput.key).in_(pairs))
    return (await session.scalars(statement)).all()


async def get(
    session: AsyncSession, kind: str, key: str, *, lock: bool = False
) -> RiskInput | None:
    statement = select(RiskInput).where(RiskInput.kind == kind, RiskInput.key == key)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def page(
    session: AsyncSession, kind: str, *, after: str | None, limit: int
) -> Sequence[RiskInput]:
    statement = select(RiskInput).where(RiskInput.kind == kind).order_by(RiskInput.key).limit(limit)
    if after is not None:
        statement = statement.where(RiskInput.key > after)
    return (await session.scalars(statement)).all()


def add(session: AsyncSession, row: RiskInput) -> None:
    session.add(row)


async def remove(session: AsyncSession, row: RiskInput) -> None:
    await session.delete(row)
