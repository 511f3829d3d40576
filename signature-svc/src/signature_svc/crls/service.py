"""Uploaded CRLs: checked against their issuer, stored, and put to use at once."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from signature_svc.crls.errors import CrlRefused
from signature_svc.crls.models import UploadedCrl
from signature_svc.crls.repository import CrlRepository
from signature_svc.trust_runtime import TrustRuntime, load_uploaded
from signature_svc.verification.trust import TrustMaterialError, crl_issuer_of, load_crl


async def upload(
    *, session: AsyncSession, trust: TrustRuntime, principal: Principal, data: bytes
) -> UploadedCrl:
    try:
        crl = load_crl(data)
        crl_issuer_of(crl, trust.trust.cas)
    except TrustMaterialError as e:
        raise CrlRefused(str(e)) from e
    der = crl.dump()
    digest = hashlib.sha256(der).hexdigest()
    tbs = crl["tbs_cert_list"]
    row = UploadedCrl(
        id=uuid.uuid4(),
        issuer=crl.issuer.human_friendly[:1000],
        issuer_sha256=hashlib.sha256(crl.issuer.dump()).hexdigest(),
        crl_sha256=digest,
        this_update=tbs["this_update"].native,
        next_update=tbs["next_update"].native,
        crl_der=der,
        uploaded_by=principal.subject[:200],
    )
    repository = CrlRepository(session)
    if not await repository.exists(digest):
        repository.add(row)
        await session.flush()
    trust.set_uploaded(await load_uploaded(session))
    return row
