"""A domain service's role: ``api`` pods serve requests only, ``consumer`` pods consume only."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from customs_shared.settings import Role
from routing_svc.main import create_app
from routing_svc.settings import RoutingSettings
from tests.support.postgres import PostgresServer


def _api_paths(role: Role) -> set[str]:
    paths = create_app(RoutingSettings(role=role)).openapi()["paths"]
    return {path for path in paths if path.startswith("/api/")}


def test_a_consumer_process_serves_no_api_and_the_others_do() -> None:
    assert _api_paths(Role.CONSUMER) == set()
    assert _api_paths(Role.API) == _api_paths(Role.ALL) != set()


def test_the_role_is_read_from_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_ROLE", "consumer")
    assert RoutingSettings().role is Role.CONSUMER
    monkeypatch.setenv("ROUTING_ROLE", "both")
    with pytest.raises(ValueError, match="role"):
        RoutingSettings()


@pytest.mark.integration
async def test_an_api_process_starts_no_consumer_and_no_background_job(
    postgres: PostgresServer, kafka_bootstrap: str
) -> None:
    settings = RoutingSettings(
        role=Role.API,
        database_url=SecretStr(postgres.url("routing")),
        kafka_bootstrap=kafka_bootstrap,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        runtime = state["runtime"]
        assert runtime.consumer is None
        assert runtime.relay._task is not None  # it still publishes its outbox
