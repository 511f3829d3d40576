"""A request written to a connection the broker has just closed, on the services' event
loop (uvloop), on the real broker: it must fail as the connection error aiokafka answers
by reconnecting, not as uvloop's RuntimeError, which ends the aiokafka task that wrote
(aio-libs/aiokafka#1038): a consumer's group coordination, after which the consumer
failed every fetch until its process restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
import uvloop
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest

import customs_shared.messaging.kafka  # noqa: F401  (the services import it: its fix applies)

pytestmark = pytest.mark.integration


def _on_uvloop(scenario: Coroutine[Any, Any, None]) -> None:
    """Runs ``scenario`` on a loop of its own, as uvicorn runs a service; the tests' own
    loop is left as it is."""
    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(scenario)
    finally:
        loop.close()


def test_a_write_to_a_connection_the_broker_closed_is_a_connection_error(
    kafka_bootstrap: str,
) -> None:
    async def scenario() -> None:
        host, port = kafka_bootstrap.rsplit(":", 1)
        connection = await create_conn(host, int(port))
        answer = await connection.send(MetadataRequest([]))
        assert answer.brokers  # the connection works
        # The broker's close: one turn of the loop later uvloop has closed the transport,
        # and aiokafka's reader has not yet seen it (the window a request fell into).
        connection._writer.transport.abort()
        await asyncio.sleep(0)
        assert connection._writer is not None
        assert connection._writer.transport.is_closing()

        with pytest.raises(KafkaConnectionError, match="broken"):
            await connection.send(MetadataRequest([]))

        assert not connection.connected()  # closed: aiokafka's client connects anew

    _on_uvloop(scenario())
