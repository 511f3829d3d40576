"""The documented input with every optional field present: each new rule runs on it
before activation, and docs/routing-rules.md prints it."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from customs_shared.events.schemas import (
    CertificateStatus,
    DeclarantKind,
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    ItemFacts,
    OriginCertificate,
    PreferentialOriginClaim,
    RadiationAlarm,
    RadiationLevel,
    RiskAlert,
    SignatureStatus,
)
from routing_svc.rules import inputs
from routing_svc.rules.inputs import Evidence, RiskListEntry, TraderProfile

_AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
_TRADER = "0312345673"
_CONTAINER = "MSKU1234565"
_CERTIFICATE = "E2611CN0001234"


def evidence() -> Evidence:
    item = ItemFacts(
        line=1,
        hs_code="85171300",
        description="Smartphones",
        origin_country="CN",
        quantity=Decimal(100),
        unit="PCE",
        customs_value=Decimal("250000000"),
        customs_value_vnd=Decimal("250000000"),
        unit_price=Decimal("2500000"),
        brand="Example",
        preferential_origin=PreferentialOriginClaim(form="E", certificate_number=_CERTIFICATE),
    )
    facts = DeclarationSubmitted(
        declaration_id=uuid.UUID("6b0e1d4e-9a59-4f4e-8a0a-2f7f1c3b5d01"),
        version=1,
        tenant=_TRADER,
        declarant_tax_code=_TRADER,
        declarant_kind=DeclarantKind.ENTERPRISE,
        declaration_type="import",
        customs_office="03CC",
        currency="VND",
        total_customs_value=Decimal("250000000"),
        total_customs_value_vnd=Decimal("250000000"),
        items=[item],
        signature_present=True,
        submitted_at=_AT,
        containers=[_CONTAINER],
        export_country="CN",
        transport_mode="sea",
    )
    return Evidence(
        facts=facts,
        signature=SignatureStatus.VALID,
        ipr=IprOutcome.HIT,
        ipr_hits=[IprHit(record_id="IPR-2026-0001", item_line=1, matched="EXAMPLE")],
        ipr_suspended=False,
        timed_out=False,
        trader=TraderProfile(_TRADER, "medium", priority=False, past_violations=1),
        country_risks={"CN": RiskListEntry("CN", "medium", "Transshipment pattern")},
        hs_risks={"8517": RiskListEntry("8517", "medium", "Undervaluation of phones")},
        reference_prices={("851713", "CN", "PCE"): Decimal("4000000")},
        radiation_alarms=[
            RadiationAlarm(
                container_number=_CONTAINER,
                port="VNHPH",
                monitor_id="RPM-HP-07",
                detected_at=_AT,
                level=RadiationLevel.ALARM,
                nuclide="Cs-137",
            )
        ],
        risk_alerts=[
            RiskAlert.model_validate(
                {
                    "alert_id": "KCS-2026-0042",
                    "issuing_authority": "Korea Customs Service",
                    "targets": {"hs_headings": ["8517"], "routes": [{"from": "CN", "to": "VN"}]},
                    "risk_level": "high",
                    "lane": "red",
                    "reason": "Counterfeit phones routed through third countries",
                    "valid_from": "2026-11-01T00:00:00Z",
                    "valid_until": "2026-12-31T00:00:00Z",
                }
            )
        ],
        origin_certificates={
            _CERTIFICATE: OriginCertificate(
                reference=_CERTIFICATE,
                form="E",
                exporting_country="CN",
                importing_country="VN",
                exporter_name="Example Export Co.",
                importer_tax_code=_TRADER,
                hs_subheadings=["851713"],
                issued_at=_AT,
                status=CertificateStatus.ISSUED,
            )
        },
    )


def values() -> dict[str, Any]:
    return inputs.build(evidence(), _AT)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(values(), default=str, indent=2) + "\n")
