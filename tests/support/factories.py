"""Event data and request bodies for tests of one service's logic, with overridable
defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from customs_shared.auth import Principal, Role
from customs_shared.events import catalog
from customs_shared.events.envelope import RawCloudEvent, new_event
from customs_shared.events.schemas import (
    DeclarantKind,
    DeclarationSubmitted,
    IprOutcome,
    IprScreened,
    ItemFacts,
    SignatureChecked,
    SignatureStatus,
)

TAX_CODE = "0314409058"


def item_facts(**overrides: Any) -> ItemFacts:
    values: dict[str, Any] = {
        "line": 1,
        "hs_code": "61091000",
        "description": "Cotton T-shirts",
        "origin_country": "CN",
        "quantity": Decimal(10),
        "unit": "PCE",
        "customs_value": Decimal(1_000_000),
    }
    return ItemFacts(**{**values, **overrides})


def declaration_submitted(**overrides: Any) -> DeclarationSubmitted:
    """An enterprise's signed import of one item; ``total`` sets item and total value."""
    total = Decimal(overrides.pop("total", "1000000"))
    kind = overrides.get("declarant_kind", DeclarantKind.ENTERPRISE)
    values: dict[str, Any] = {
        "declaration_id": uuid.uuid4(),
        "tenant": TAX_CODE,
        "declarant_tax_code": TAX_CODE if kind is DeclarantKind.ENTERPRISE else None,
        "declarant_kind": kind,
        "declaration_type": "import",
        "customs_office": "02CI",
        "currency": "VND",
        "total_customs_value": total,
        "items": [item_facts(customs_value=total)],
        "signature_present": True,
        "submitted_at": datetime.now(UTC),
    }
    return DeclarationSubmitted(**{**values, **overrides})


def signature_checked(
    declaration_id: uuid.UUID, tenant: str = TAX_CODE, **overrides: Any
) -> SignatureChecked:
    """signature-svc's result; by default an individual's, that needs no signature."""
    values: dict[str, Any] = {"status": SignatureStatus.NOT_REQUIRED, "detail": "individual"}
    return SignatureChecked(declaration_id=declaration_id, tenant=tenant, **{**values, **overrides})


def ipr_screened(
    declaration_id: uuid.UUID, tenant: str = TAX_CODE, **overrides: Any
) -> IprScreened:
    """ipr-svc's result; by default clear."""
    values: dict[str, Any] = {"outcome": IprOutcome.CLEAR, "records_checked": 1}
    return IprScreened(declaration_id=declaration_id, tenant=tenant, **{**values, **overrides})


def principal(role: Role, tenant: str, *scopes: str, subject: str | None = None) -> Principal:
    """A caller as a verified token describes it: one role, its tenant, its scopes."""
    return Principal(
        subject=subject or f"{role.value}-{tenant}",
        tenant=tenant,
        roles=frozenset({role}),
        scopes=frozenset(scopes),
        token_id=f"{subject or role.value}-token",
    )


def envelope(data: BaseModel, *, source: str = "urn:customs:partner:test") -> RawCloudEvent:
    """The CloudEvent a consumer would have decoded ``data`` from (type by its catalog
    entry, a fresh id), for handlers that read :func:`current_event`."""
    event_type = next(t for t in catalog.EVENT_TYPES if t.data is type(data))
    event = new_event(event_type=event_type.name, source=source, subject="test", data=data)
    return RawCloudEvent.model_validate(event.model_dump(mode="json"))


def ipr_application(**overrides: Any) -> dict[str, Any]:
    """A right holder's IPR application body (a trademark, ten years of validity left)."""
    return {
        "right_type": "trademark",
        "registration_number": "4-0123456-000",
        "registration_office": "IP Viet Nam",
        "owner": "Trung Nguyen Group",
        "right_valid_until": (datetime.now(UTC).date() + timedelta(days=3650)).isoformat(),
        "goods": [{"hs_headings": ["0901"], "description": "Roasted coffee", "brands": ["G7"]}],
        "contact": {"name": "IP desk", "email": "ip@example.vn"},
    } | overrides
