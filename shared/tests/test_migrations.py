"""Migrations on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from customs_shared.db import create_engine, run_migrations
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration


def _head(location: str) -> str | None:
    config = Config()
    config.set_main_option("script_location", location)
    return ScriptDirectory.from_config(config).get_current_head()


async def test_replicas_migrating_together_take_turns(postgres: PostgresServer) -> None:
    engines = [create_engine(postgres.url("scratch")) for _ in range(3)]
    try:
        async with engines[0].begin() as connection:
            await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            await connection.exec_driver_sql("CREATE SCHEMA public")
        await asyncio.gather(
            *(run_migrations(engine, "routing_svc:migrations") for engine in engines)
        )
        async with engines[0].connect() as connection:
            version = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.scalar_one() == _head("routing_svc:migrations")
    finally:
        for engine in engines:
            await engine.dispose()
