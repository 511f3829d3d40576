"""What every repository does the same way: fetch within the caller's tenant, add,
insert unless present. A domain's repository subclasses it with its own queries."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy import Column, ColumnElement, Select, and_, false, inspect, or_, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.orm.interfaces import ORMOption

from customs_shared.auth import Principal, tenant_scope
from customs_shared.db import (
    any_of,
    insert_if_absent,
    insert_values_at_commit,
    per_transaction,
    write_queued,
)
from customs_shared.problems import InvalidCursor, NotFound

Model = TypeVar("Model", bound=DeclarativeBase)


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column a listing is sorted by; the primary key always breaks the last ties."""

    column: InstrumentedAttribute[Any]
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[Model]):
    """Rows of a listing, and the key of the last one to pass as ``after`` for the next
    page (None on the last page)."""

    items: Sequence[Model]
    next_after: Any | None


class RepositoryBase(Generic[Model]):
    """``model`` is the mapped class (one-column primary key); ``tenant_column`` the
    column naming the tenant that owns a row, or None for rows no tenant owns (customs'
    own, such as its officers): only customs staff see those."""

    model: type[Model]
    tenant_column: ClassVar[str | None] = "tenant"
    # How page_visible orders the model's listing; the primary key breaks the last ties.
    listing_order: ClassVar[Sequence[SortKey]] = ()

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _visible(self, key: Any, principal: Principal) -> Select[Model]:
        return self._tenant_rows(select(self.model).where(self._key() == key), principal)

    async def get_visible(
        self, key: Any, principal: Principal, *, options: Sequence[ORMOption] = ()
    ) -> Model | None:
        """The row if the caller may see it: its own tenant's, or any for customs staff."""
        statement = self._visible(key, principal).options(*options)
        return (await self.session.scalars(statement)).one_or_none()

    async def get_visible_or_404(
        self,
        key: Any,
        principal: Principal,
        not_found: NotFound,
        *,
        options: Sequence[ORMOption] = (),
    ) -> Model:
        """As ``get_visible``, raising ``not_found`` when there is nothing to see:
        another tenant's row answers exactly as a missing one."""
        row = await self.get_visible(key, principal, options=options)
        if row is None:
            raise not_found
        return row

    async def page_visible(
        self,
        principal: Principal,
        *,
        after: Any | None,
        limit: int,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> Page[Model]:
        """The rows the caller may see (and that match ``where``), in ``listing_order``,
        from just after the row of key ``after`` (keyset paging: a page costs the same
        however deep it is, and rows added meanwhile do not shift the pages). ``after``
        must be a row the same listing shows this caller; anything else, another
        tenant's row too, is an :class:`InvalidCursor`, as an unknown key is."""
        key = self._key()
        order_by = self.listing_order
        statement = (
            self._tenant_rows(select(self.model), principal)
            .where(*where)
            .order_by(*(k.column.desc() if k.descending else k.column for k in order_by), key)
        )
        if after is not None:
            position = (
                await self.session.scalars(self._visible(after, principal).where(*where))
            ).one_or_none()
            if position is None:
                raise InvalidCursor("Use the next_after of a previous page of the same listing.")
            statement = statement.where(_beyond(position, order_by, key))
        rows = (await self.session.scalars(statement.limit(limit + 1))).all()
        more = len(rows) > limit
        items = rows[:limit]
        return Page(items, getattr(items[-1], key.key) if more else None)

    def _tenant_rows(self, statement: Select[Model], principal: Principal) -> Select[Model]:
        tenant = tenant_scope(principal)
        if tenant is None:
            return statement
        if self.tenant_column is None:
            return statement.where(false())
        return statement.where(getattr(self.model, self.tenant_column) == tenant)

    def add(self, row: Model) -> None:
        self.session.add(row)

    async def delete(self, key: Any) -> None:
        """Deletes the row with primary key ``key``, if there is one, even one this
        transaction queued for its commit (the queue is written first)."""
        await write_queued(self.session)
        await self.session.execute(sa_delete(self.model).where(self._key() == key))
        self._presence()[key] = False

    async def insert_if_absent(self, **values: Any) -> bool:
        """``INSERT … ON CONFLICT DO NOTHING``; True if the row is new."""
        return await insert_if_absent(self.session, self.model, **values)

    # What a consumer's batch claims once per key (a check, a screening): whether a row is
    # there is learnt for the whole batch in one statement, and the new rows go with the
    # commit's one statement. A row another replica inserted meanwhile fails the commit,
    # and the consumer handles the batch again one record at a time, finding it present.

    async def load_presence(self, keys: Sequence[Any]) -> None:
        """Learns in one statement which of ``keys`` (primary keys) have a row, so that
        :meth:`exists` answers for them without a round trip."""
        primary_key = self._key()
        dialect = self.session.get_bind().dialect.name
        statement = select(primary_key).where(any_of(primary_key, keys, dialect))
        present = set((await self.session.scalars(statement)).all())
        self._presence().update({key: key in present for key in keys})

    async def exists(self, key: Any) -> bool:
        """Whether the row of primary key ``key`` exists, as this transaction knows it:
        loaded by :meth:`load_presence`, inserted or deleted here since; otherwise read."""
        known = self._presence().get(key)
        if known is not None:
            return known
        present = await self.session.get(self.model, key) is not None
        self._presence()[key] = present
        return present

    def insert_at_commit(self, values: dict[str, Any]) -> None:
        """Queues a new row for the commit (customs_shared.db.insert_values_at_commit)
        and counts it as present for :meth:`exists` from now on."""
        insert_values_at_commit(self.session, self.model, [values])
        self._presence()[values[self._key().name]] = True

    def _presence(self) -> dict[Any, bool]:
        table = self.model.__tablename__
        kept: dict[Any, bool] = per_transaction(self.session).setdefault(f"present:{table}", {})
        return kept

    def _key(self) -> Column[Any]:
        return _primary_key(self.model)


@functools.cache
def _primary_key(model: type[DeclarativeBase]) -> Column[Any]:
    """The model's one-column primary key; kept, since a consumer's batch asks it for
    every row it queues."""
    (primary_key,) = inspect(model).primary_key
    return cast("Column[Any]", primary_key)


def _beyond(row: Any, order_by: Sequence[SortKey], key: Column[Any]) -> ColumnElement[bool]:
    """Rows after ``row`` in the order ``order_by`` then ``key`` (ascending): the columns
    may run in different directions, so this is a chain of comparisons, not one row
    comparison."""
    condition: ColumnElement[bool] = key > getattr(row, key.key)
    for sort in reversed(order_by):
        value = getattr(row, sort.column.key)
        further = sort.column < value if sort.descending else sort.column > value
        condition = or_(further, and_(sort.column == value, condition))
    return condition
