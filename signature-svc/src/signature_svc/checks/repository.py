"""All SQL of signature checks."""

from __future__ import annotations

import uuid

from customs_shared.repository import RepositoryBase
from signature_svc.checks.models import SignatureCheck


class SignatureCheckRepository(RepositoryBase[SignatureCheck]):
    """Which declarations have a check is loaded for a consumer's whole batch in one
    statement (``load_presence``), then kept current by its inserts and deletes."""

    model = SignatureCheck

    async def get(self, declaration_id: uuid.UUID) -> SignatureCheck | None:
        return await self.session.get(SignatureCheck, declaration_id)
