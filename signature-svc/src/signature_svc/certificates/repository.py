"""All SQL of registered certificates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from customs_shared.auth import Principal, tenant_scope
from customs_shared.repository import RepositoryBase
from signature_svc.certificates.models import RegisteredCertificate


class CertificateRepository(RepositoryBase[RegisteredCertificate]):
    model = RegisteredCertificate

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
        self, principal: Principal, tax_code: str | None, limit: int
    ) -> Sequence[RegisteredCertificate]:
        statement = select(RegisteredCertificate).order_by(
            RegisteredCertificate.tax_code, RegisteredCertificate.registered_at
        )
        tenant = tenant_scope(principal)
        if tenant is not None:
            statement = statement.where(RegisteredCertificate.tenant == tenant)
        if tax_code is not None:
            statement = statement.where(RegisteredCertificate.tax_code == tax_code)
        return (await self.session.scalars(statement.limit(limit))).all()
