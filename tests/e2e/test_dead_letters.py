"""Poison on every consumed topic: records are untrusted input, whoever wrote them. Each
kind lands in the topic's DLQ with its reason, once per consumer that cannot handle it;
every consumer commits past all of it, and handles the good events that follow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from customs_shared.events import catalog, schemas
from customs_shared.events.envelope import new_event
from tests.support.cluster import Cluster, wait_for
from tests.support.partners import PARTNER, push_and_wait_until_handled, sample_origin_certificate
from tests.support.samples import sample
from tests.support.topics import committed_offsets, end_offsets, produce_all, read_topic

pytestmark = pytest.mark.e2e

TENANT = "0312345673"
SOURCE = "/tests/poison"
# Kafka's default message.max.bytes (the test broker keeps it) is also the producer's
# default max_request_size; the record, with its envelope, stays just under both.
MAX_MESSAGE_BYTES = 1_048_576
HUGE_MARGIN = 300


def _consumers(topic: catalog.Topic) -> frozenset[str]:
    return frozenset(c for t in catalog.EVENT_TYPES if t.topic == topic for c in t.consumers)


# Every topic a consumer group reads, from the catalog: a new one is covered as it comes.
CONSUMED = {topic: _consumers(topic) for topic in catalog.TOPICS if _consumers(topic)}
CONSUMED_BY_NAME = {topic.name: consumers for topic, consumers in CONSUMED.items()}

Reference = Callable[[uuid.UUID], BaseModel]

# A valid event naming a declaration, document, application or attachment nobody holds,
# and the consumers that dead-letter it ("unknown …"). The others leave it as a no-op, by
# design: routing keeps a screening result that may come before its submission (other
# topics, no order between them) and ignores a suspension or an officer's decision on a
# declaration it never saw; the gateway logs a report on a partner event it did not take.
UNKNOWN_REFERENCE: dict[str, tuple[Reference, frozenset[str]]] = {
    catalog.DECLARATION_CANCELLED.name: (
        lambda ref: schemas.DeclarationCancelled(
            declaration_id=ref,
            version=1,
            tenant=TENANT,
            reason="poison",
            cancelled_at=datetime.now(UTC),
        ),
        frozenset(),
    ),
    catalog.DECLARATION_STATUS_CHANGED.name: (
        lambda ref: schemas.DeclarationStatusChanged(
            declaration_id=ref,
            version=1,
            tenant=TENANT,
            status="RELEASED",
            previous_status="GREEN",
            actor="poison",
            reason="poison",
            changed_at=datetime.now(UTC),
        ),
        frozenset(),
    ),
    catalog.SIGNATURE_CHECKED.name: (
        lambda ref: schemas.SignatureChecked(
            declaration_id=ref, tenant=TENANT, status=schemas.SignatureStatus.VALID, detail="x"
        ),
        frozenset(),
    ),
    catalog.DOCUMENT_SIGNATURE_CHECKED.name: (
        lambda ref: schemas.DocumentSignatureChecked(
            declaration_id=ref,
            document_id=ref,
            tenant=TENANT,
            status=schemas.SignatureStatus.VALID,
            detail="x",
        ),
        frozenset({"declaration-svc"}),
    ),
    catalog.IPR_ATTACHMENT_SIGNATURE_CHECKED.name: (
        lambda ref: schemas.IprAttachmentSignatureChecked(
            application_id=ref,
            attachment_id=ref,
            tenant=TENANT,
            status=schemas.SignatureStatus.VALID,
            detail="x",
        ),
        frozenset({"ipr-svc"}),
    ),
    catalog.IPR_SCREENED.name: (
        lambda ref: schemas.IprScreened(
            declaration_id=ref, tenant=TENANT, outcome=schemas.IprOutcome.CLEAR, records_checked=0
        ),
        frozenset(),
    ),
    catalog.SCREENING_FORWARDED.name: (
        lambda ref: schemas.ScreeningForwarded(
            declaration_id=ref,
            tenant=TENANT,
            ipr=schemas.IprScreened(
                declaration_id=ref,
                tenant=TENANT,
                outcome=schemas.IprOutcome.CLEAR,
                records_checked=0,
            ),
        ),
        frozenset({"declaration-svc"}),
    ),
    catalog.IPR_SUSPENSION_CHANGED.name: (
        lambda ref: schemas.IprSuspensionChanged(
            suspension_id=ref,
            declaration_id=ref,
            item_line=1,
            record_id="poison",
            status="suspended",
            deadline=datetime.now(UTC).date(),
            extended=False,
            reason="poison",
        ),
        frozenset({"declaration-svc"}),
    ),
    catalog.LANE_ASSIGNED.name: (
        lambda ref: schemas.LaneAssigned(
            lane=schemas.Lane.GREEN,
            reasons=[],
            rule_set_version="poison",
            inputs={},
            declaration_id=ref,
            tenant=TENANT,
            decided_at=datetime.now(UTC),
        ),
        frozenset({"declaration-svc"}),
    ),
    catalog.ROUTING_PARTNER_EVENT_HANDLED.name: (
        lambda ref: schemas.PartnerEventHandled(
            source="urn:customs:partner:nobody",
            event_id=str(ref),
            type=catalog.PARTNER_RISK_ALERT.name,
            outcome="applied",
            handled_at=datetime.now(UTC),
        ),
        frozenset(),
    ),
}
# Types that name nothing to look up: they bring their subject's facts with them (a
# submission, an amendment, an attached file to verify) or are a partner's intelligence.
NOTHING_TO_LOOK_UP = {
    catalog.DECLARATION_SUBMITTED.name,
    catalog.DECLARATION_AMENDED.name,
    catalog.DOCUMENT_ATTACHED.name,
    catalog.IPR_ATTACHMENT_ADDED.name,
    *(t.name for t in catalog.PARTNER_EVENT_TYPES),
}


def test_every_consumed_type_is_classified_for_unknown_references() -> None:
    consumed = {t.name for t in catalog.EVENT_TYPES if t.consumers}
    assert consumed == set(UNKNOWN_REFERENCE) | NOTHING_TO_LOOK_UP
    assert not set(UNKNOWN_REFERENCE) & NOTHING_TO_LOOK_UP


def _envelope(event_type: str, data: Any) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": SOURCE,
            "type": event_type,
            "time": datetime.now(UTC).isoformat(),
            "data": data,
        }
    ).encode()


def _huge() -> bytes:
    """Valid JSON, no CloudEvent, just under the broker's limit."""
    head, tail = b'{"specversion": "1.0", "padding": "', b'"}'
    return head + b"x" * (MAX_MESSAGE_BYTES - HUGE_MARGIN - len(head) - len(tail)) + tail


# What each kind's dlq-error starts with (``{type}``: the record's event type).
REASONS = {
    "not-json": "not a CloudEvent: 1 errors (record: Invalid JSON",
    "not-cloudevent": "not a CloudEvent: ",
    "huge": "not a CloudEvent: ",
    "unknown-type": "unknown event type 'customs.nobody.v1' on {topic}",
    "bad-data": "{type} data invalid: ",
    "unknown-reference": "{type}: unknown ",
}


def _poison(run: str) -> tuple[list[tuple[str, bytes, bytes]], dict[tuple[str, str], str]]:
    """The records to send, and the expected dead letters: (key, consumer) → reason."""
    records: list[tuple[str, bytes, bytes]] = []
    expected: dict[tuple[str, str], str] = {}

    def add(topic: str, key: str, value: bytes, consumers: frozenset[str], reason: str) -> None:
        records.append((topic, key.encode(), value))
        expected.update({(key, consumer): reason for consumer in consumers})

    for topic, consumers in CONSUMED.items():
        name = topic.name
        add(name, f"{run}:not-json:{name}", b"\x00{nope", consumers, REASONS["not-json"])
        add(name, f"{run}:not-cloudevent:{name}", b'{"a": 1}', consumers, REASONS["not-cloudevent"])
        add(name, f"{run}:huge:{name}", _huge(), consumers, REASONS["huge"])
        unknown = _envelope("customs.nobody.v1", {})
        reason = REASONS["unknown-type"].format(topic=name)
        add(name, f"{run}:unknown-type:{name}", unknown, consumers, reason)
        for event_type in catalog.EVENT_TYPES:
            if event_type.topic != topic or not event_type.consumers:
                continue
            type_name = event_type.name
            bad = _envelope(type_name, {"declaration_id": "not-a-uuid", "items": "none"})
            reason = REASONS["bad-data"].format(type=type_name)
            add(name, f"{run}:bad-data:{type_name}", bad, frozenset(event_type.consumers), reason)
            if type_name in UNKNOWN_REFERENCE:
                build, refusing = UNKNOWN_REFERENCE[type_name]
                ref = uuid.uuid4()
                valid = new_event(
                    event_type=type_name, source=SOURCE, subject=str(ref), data=build(ref)
                ).to_json()
                reason = REASONS["unknown-reference"].format(type=type_name)
                add(name, f"{run}:unknown-reference:{type_name}", valid, refusing, reason)
    return records, expected


def test_poison_on_every_topic_is_dead_lettered_and_consumers_go_on(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:8]
    records, expected = _poison(run)
    produce_all(cluster.kafka_bootstrap, records)
    topics = [topic.name for topic in CONSUMED]
    poisoned_to = end_offsets(cluster.kafka_bootstrap, topics)

    # Good events after the poison, through every consumed topic.
    with cluster.client("demo-broker") as client:
        accepted = client.post("/api/v1/declarations", json=sample("declaration-individual")).json()
        wait_for(lambda: client.get(accepted["status_url"]).json()["lane"], timeout=30)
    certificate = sample_origin_certificate()
    certificate["id"] = str(uuid.uuid4())
    certificate["data"]["reference"] = f"POISON-{run}"
    with cluster.client(PARTNER) as partner:
        push_and_wait_until_handled(partner, certificate, timeout=30)

    groups = {group for consumers in CONSUMED.values() for group in consumers}

    def past_the_poison() -> bool:
        for group in groups:
            committed = committed_offsets(cluster.kafka_bootstrap, group)
            for partition, end in poisoned_to.items():
                if group in CONSUMED_BY_NAME[partition.topic] and end > 0:
                    if committed.get(partition, -1) < end:
                        return False
        return True

    wait_for(past_the_poison, timeout=30, interval=0.5)

    dead = {
        (record.key, record.headers["dlq-consumer"]): record
        for topic in CONSUMED
        for record in read_topic(cluster.kafka_bootstrap, topic.dlq)
        if record.key is not None and record.key.startswith(f"{run}:")
    }
    assert set(dead) == set(expected)
    sent_to = {key.decode(): topic for topic, key, _ in records}
    for (key, consumer), reason in expected.items():
        headers = dead[key, consumer].headers
        assert headers["dlq-error"].startswith(reason), (key, consumer, headers)
        assert headers["dlq-source-topic"] == sent_to[key]
    huge = [record for (key, _), record in dead.items() if ":huge:" in key]
    assert huge
    assert all(r.value == b"" and int(r.headers["dlq-omitted-bytes"]) > 1_000_000 for r in huge)
    assert {r.value for (key, _), r in dead.items() if ":not-json:" in key} == {b"\x00{nope"}
