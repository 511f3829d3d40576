"""Poison messages go to the topic's DLQ with the error; consumers keep going."""

from __future__ import annotations

import json
import uuid

import pytest

from customs_shared.events import catalog
from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample
from tests.support.topics import produce_raw, read_topic

pytestmark = pytest.mark.e2e

CONSUMERS_OF_DECLARATIONS = set(catalog.DECLARATION_SUBMITTED.consumers)


def test_poison_records_are_dead_lettered_and_consumers_go_on(cluster: Cluster) -> None:
    garbage_key = f"poison-{uuid.uuid4()}"
    bad_data_key = f"bad-data-{uuid.uuid4()}"
    produce_raw(
        cluster.kafka_bootstrap, "customs.declarations.v1", garbage_key.encode(), b"\x00{nope"
    )
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/tests",
        "type": "customs.declaration.submitted.v1",
        "time": "2026-11-23T00:00:00Z",
        "data": {"declaration_id": "not-a-uuid"},
    }
    produce_raw(
        cluster.kafka_bootstrap,
        "customs.declarations.v1",
        bad_data_key.encode(),
        json.dumps(envelope).encode(),
    )

    with cluster.client("demo-broker") as client:
        accepted = client.post("/api/v1/declarations", json=sample("declaration-individual")).json()
        wait_for(lambda: client.get(accepted["status_url"]).json()["lane"], timeout=20)

    def dead_letters() -> list[tuple[str | None, str]]:
        return [
            (r.key, r.headers["dlq-consumer"])
            for r in read_topic(cluster.kafka_bootstrap, "customs.declarations.v1.dlq")
            if r.key in (garbage_key, bad_data_key)
        ]

    wait_for(lambda: len(dead_letters()) == 2 * len(CONSUMERS_OF_DECLARATIONS), timeout=20)
    records = [
        r
        for r in read_topic(cluster.kafka_bootstrap, "customs.declarations.v1.dlq")
        if r.key in (garbage_key, bad_data_key)
    ]
    assert {r.headers["dlq-consumer"] for r in records} == CONSUMERS_OF_DECLARATIONS
    assert all(r.headers["dlq-source-topic"] == "customs.declarations.v1" for r in records)
    assert all(r.headers["dlq-error"] for r in records)
    assert {r.value for r in records if r.key == garbage_key} == {b"\x00{nope"}
