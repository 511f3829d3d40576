"""All SQL of signature checks."""

from __future__ import annotations

from customs_shared.repository import RepositoryBase
from signature_svc.checks.models import SignatureCheck


class SignatureCheckRepository(RepositoryBase[SignatureCheck]):
    model = SignatureCheck
