"""The baseline of ``make bench BENCH=e2e``: a bare FastAPI endpoint that writes one row
to PostgreSQL and produces one Kafka message (acks=all, idempotent producer), on the
services' stack (uvicorn, SQLAlchemy async, asyncpg, aiokafka), answering 202 as a
submission does. What one hop of the pipeline costs with nothing of the domain in it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.bench_parts.bare_insert import _CREATE

TOPIC = "bench.bare-pipeline"  # the benchmark's own: nothing reads it
PARTITIONS = 6  # as the catalog topics here (tests.support.infra)


async def create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-setup")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    bootstrap = os.environ["BENCH_KAFKA_BOOTSTRAP"]
    await create_topic(bootstrap)
    engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    async with engine.begin() as connection:
        await connection.execute(text(_CREATE))
    await producer.start()
    yield {"engine": engine, "producer": producer}
    await producer.stop()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/rows", status_code=202)
async def insert_and_produce(request: Request) -> dict[str, str]:
    engine: AsyncEngine = request.state.engine
    producer: AIOKafkaProducer = request.state.producer
    row_id = uuid.uuid4()
    body = await request.body()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO bench_rows (id, body) VALUES (:id, CAST(:body AS jsonb))"),
            {"id": row_id, "body": body.decode()},
        )
    await producer.send_and_wait(TOPIC, body, key=row_id.bytes)
    return {"id": str(row_id)}
