"""The baseline of ``make bench BENCH=declarations``: a bare FastAPI endpoint that
inserts one row, on the same stack (uvicorn, SQLAlchemy async, asyncpg, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_CREATE = "CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, body jsonb NOT NULL)"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10)
    async with engine.begin() as connection:
        # Replicas start together: CREATE ... IF NOT EXISTS races with itself otherwise.
        await connection.execute(text("SELECT pg_advisory_xact_lock(1)"))
        await connection.execute(text(_CREATE))
    yield {"engine": engine}
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/rows", status_code=201)
async def insert(request: Request) -> dict[str, str]:
    engine: AsyncEngine = request.state.engine
    row_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO bench_rows (id, body) VALUES (:id, CAST(:body AS jsonb))"),
            {"id": row_id, "body": (await request.body()).decode()},
        )
    return {"id": str(row_id)}
