"""All SQL of registered certificates."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from customs_shared.auth import Principal
from customs_shared.repository import Page, RepositoryBase, SortKey
from signature_svc.certificates.models import RegisteredCertificate


class CertificateRepository(RepositoryBase[RegisteredCertificate]):
    model = RegisteredCertificate
    listing_order = (
        SortKey(RegisteredCertificate.tax_code),
        SortKey(RegisteredCertificate.registered_at),
    )

    async def active_fingerprints(self, tax_code: str) -> set[str]:
        rows = await self.session.scalars(
            select(RegisteredCertificate.fingerprint).where(
                RegisteredCertificate.tax_code == tax_code, RegisteredCertificate.active
            )
        )
        return set(rows)

    async def find(self, tax_code: str, fingerprint: str) -> RegisteredCertificate | None:
        return (
            await self.session.scalars(
                select(RegisteredCertificate).where(
                    RegisteredCertificate.tax_code == tax_code,
                    RegisteredCertificate.fingerprint == fingerprint,
                )
            )
        ).one_or_none()

    async def list_visible(
        self,
        principal: Principal,
        tax_code: str | None,
        *,
        after: uuid.UUID | None,
        limit: int,
    ) -> Page[RegisteredCertificate]:
        return await self.page_visible(
            principal,
            after=after,
            limit=limit,
            where=[] if tax_code is None else [RegisteredCertificate.tax_code == tax_code],
        )
