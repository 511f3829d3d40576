"""A revoked token is refused by every service, not only by the gateway."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from tests.support.cluster import Cluster, demo_secret

pytestmark = pytest.mark.e2e


def _fresh_token(cluster: Cluster, client_id: str) -> str:
    response = httpx.post(
        f"{cluster.gateway}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, demo_secret(client_id)),
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _statuses(cluster: Cluster, token: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {token}"}
    targets = {
        "gateway": f"{cluster.gateway}/api/v1/declarations",
        "declaration-svc": f"{cluster.url('declaration-svc')}/api/v1/declarations",
        "routing-svc": f"{cluster.url('routing-svc')}/api/v1/routing/decisions/{uuid.uuid4()}",
    }
    return {
        name: httpx.get(url, headers=headers, timeout=10).status_code
        for name, url in targets.items()
    }


def _until_refused(cluster: Cluster, token: str) -> tuple[dict[str, int], float]:
    started = time.monotonic()
    statuses = _statuses(cluster, token)
    while set(statuses.values()) != {401} and time.monotonic() - started < 10:
        time.sleep(0.2)
        statuses = _statuses(cluster, token)
    return statuses, time.monotonic() - started


def test_a_revoked_jti_is_refused_everywhere_within_seconds(cluster: Cluster) -> None:
    token = _fresh_token(cluster, "demo-admin")
    other = _fresh_token(cluster, "demo-admin")
    # Accepted everywhere (routing: no such decision, 404, yet the token passed).
    assert _statuses(cluster, token) == {"gateway": 200, "declaration-svc": 200, "routing-svc": 404}
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]

    with cluster.client("demo-admin") as admin:
        revoked = admin.post("/api/v1/token-revocations", json={"jti": jti, "reason": "leaked"})

    assert revoked.status_code == 202, revoked.text
    statuses, elapsed = _until_refused(cluster, token)
    assert statuses == {"gateway": 401, "declaration-svc": 401, "routing-svc": 401}
    assert elapsed < 10
    # Another token of the same client is not affected.
    assert 401 not in _statuses(cluster, other).values()


def test_revoking_a_client_refuses_its_current_tokens_only(cluster: Cluster) -> None:
    before = _fresh_token(cluster, "demo-officer")
    with cluster.client("demo-admin") as admin:
        revoked = admin.post("/api/v1/token-revocations", json={"client_id": "demo-officer"})
    # Every token the officer held is void now, the one other tests share too.
    cluster.forget_token("demo-officer")
    assert revoked.status_code == 202
    statuses, _ = _until_refused(cluster, before)
    assert set(statuses.values()) == {401}
    time.sleep(1.1)  # iat has one-second resolution
    after = _fresh_token(cluster, "demo-officer")
    response = httpx.get(
        f"{cluster.url('declaration-svc')}/api/v1/declarations",
        headers={"Authorization": f"Bearer {after}"},
        timeout=10,
    )
    assert response.status_code == 200


def test_only_admins_revoke(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as broker:
        response = broker.post("/api/v1/token-revocations", json={"client_id": "demo-officer"})
    assert response.status_code == 403
