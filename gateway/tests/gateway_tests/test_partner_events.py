"""Partner event ingress on real Kafka and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from customs_shared.events.catalog import PARTNER_EVENTS
from customs_shared.events.schemas import PartnerEventHandled
from gateway.partner_events.consumer import on_routing_report
from gateway_tests.support import (
    BROKER_ID,
    BROKER_SECRET,
    OTHER_PARTNER_ID,
    OTHER_PARTNER_SECRET,
    OTHER_PARTNER_SOURCE,
    PARTNER_ID,
    PARTNER_SECRET,
    PARTNER_SOURCE,
    Gateway,
    GatewayFactory,
    free_port,
    get_token,
)
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

SINGLE = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}
ALARM = "customs.partner.radiation-alarm.v1"


def alarm(**changes: Any) -> dict[str, Any]:
    data = {
        "container_number": "CSQU3054383",
        "port": "VNHPH",
        "monitor_id": "RPM-07",
        "detected_at": "2026-11-01T08:00:00+07:00",
        "level": "alarm",
    }
    data.update(changes.pop("data", {}))
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": PARTNER_SOURCE,
        "type": ALARM,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
        **changes,
    }


@pytest.fixture
async def partner_gateway(
    gateway_factory: GatewayFactory, postgres: PostgresServer, kafka_bootstrap: str
) -> AsyncIterator[Gateway]:
    async with gateway_factory(
        database_url=postgres.url("gateway"), kafka_bootstrap=kafka_bootstrap
    ) as gw:
        yield gw


async def _auth(client: httpx.AsyncClient) -> dict[str, str]:
    token = await get_token(client, PARTNER_ID, PARTNER_SECRET)
    return {"Authorization": f"Bearer {token}"}


async def _record_at(bootstrap: str, partition: int, offset: int) -> dict[str, Any]:
    (record,) = await _records_from(bootstrap, partition, offset, 1)
    assert record.key is not None
    assert record.value is not None
    assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
    body: dict[str, Any] = json.loads(record.value)
    body["_key"] = record.key.decode()
    return body


async def _records_from(
    bootstrap: str, partition: int, offset: int, count: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """``count`` records of the partner-event topic's ``partition`` from ``offset`` on."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(PARTNER_EVENTS.name, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        records: list[ConsumerRecord[bytes, bytes]] = []
        for _ in range(50):  # bounded: a few polls bring the whole range
            batch = await consumer.getmany(tp, timeout_ms=2_000, max_records=count)
            records.extend(batch.get(tp, []))
            if len(records) >= count:
                break
        return records[:count]
    finally:
        await consumer.stop()


async def test_event_accepted_published_and_read_back(
    partner_gateway: Gateway, kafka_bootstrap: str
) -> None:
    client = partner_gateway.client
    headers = await _auth(client)
    event = alarm()

    response = await client.post(
        "/api/v1/partner-events", content=json.dumps(event), headers={**headers, **SINGLE}
    )

    assert response.status_code == 202, response.text
    result = response.json()
    assert result["outcome"] == "accepted"
    published = result["event"]
    assert published["published_at"] is not None
    record = await _record_at(kafka_bootstrap, published["partition"], published["offset"])
    assert record["id"] == event["id"]
    assert record["_key"] == "CSQU3054383" == record["subject"]
    # The default validity is filled in before the event is produced.
    assert record["data"]["valid_until"] == "2026-12-01T08:00:00+07:00"

    read = await client.get(
        f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=headers
    )
    assert read.status_code == 200
    assert read.json()["offset"] == published["offset"]
    assert read.json()["type"] == ALARM
    assert read.json()["routing"] is None  # routing has not reported yet

    # Routing's report, as the gateway's consumer hands it over, shows in the read-back.
    report = PartnerEventHandled(
        source=PARTNER_SOURCE,
        event_id=event["id"],
        type=ALARM,
        outcome="applied",
        declarations_checked=2,
        declarations_raised=1,
        detail="container CSQU3054383: red",
        handled_at=datetime.now(UTC),
    )
    async with partner_gateway.state["sessions"]() as session, session.begin():
        await on_routing_report(session, report)
        # A report on an event this gateway never took changes nothing and fails nothing.
        await on_routing_report(session, report.model_copy(update={"event_id": "unknown"}))
    routing = (
        await client.get(f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=headers)
    ).json()["routing"]
    assert (routing["outcome"], routing["declarations_raised"]) == ("applied", 1)
    assert routing["detail"] == "container CSQU3054383: red"


async def test_duplicate_accepted_once_and_reused_id_refused(partner_gateway: Gateway) -> None:
    client = partner_gateway.client
    headers = {**await _auth(client), **SINGLE}
    event = alarm()

    first = await client.post("/api/v1/partner-events", content=json.dumps(event), headers=headers)
    again = await client.post("/api/v1/partner-events", content=json.dumps(event), headers=headers)
    other = alarm(id=event["id"], data={"level": "alert"})
    reused = await client.post("/api/v1/partner-events", content=json.dumps(other), headers=headers)

    assert first.json()["outcome"] == "accepted"
    assert again.status_code == 202
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["event"]["offset"] == first.json()["event"]["offset"]
    assert reused.status_code == 409


@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        (alarm(type="customs.partner.risk-alert.v1"), 403, None),  # not this client's type
        (alarm(source="urn:customs:partner:someone-else"), 403, None),
        (alarm(data={"container_number": "CSQU3054384"}), 400, ["data", "container_number"]),
        (alarm(data={"port": "ZZHPH"}), 400, ["data", "port"]),
        (alarm(specversion="0.3"), 400, ["specversion"]),
        ({"id": "x", "data": {}}, 400, ["source"]),
        (alarm(subject="MSCU0000000"), 400, ["subject"]),
    ],
)
async def test_refused_events(
    partner_gateway: Gateway, event: dict[str, Any], status: int, field: list[str] | None
) -> None:
    client = partner_gateway.client
    headers = {**await _auth(client), **SINGLE}

    response = await client.post(
        "/api/v1/partner-events", content=json.dumps(event), headers=headers
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in [error["loc"] for error in response.json()["errors"]]


async def test_malformed_body_and_media_type(partner_gateway: Gateway) -> None:
    client = partner_gateway.client
    headers = await _auth(client)

    not_json = await client.post(
        "/api/v1/partner-events", content=b"{not json", headers={**headers, **SINGLE}
    )
    plain = await client.post(
        "/api/v1/partner-events",
        content=json.dumps(alarm()),
        headers={**headers, "Content-Type": "text/plain"},
    )

    assert not_json.status_code == 400
    assert plain.status_code == 415


async def test_batch_answers_per_event(partner_gateway: Gateway) -> None:
    client = partner_gateway.client
    headers = {**await _auth(client), **BATCH}
    good, bad = alarm(), alarm(data={"level": "panic"})

    response = await client.post(
        "/api/v1/partner-events", content=json.dumps([good, bad]), headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    outcomes = [(r["id"], r["outcome"], r["status"]) for r in body["results"]]
    assert outcomes == [(good["id"], "accepted", 202), (bad["id"], "rejected", 400)]
    assert ["data", "level"] in [e["loc"] for e in body["results"][1]["problem"]["errors"]]

    too_many = await client.post(
        "/api/v1/partner-events",
        content=json.dumps([alarm() for _ in range(101)]),
        headers=headers,
    )
    assert too_many.status_code == 400


async def test_a_batch_is_published_whole_in_order_and_read_back(
    partner_gateway: Gateway, kafka_bootstrap: str
) -> None:
    client = partner_gateway.client
    auth = await _auth(client)
    before = alarm()
    await client.post(
        "/api/v1/partner-events", content=json.dumps(before), headers={**auth, **SINGLE}
    )
    fresh = [alarm() for _ in range(60)]
    repeat = fresh[3]
    reused = alarm(id=fresh[5]["id"], data={"level": "alert"})

    response = await client.post(
        "/api/v1/partner-events",
        content=json.dumps([*fresh, before, repeat, reused]),
        headers={**auth, **BATCH},
    )

    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (60, 2, 1)
    results = body["results"]
    assert [r["id"] for r in results] == [e["id"] for e in [*fresh, before, repeat, reused]]
    assert {r["outcome"] for r in results[:60]} == {"accepted"}
    assert [r["outcome"] for r in results[60:]] == ["duplicate", "duplicate", "rejected"]
    assert results[62]["status"] == 409
    assert results[61]["event"]["offset"] == results[3]["event"]["offset"]
    # One container, so one partition: the events follow each other in the batch's order.
    partitions = {r["event"]["partition"] for r in results[:60]}
    offsets = [r["event"]["offset"] for r in results[:60]]
    assert len(partitions) == 1
    assert offsets == list(range(offsets[0], offsets[0] + 60))
    read_back = await _records_from(kafka_bootstrap, partitions.pop(), offsets[0], 60)
    records = [json.loads(r.value) for r in read_back if r.value is not None]
    assert [record["id"] for record in records] == [e["id"] for e in fresh]
    for event, result in zip(fresh, results[:60], strict=True):
        read = await client.get(
            f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=auth
        )
        assert read.status_code == 200
        assert read.json()["offset"] == result["event"]["offset"]
        assert read.json()["published_at"] is not None


async def test_only_partner_agencies_push(partner_gateway: Gateway) -> None:
    token = await get_token(partner_gateway.client, BROKER_ID, BROKER_SECRET)

    response = await partner_gateway.client.post(
        "/api/v1/partner-events",
        content=json.dumps(alarm()),
        headers={"Authorization": f"Bearer {token}", **SINGLE},
    )

    assert response.status_code == 403


async def test_kafka_down_answers_503_and_keeps_nothing(
    gateway_factory: GatewayFactory, postgres: PostgresServer
) -> None:
    down = f"127.0.0.1:{free_port()}"
    async with gateway_factory(
        database_url=postgres.url("gateway"),
        kafka_bootstrap=down,
        partner_publish_timeout_seconds=1.0,
    ) as gw:
        headers = await _auth(gw.client)
        event = alarm()

        single = await gw.client.post(
            "/api/v1/partner-events", content=json.dumps(event), headers={**headers, **SINGLE}
        )
        events = [alarm() for _ in range(3)]
        batch = await gw.client.post(
            "/api/v1/partner-events", content=json.dumps(events), headers={**headers, **BATCH}
        )
        read = await gw.client.get(
            f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=headers
        )
        read_batch = [
            (
                await gw.client.get(
                    f"/api/v1/partner-events/{PARTNER_SOURCE}/{e['id']}", headers=headers
                )
            ).status_code
            for e in events
        ]

    assert single.status_code == 503
    assert int(single.headers["retry-after"]) >= 1
    assert batch.status_code == 503
    assert [r["outcome"] for r in batch.json()["results"]] == ["unavailable"] * 3
    assert "retry-after" in batch.headers
    assert read.status_code == 404  # nothing half-published: no row without Kafka's ack
    assert read_batch == [404] * 3


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"a": [value]}
    return value


# Partner events are untrusted input (OWASP API10): each hostile event of a batch is
# refused on its own with a 400 problem, and the good one beside it still goes through.
HOSTILE_EVENTS: dict[str, Any] = {
    "oversized-string": alarm(data={"monitor_id": "R" * 200_000}),
    "oversized-id": alarm(id="x" * 10_000),
    "oversized-extension": alarm(comment="c" * 300_000),
    "deeply-nested-data": alarm(data={"monitor_id": _nested(200)}),
    "deeply-nested-extension": alarm(extra=_nested(200)),
    "wrong-type-level": alarm(data={"level": 5}),
    "wrong-type-time": alarm(data={"detected_at": ["2026-11-01"]}),
    "wrong-type-source": alarm(source=7),
    "data-null": alarm() | {"data": None},
    "data-a-list": alarm() | {"data": ["CSQU3054383"]},
    "extension-not-scalar": alarm(lane=["green"]),
    "extension-bad-name": alarm(**{"Lane-Override": "green"}),
    "not-an-object": "customs.partner.radiation-alarm.v1",
    "a-number": 12345678901234567890,
    "a-list": [alarm()],
}


async def test_hostile_events_in_a_batch_are_refused_each_on_its_own(
    partner_gateway: Gateway,
) -> None:
    client = partner_gateway.client
    headers = {**await _auth(client), **BATCH}
    good = alarm()
    batch = [good, *HOSTILE_EVENTS.values()]

    response = await client.post(
        "/api/v1/partner-events", content=json.dumps(batch), headers=headers
    )

    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, len(HOSTILE_EVENTS))
    outcomes = [(r["outcome"], r["status"]) for r in body["results"]]
    assert outcomes[0] == ("accepted", 202)
    refused = dict(zip(HOSTILE_EVENTS, outcomes[1:], strict=True))
    assert {name: o for name, o in refused.items() if o != ("rejected", 400)} == {}
    # Nothing of a hostile event is echoed back whole.
    assert len(response.content) < 200_000


@pytest.mark.parametrize(
    "content",
    [b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, b"\xff\xfe"],
    ids=["nested-arrays", "nested-objects", "not-utf-8"],
)
async def test_a_body_no_parser_should_follow_is_a_400_problem(
    partner_gateway: Gateway, content: bytes
) -> None:
    client = partner_gateway.client
    headers = await _auth(client)
    for media_type in (SINGLE, BATCH):
        response = await client.post(
            "/api/v1/partner-events", content=content, headers={**headers, **media_type}
        )
        assert response.status_code == 400, response.text[:300]
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_partner_reads_back_only_its_own_events(partner_gateway: Gateway) -> None:
    client = partner_gateway.client
    event = alarm()
    pushed = await client.post(
        "/api/v1/partner-events",
        content=json.dumps(event),
        headers={**await _auth(client), **SINGLE},
    )
    assert pushed.status_code == 202, pushed.text
    other = await get_token(client, OTHER_PARTNER_ID, OTHER_PARTNER_SECRET)
    other_headers = {"Authorization": f"Bearer {other}"}

    theirs = await client.get(
        f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=other_headers
    )
    as_own = await client.get(
        f"/api/v1/partner-events/{OTHER_PARTNER_SOURCE}/{event['id']}", headers=other_headers
    )
    mine = await client.get(
        f"/api/v1/partner-events/{PARTNER_SOURCE}/{event['id']}", headers=await _auth(client)
    )

    assert (theirs.status_code, as_own.status_code, mine.status_code) == (404, 404, 200)
    assert theirs.json() == {**theirs.json(), "status": 404}


async def test_members_the_data_schema_does_not_know_are_dropped_not_passed_on(
    partner_gateway: Gateway, kafka_bootstrap: str
) -> None:
    client = partner_gateway.client
    event = alarm(data={"lane": "green", "status": "released"})

    response = await client.post(
        "/api/v1/partner-events",
        content=json.dumps(event),
        headers={**await _auth(client), **SINGLE},
    )

    assert response.status_code == 202, response.text
    published = response.json()["event"]
    record = await _record_at(kafka_bootstrap, published["partition"], published["offset"])
    assert record["id"] == event["id"]
    assert not {"lane", "status"} & set(record["data"])
