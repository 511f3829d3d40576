"""All SQL of IPR screening results and hits."""

from __future__ import annotations

from customs_shared.repository import RepositoryBase, SortKey
from ipr_svc.screening.models import IprHitRow, IprScreening


class IprScreeningRepository(RepositoryBase[IprScreening]):
    model = IprScreening


class IprHitRepository(RepositoryBase[IprHitRow]):
    model = IprHitRow
    tenant_column = "holder_tenant"
    listing_order = (SortKey(IprHitRow.screened_at, descending=True),)
