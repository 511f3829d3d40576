"""All SQL of the risk inputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import forget_per_transaction, pairs_in, per_transaction
from routing_svc.risk.models import RiskInput

TRADER = "trader"
COUNTRY = "country"
HS = "hs"
REFERENCE_PRICE = "reference-price"


def reference_price_key(hs_code: str, origin_country: str, unit: str) -> str:
    return f"{hs_code}/{origin_country}/{unit}"


# The inputs a consumer's batch of decisions may need, loaded for all of them at once:
# (the pairs asked for, the inputs found among them).
_PREFETCHED = "risk_inputs_prefetched"


async def prefetch(session: AsyncSession, wanted: Iterable[tuple[str, str]]) -> None:
    """Loads the inputs among ``wanted`` in one query; :func:`lookup` then answers from
    them, for the rest of the transaction, when they cover what it is asked."""
    pairs = set(wanted)
    per_transaction(session)[_PREFETCHED] = (pairs, await _load(session, pairs))


async def lookup(session: AsyncSession, wanted: Iterable[tuple[str, str]]) -> Sequence[RiskInput]:
    """The inputs among ``(kind, key)`` pairs that exist, in one query (or none, when
    :func:`prefetch` loaded them)."""
    pairs = set(wanted)
    prefetched: tuple[set[tuple[str, str]], Sequence[RiskInput]] | None
    prefetched = per_transaction(session).get(_PREFETCHED)
    if prefetched is not None and pairs <= prefetched[0]:
        return [row for row in prefetched[1] if (row.kind, row.key) in pairs]
    return await _load(session, pairs)


async def _load(session: AsyncSession, pairs: set[tuple[str, str]]) -> Sequence[RiskInput]:
    if not pairs:
        return []
    dialect = session.get_bind().dialect.name
    column = pairs_in(RiskInput.kind, RiskInput.key, sorted(pairs), dialect)
    return (await session.scalars(select(RiskInput).where(column))).all()


async def get(
    session: AsyncSession, kind: str, key: str, *, lock: bool = False
) -> RiskInput | None:
    statement = select(RiskInput).where(RiskInput.kind == kind, RiskInput.key == key)
    if lock:  # to change it: what a prefetch loaded may no longer hold
        forget_per_transaction(session, _PREFETCHED)
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
    forget_per_transaction(session, _PREFETCHED)
    session.add(row)


async def remove(session: AsyncSession, row: RiskInput) -> None:
    forget_per_transaction(session, _PREFETCHED)
    await session.delete(row)
