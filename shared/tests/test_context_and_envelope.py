from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from customs_shared.context import adopt_traceparent, parse_traceparent, trace_id_var
from customs_shared.events.catalog import EVENT_TYPES, TOPICS
from customs_shared.events.envelope import RawCloudEvent, new_event
from customs_shared.events.schemas import SignatureChecked, SignatureStatus

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_traceparent_is_parsed_and_adopted() -> None:
    assert parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01") == (TRACE, "00f067aa0ba902b7")
    assert adopt_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    assert trace_id_var.get() == TRACE


@pytest.mark.parametrize(
    "value", [None, "", "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{TRACE}-xyz-01"]
)
def test_bad_traceparent_starts_a_new_trace(value: str | None) -> None:
    assert parse_traceparent(value) is None
    trace_id = adopt_traceparent(value)
    assert len(trace_id) == 32
    assert trace_id != TRACE


def test_envelope_round_trips_and_keeps_data_nulls() -> None:
    data = SignatureChecked(
        declaration_id=uuid.uuid4(), tenant="t", status=SignatureStatus.MISSING, detail="d"
    )
    event = new_event(
        event_type="customs.signature.checked.v1", source="/s", subject="x", data=data
    )
    body = json.loads(event.to_json())
    assert body["specversion"] == "1.0"
    assert "dataschema" not in body  # unset optional attributes are left out
    assert body["traceparent"].startswith("00-")
    raw = RawCloudEvent.model_validate_json(event.to_json())
    assert SignatureChecked.model_validate(raw.data) == data


def test_envelope_requires_the_cloudevents_attributes() -> None:
    with pytest.raises(ValidationError):
        RawCloudEvent.model_validate_json(b'{"specversion": "1.0", "type": "x", "data": {}}')
    with pytest.raises(ValidationError):
        RawCloudEvent.model_validate_json(
            b'{"specversion": "0.3", "id": "1", "source": "/s", "type": "x",'
            b' "time": "2026-01-01T00:00:00Z", "data": {}}'
        )


def test_catalog_is_consistent() -> None:
    names = [e.name for e in EVENT_TYPES]
    assert len(names) == len(set(names))
    assert all(e.topic in TOPICS for e in EVENT_TYPES)
    assert all(name.endswith(".v1") for name in names)


def test_events_doc_is_current() -> None:
    from pathlib import Path

    from customs_shared.events.docs import render

    committed = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert committed.read_text() == render(), "regenerate: python -m customs_shared.events.docs"
