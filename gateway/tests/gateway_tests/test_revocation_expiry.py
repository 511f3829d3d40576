"""Revocations past every token's lifetime leave the topic, on a real Kafka: the gateway
tombstones them, and another process's reader drops them when the tombstone arrives."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from customs_shared.db import utcnow
from customs_shared.events.catalog import TOKEN_REVOCATIONS
from customs_shared.revocation import (
    Revocation,
    RevocationKind,
    RevocationList,
    RevocationListener,
)
from gateway.publisher import KafkaPublisher
from gateway.revocation_expiry import RevocationExpiry

pytestmark = pytest.mark.integration


async def test_expired_revocations_are_tombstoned_and_dropped_everywhere(
    kafka_bootstrap: str,
) -> None:
    publisher = KafkaPublisher(kafka_bootstrap, "expiry-test", timeout_seconds=10)
    old = Revocation(
        kind=RevocationKind.TOKEN,
        value=f"old-{uuid.uuid4()}",
        revoked_at=utcnow() - timedelta(hours=2),
    )
    fresh = Revocation(
        kind=RevocationKind.TOKEN, value=f"fresh-{uuid.uuid4()}", revoked_at=utcnow()
    )
    for revocation in (old, fresh):
        await publisher.publish(
            revocation.key, revocation.model_dump_json().encode(), topic=TOKEN_REVOCATIONS.name
        )
    gateway_list, service_list = RevocationList(), RevocationList()
    readers = [
        RevocationListener(kafka_bootstrap, gateway_list, client_id="expiry-gateway"),
        RevocationListener(kafka_bootstrap, service_list, client_id="expiry-service"),
    ]
    for reader in readers:
        reader.start()
    try:
        for reader in readers:
            await asyncio.wait_for(reader.caught_up.wait(), 30)
        assert service_list.is_revoked({"jti": old.value})
        expiry = RevocationExpiry(
            gateway_list, publisher, token_ttl=timedelta(minutes=15), interval_seconds=60
        )
        assert await expiry.expire_once() >= 1
        for _ in range(100):
            if not service_list.is_revoked({"jti": old.value}):
                break
            await asyncio.sleep(0.1)
        assert not service_list.is_revoked({"jti": old.value})
        assert service_list.is_revoked({"jti": fresh.value})  # still within a token's life
        assert gateway_list.is_revoked({"jti": fresh.value})
    finally:
        for reader in readers:
            await reader.stop()
        await publisher.close()
