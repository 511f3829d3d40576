"""All SQL of verification reports."""

from __future__ import annotations

from customs_shared.repository import RepositoryBase
from signature_svc.reports.models import VerificationReport


class ReportRepository(RepositoryBase[VerificationReport]):
    model = VerificationReport
