from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from customs_shared.events import catalog
from customs_shared.events.schemas import OriginCertificate, RadiationAlarm, RiskAlert

DETECTED = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _alarm(**changes: Any) -> dict[str, Any]:
    return {
        "container_number": "CSQU3054383",
        "port": "VNHPH",
        "monitor_id": "RPM-07",
        "detected_at": DETECTED.isoformat(),
        "level": "alarm",
        **changes,
    }


def _error_fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str | int, ...]]:
    return {tuple(error["loc"]) for error in exc.value.errors()}


def test_radiation_alarm_defaults_to_thirty_days() -> None:
    alarm = RadiationAlarm.model_validate(_alarm())

    assert alarm.valid_until == DETECTED + timedelta(days=30)
    assert alarm.subject == "CSQU3054383"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"container_number": "CSQU3054384"}, "container_number"),  # wrong check digit
        ({"port": "XXHPH"}, "port"),  # no such country
        ({"port": "vnhph"}, "port"),
        ({"level": "panic"}, "level"),
        ({"detected_at": "2026-11-01T08:00:00"}, "detected_at"),  # no offset
    ],
)
def test_radiation_alarm_refuses(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        RadiationAlarm.model_validate(_alarm(**changes))

    assert (field,) in _error_fields(exc)


def test_origin_certificate_checks_countries_and_subheadings() -> None:
    good = {
        "reference": "VN-CN-2026-000123",
        "form": "E",
        "exporting_country": "CN",
        "importing_country": "VN",
        "exporter_name": "Shenzhen Export Co",
        "importer_tax_code": "0100109106",
        "hs_subheadings": ["851712"],
        "issued_at": DETECTED.isoformat(),
        "status": "issued",
    }
    assert OriginCertificate.model_validate(good).subject == "VN-CN-2026-000123"

    with pytest.raises(ValidationError) as exc:
        OriginCertificate.model_validate({**good, "exporting_country": "ZZ"})
    assert ("exporting_country",) in _error_fields(exc)
    with pytest.raises(ValidationError) as exc:
        OriginCertificate.model_validate({**good, "hs_subheadings": ["8517"]})
    assert ("hs_subheadings", 0) in _error_fields(exc)


def test_risk_alert_routes_and_validity() -> None:
    alert = {
        "alert_id": "RA-1",
        "issuing_authority": "Port authority",
        "targets": {"routes": [{"from": "CN", "to": "VN"}]},
        "risk_level": "high",
        "lane": "red",
        "reason": "Undeclared goods on this route",
        "valid_from": DETECTED.isoformat(),
        "valid_until": (DETECTED + timedelta(days=7)).isoformat(),
    }
    parsed = RiskAlert.model_validate(alert)
    assert parsed.targets.routes[0].from_country == "CN"

    with pytest.raises(ValidationError):
        RiskAlert.model_validate({**alert, "lane": "green"})
    with pytest.raises(ValidationError):
        RiskAlert.model_validate({**alert, "targets": {}})
    with pytest.raises(ValidationError):
        RiskAlert.model_validate({**alert, "valid_until": alert["valid_from"]})


def test_partner_types_are_produced_by_the_gateway_to_their_topic() -> None:
    for event_type in catalog.PARTNER_EVENT_TYPES:
        assert event_type.topic is catalog.PARTNER_EVENTS
        assert event_type.producer == "gateway"
        assert event_type in catalog.EVENT_TYPES
