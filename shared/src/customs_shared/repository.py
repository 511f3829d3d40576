"""What every repository does the same way: fetch within the caller's tenant, add,
insert unless present. A domain's repository subclasses it with its own queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy import delete as sa_delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.interfaces import ORMOption

from customs_shared.auth import Principal, tenant_scope
from customs_shared.db import insert_at_commit, insert_if_absent
from customs_shared.problems import NotFound

Model = TypeVar("Model", bound=DeclarativeBase)


class RepositoryBase(Generic[Model]):
    """``model`` is the mapped class (one-column primary key); ``tenant_column`` the
    column naming the tenant that owns a row."""

    model: type[Model]
    tenant_column: ClassVar[str] = "tenant"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _visible(self, key: Any, principal: Principal) -> Select[Model]:
        (primary_key,) = inspect(self.model).primary_key
        statement = select(self.model).where(primary_key == key)
        tenant = tenant_scope(principal)
        if tenant is not None:
            statement = statement.where(getattr(self.model, self.tenant_column) == tenant)
        return statement

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

    def add(self, row: Model) -> None:
        self.session.add(row)

    def add_at_commit(self, row: Model) -> None:
        """Adds a row the transaction never reads back, written at commit with the other
        rows queued so (customs_shared.db.insert_at_commit): no flush, no statement now."""
        insert_at_commit(self.session, row)

    async def delete(self, key: Any) -> None:
        """Deletes the row with primary key ``key``, if there is one."""
        (primary_key,) = inspect(self.model).primary_key
        await self.session.execute(sa_delete(self.model).where(primary_key == key))

    async def insert_if_absent(self, **values: Any) -> bool:
        """``INSERT … ON CONFLICT DO NOTHING``; True if the row is new."""
        return await insert_if_absent(self.session, self.model, **values)
