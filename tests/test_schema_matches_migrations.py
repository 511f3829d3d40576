"""Each service's models and its Alembic migrations describe the same schema: a
database built by the migrations shows no difference from the models."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import Column, MetaData, String
from sqlalchemy.orm import DeclarativeBase

from customs_shared.migrations import schema_drift
from customs_shared.services import DATABASE_SERVICES
from tests.support.postgres import MigratedSessions

pytestmark = pytest.mark.integration

SERVICES = [spec.package for spec in DATABASE_SERVICES]


def _metadata(package: str) -> MetaData:
    base: type[DeclarativeBase] = importlib.import_module(f"{package}.db").Base
    importlib.import_module(f"{package}.main")  # imports every model module
    return base.metadata


@pytest.mark.parametrize("package", SERVICES)
async def test_models_match_the_migrated_database(
    migrated_sessions: MigratedSessions, package: str
) -> None:
    sessions = await migrated_sessions(f"{package}:migrations")
    assert sessions.kw["bind"] is not None
    shared = importlib.import_module(f"{package}.db").__dict__.get("SHARED_METADATA", ())
    assert await schema_drift(sessions.kw["bind"], _metadata(package), *shared) == []


async def test_a_drifted_column_is_reported(migrated_sessions: MigratedSessions) -> None:
    sessions = await migrated_sessions("routing_svc:migrations")
    drifted = MetaData()
    for table in _metadata("routing_svc").tables.values():
        table.to_metadata(drifted)
    drifted.tables["lane_decisions"].append_column(Column("officer_note", String(200)))
    drifted.tables["routing_cases"].c.tenant.type = String(80)

    changes = await schema_drift(sessions.kw["bind"], drifted)

    assert ("add_column", None, "lane_decisions") in {
        c[:3] for c in changes if c[0] == "add_column"
    }
    modified = [c for c in changes if isinstance(c, list) and c[0][0] == "modify_type"]
    assert [(c[0][2], c[0][3]) for c in modified] == [("routing_cases", "tenant")]
