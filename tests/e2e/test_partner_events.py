"""A partner agency pushes events through the running gateway onto real Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from customs_shared.events.catalog import PARTNER_EVENTS
from tests.support.cluster import Cluster

pytestmark = pytest.mark.e2e

PARTNER = "demo-partner-agency"
SOURCE = "urn:customs:partner:vn-port-radiation"  # deploy/local/clients.json
SINGLE = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def _certificate(**data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": "customs.partner.origin-certificate.v1",
        "time": datetime.now(UTC).isoformat(),
        "data": {
            "reference": f"E-{uuid.uuid4().hex[:10]}",
            "form": "E",
            "exporting_country": "CN",
            "importing_country": "VN",
            "exporter_name": "Shenzhen Export Co",
            "hs_subheadings": ["851712", "851762"],
            "issued_at": "2026-11-20T09:00:00+08:00",
            "status": "issued",
            **data,
        },
    }


async def _published(bootstrap: str, partition: int, offset: int) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(PARTNER_EVENTS.name, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        records = (await consumer.getmany(tp, timeout_ms=10_000, max_records=1))[tp]
        assert records
        assert records[0].value is not None
        body: dict[str, Any] = json.loads(records[0].value)
        return body
    finally:
        await consumer.stop()


async def test_partner_pushes_a_batch_and_reads_it_back(cluster: Cluster) -> None:
    good, bad = _certificate(), _certificate(importing_country="XX")
    with cluster.client(PARTNER) as partner:
        pushed = partner.post(
            "/api/v1/partner-events", content=json.dumps([good, bad]), headers=BATCH
        )
        again = partner.post("/api/v1/partner-events", content=json.dumps(good), headers=SINGLE)
        read = partner.get(f"/api/v1/partner-events/{SOURCE}/{good['id']}")

    assert pushed.status_code == 200, pushed.text
    first, second = pushed.json()["results"]
    assert (first["outcome"], second["outcome"]) == ("accepted", "rejected")
    assert ["data", "importing_country"] in [e["loc"] for e in second["problem"]["errors"]]
    assert again.json()["outcome"] == "duplicate"
    assert read.status_code == 200
    event = read.json()
    assert event["subject"] == good["data"]["reference"]
    record = await _published(cluster.kafka_bootstrap, event["partition"], event["offset"])
    assert record["id"] == good["id"]
    assert record["subject"] == good["data"]["reference"]


def test_a_broker_cannot_push_partner_events(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as broker:
        response = broker.post(
            "/api/v1/partner-events", content=json.dumps(_certificate()), headers=SINGLE
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
