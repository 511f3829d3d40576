"""Rate limits shared by gateway replicas through one real Redis server."""

from __future__ import annotations

import pytest

from gateway_tests.support import BROKER_ID, BROKER_SECRET, GatewayFactory, basic, get_token

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clear_of_a_window_edge")]


async def test_two_gateways_share_the_api_limit(
    gateway_factory: GatewayFactory, redis: str
) -> None:
    uri = f"async+redis://{redis}/1"  # a Redis database of its own per test
    async with (
        gateway_factory(rate_limit_storage_uri=uri, rate_limit_per_minute=3) as one,
        gateway_factory(rate_limit_storage_uri=uri, rate_limit_per_minute=3) as two,
    ):
        token = await get_token(one.client)
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [
            (await one.client.get("/api/v1/declarations", headers=headers)).status_code,
            (await two.client.get("/api/v1/declarations", headers=headers)).status_code,
            (await one.client.get("/api/v1/declarations", headers=headers)).status_code,
            (await two.client.get("/api/v1/declarations", headers=headers)).status_code,
        ]
        limited = await one.client.get("/api/v1/declarations", headers=headers)

    # Each replica alone would allow 3; together they allow 3.
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


async def test_token_failures_counted_across_gateways(
    gateway_factory: GatewayFactory, redis: str
) -> None:
    uri = f"async+redis://{redis}/2"
    settings = {
        "rate_limit_storage_uri": uri,
        "token_failures_per_minute_per_client_source": 2,
    }
    async with gateway_factory(**settings) as one, gateway_factory(**settings) as two:
        form = {"grant_type": "client_credentials"}
        wrong = basic(BROKER_ID, "not-the-secret")
        failures = [
            (await gw.client.post("/oauth/token", data=form, headers={"Authorization": wrong}))
            for gw in (one, two)
        ]
        refused = await one.client.post(
            "/oauth/token", data=form, headers={"Authorization": basic(BROKER_ID, BROKER_SECRET)}
        )

    assert [r.status_code for r in failures] == [401, 401]
    # The (client, source) pair has used its failures on both replicas together.
    assert refused.status_code == 429
