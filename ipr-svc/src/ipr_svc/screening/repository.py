"""All SQL of IPR screening results."""

from __future__ import annotations

from customs_shared.repository import RepositoryBase
from ipr_svc.screening.models import IprScreening


class IprScreeningRepository(RepositoryBase[IprScreening]):
    model = IprScreening
