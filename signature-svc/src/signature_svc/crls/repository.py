"""All SQL of uploaded CRLs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from customs_shared.repository import RepositoryBase
from signature_svc.crls.models import UploadedCrl


class CrlRepository(RepositoryBase[UploadedCrl]):
    model = UploadedCrl

    async def newest_per_issuer(self) -> Sequence[bytes]:
        newest = (
            select(UploadedCrl.issuer_sha256, func.max(UploadedCrl.this_update).label("latest"))
            .group_by(UploadedCrl.issuer_sha256)
            .subquery()
        )
        statement = (
            select(UploadedCrl.crl_der)
            .join(
                newest,
                (UploadedCrl.issuer_sha256 == newest.c.issuer_sha256)
                & (UploadedCrl.this_update == newest.c.latest),
            )
            .order_by(UploadedCrl.issuer_sha256)
        )
        return (await self.session.scalars(statement)).all()

    async def exists(self, crl_sha256: str) -> bool:
        found = await self.session.scalar(
            select(UploadedCrl.id).where(UploadedCrl.crl_sha256 == crl_sha256)
        )
        return found is not None
