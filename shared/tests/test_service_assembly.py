"""create_service_app's lifespan on real Kafka and PostgreSQL: what start builds,
a failure half-way through releases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from customs_shared.app import Runtime, create_service_app
from customs_shared.settings import ServiceSettings
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


class _Boom(RuntimeError):
    pass


async def test_a_failure_half_way_through_start_releases_what_was_built(
    postgres: PostgresServer, kafka_bootstrap: str
) -> None:
    seen: list[Runtime[ServiceSettings]] = []

    @contextlib.asynccontextmanager
    async def failing_background(runtime: Runtime[ServiceSettings]) -> AsyncIterator[None]:
        seen.append(runtime)
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
        raise _Boom("the last piece of start-up failed")
        yield  # pragma: no cover

    settings = ServiceSettings(
        service_name="assembly-test",
        database_url=SecretStr(postgres.url("scratch")),
        kafka_bootstrap=kafka_bootstrap,
    )
    app = create_service_app(
        settings=settings,
        title="t",
        routers=[],
        migrations="routing_svc:migrations",
        background=[failing_background],
    )
    with pytest.raises(_Boom):
        async with app.router.lifespan_context(app):
            pytest.fail("started although a background piece failed")

    [runtime] = seen
    relay_task: Any = runtime.relay._task
    assert relay_task is not None
    assert relay_task.done()  # the outbox relay was stopped
    assert runtime.producer.closed  # the Kafka producer was closed
    assert runtime.http.is_closed
    # The engine was disposed: its pool holds no connection any more.
    assert runtime.engine.pool.checkedin() == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "outbox-relay"]
