"""All SQL of signature checks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from customs_shared.db import any_of, per_transaction
from customs_shared.repository import RepositoryBase
from signature_svc.checks.models import SignatureCheck

# Which declarations have a check, as far as this transaction knows: loaded for a
# consumer's whole batch in one statement, then kept current by its inserts and deletes.
_PRESENCE = "signature_checks_present"


class SignatureCheckRepository(RepositoryBase[SignatureCheck]):
    model = SignatureCheck

    async def get(self, declaration_id: uuid.UUID) -> SignatureCheck | None:
        return await self.session.get(SignatureCheck, declaration_id)

    async def load_presence(self, declaration_ids: Sequence[uuid.UUID]) -> None:
        """Learns in one statement which of ``declaration_ids`` have a check, so that
        :meth:`exists` answers for them without a round trip."""
        dialect = self.session.get_bind().dialect.name
        column = SignatureCheck.declaration_id
        statement = select(column).where(any_of(column, declaration_ids, dialect))
        present = set((await self.session.scalars(statement)).all())
        self._presence().update({i: i in present for i in declaration_ids})

    async def exists(self, declaration_id: uuid.UUID) -> bool:
        known = self._presence().get(declaration_id)
        if known is not None:
            return known
        return await self.get(declaration_id) is not None

    async def insert_if_absent(self, **values: Any) -> bool:
        inserted = await super().insert_if_absent(**values)
        self._presence()[values["declaration_id"]] = True
        return inserted

    async def delete(self, key: Any) -> None:
        await super().delete(key)
        self._presence()[key] = False

    def _presence(self) -> dict[uuid.UUID, bool]:
        presence: dict[uuid.UUID, bool] = per_transaction(self.session).setdefault(_PRESENCE, {})
        return presence
