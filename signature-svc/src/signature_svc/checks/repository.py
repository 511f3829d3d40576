"""All SQL of signature checks."""

from __future__ import annotations

import uuid

from customs_shared.repository import RepositoryBase
from signature_svc.checks.models import SignatureCheck


class SignatureCheckRepository(RepositoryBase[SignatureCheck]):
    model = SignatureCheck

    async def get(self, declaration_id: uuid.UUID) -> SignatureCheck | None:
        return await self.session.get(SignatureCheck, declaration_id)
