"""``python -m customs_shared.migrate``: the one-shot migration a deployment runs first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from customs_shared.migrate import main


def test_it_upgrades_the_named_service_to_head_from_its_own_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "routing.db"
    monkeypatch.setenv("ROUTING_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    main(["routing-svc"])
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"lane_decisions", "outbox_events", "processed_events"} <= tables
    assert version is not None


def test_it_refuses_a_service_it_does_not_know() -> None:
    with pytest.raises(SystemExit):
        main(["gateway-svc"])
