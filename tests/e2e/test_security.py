"""Every service verifies tokens itself; tenants never see each other's data."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared.services import DOMAIN_SERVICES
from tests.support.cluster import Cluster, demo_secret, jwt_claims
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

SERVICES = [spec.name for spec in DOMAIN_SERVICES]
READ_PATHS = {
    "declaration-svc": "/api/v1/declarations",
    "signature-svc": f"/api/v1/signatures/checks/{uuid.uuid4()}",
    "ipr-svc": f"/api/v1/ipr/screenings/{uuid.uuid4()}",
    "routing-svc": f"/api/v1/routing/decisions/{uuid.uuid4()}",
}


def _claims(cluster: Cluster, **overrides: Any) -> dict[str, Any]:
    claims = jwt_claims(cluster.token("demo-broker"))
    claims.update(overrides)
    return claims


def _kid(cluster: Cluster) -> str:
    return str(jwt.get_unverified_header(cluster.token("demo-broker"))["kid"])


def _gateway_key(cluster: Cluster) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(cluster.signing_key_file).read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _direct(cluster: Cluster, service: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(cluster.url(service) + READ_PATHS[service], headers=headers, timeout=10)


@pytest.mark.parametrize("service", SERVICES)
def test_service_accepts_a_gateway_token_directly(cluster: Cluster, service: str) -> None:
    response = _direct(cluster, service, cluster.token("demo-broker"))
    assert response.status_code in (200, 404), response.text  # 404: nothing for that id yet


@pytest.mark.parametrize("service", SERVICES)
def test_service_refuses_forged_and_expired_tokens_itself(cluster: Cluster, service: str) -> None:
    kid = _kid(cluster)
    now = int(time.time())
    forged = jwt.encode(
        _claims(cluster), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )
    expired = jwt.encode(
        _claims(cluster, iat=now - 3600, nbf=now - 3600, exp=now - 600),
        _gateway_key(cluster),
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    wrong_audience = jwt.encode(
        _claims(cluster, aud="another-api"),
        _gateway_key(cluster),
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    unsigned = jwt.encode(_claims(cluster), "", algorithm="none", headers={"kid": kid})
    hmac_confusion = jwt.encode(
        _claims(cluster),
        "a-guessed-secret-of-32-bytes-long!",
        algorithm="HS256",
        headers={"kid": kid},
    )
    tampered_parts = cluster.token("demo-broker").split(".")
    tampered_claims = jwt.utils.base64url_encode(
        json.dumps(_claims(cluster, tenant="0100109106")).encode()
    ).decode()
    tampered = ".".join([tampered_parts[0], tampered_claims, tampered_parts[2]])

    for name, token in {
        "missing": None,
        "forged": forged,
        "expired": expired,
        "wrong audience": wrong_audience,
        "alg none": unsigned,
        "hs256": hmac_confusion,
        "tampered": tampered,
        "garbage": "not.a.jwt",
    }.items():
        response = _direct(cluster, service, token)
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/problem+json", name
        assert response.headers["www-authenticate"].lower().startswith("bearer"), name


def test_gateway_refuses_forged_token_too(cluster: Cluster) -> None:
    forged = jwt.encode(
        _claims(cluster),
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": _kid(cluster)},
    )
    response = httpx.get(
        f"{cluster.gateway}/api/v1/declarations", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_tenant_a_cannot_read_tenant_b_declaration(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as a, cluster.client("demo-broker-b") as b:
        created = a.post("/api/v1/declarations", json=sample("declaration-enterprise")).json()
        own = a.get(created["status_url"])
        foreign = b.get(created["status_url"])
        missing = b.get(f"/api/v1/declarations/{uuid.uuid4()}")
        b_list = b.get("/api/v1/declarations", params={"limit": 100}).json()["items"]
    assert own.status_code == 200
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    # The declaration service's own answer, not a route the gateway failed to find...
    assert foreign.json()["type"].endswith("/declaration-not-found")
    # ...and indistinguishable from a declaration that does not exist.
    varying = {"detail", "instance", "request_id"}  # they name the id asked for
    assert {k: v for k, v in foreign.json().items() if k not in varying} == {
        k: v for k, v in missing.json().items() if k not in varying
    }
    assert created["id"] not in {d["id"] for d in b_list}


def test_officer_reads_across_tenants(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as broker, cluster.client("demo-officer") as officer:
        created = broker.post("/api/v1/declarations", json=sample("declaration-enterprise")).json()
        seen = officer.get(created["status_url"])
    assert seen.status_code == 200


@pytest.mark.parametrize("client_id", ["demo-right-holder", "demo-partner-agency", "demo-officer"])
def test_roles_that_do_not_declare_cannot_submit(cluster: Cluster, client_id: str) -> None:
    with cluster.client(client_id) as client:
        response = client.post("/api/v1/declarations", json=sample("declaration-individual"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_declarant_declares_only_for_its_own_enterprise(cluster: Cluster) -> None:
    tenant = jwt_claims(cluster.token("demo-declarant"))["tenant"]
    own = sample("declaration-enterprise")
    own["declarant"]["tax_code"] = tenant
    branch = sample("declaration-enterprise")
    branch["declarant"]["tax_code"] = f"{tenant}-001"
    with cluster.client("demo-declarant") as client:
        foreign = client.post("/api/v1/declarations", json=sample("declaration-enterprise"))
        accepted = client.post("/api/v1/declarations", json=own)
        accepted_branch = client.post("/api/v1/declarations", json=branch)
    assert foreign.status_code == 403
    assert foreign.json()["type"].endswith("/declarant-not-caller")
    assert accepted.status_code == accepted_branch.status_code == 202


def _scoped_token(cluster: Cluster, client_id: str, scope: str) -> httpx.Response:
    return httpx.post(
        f"{cluster.gateway}/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, demo_secret(client_id)),
        timeout=10,
    )


def test_service_refuses_a_token_without_the_endpoints_scope(cluster: Cluster) -> None:
    granted = _scoped_token(cluster, "demo-broker", "signatures:read")
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = sample("declaration-enterprise")

    through_gateway = httpx.post(
        f"{cluster.gateway}/api/v1/declarations", json=body, headers=headers, timeout=10
    )
    # The service checks the scope itself: a token that skipped the gateway is refused too.
    direct = httpx.post(
        cluster.url("declaration-svc") + "/api/v1/declarations",
        json=body,
        headers=headers,
        timeout=10,
    )
    for response in (through_gateway, direct):
        assert response.status_code == 403, response.text
        assert response.json()["type"].endswith("/insufficient-scope")
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
        assert 'scope="declarations:write"' in response.headers["www-authenticate"]
    # The scope it was granted still works.
    check = httpx.get(cluster.url("signature-svc") + READ_PATHS["signature-svc"], headers=headers)
    assert check.status_code == 404, check.text  # allowed in, nothing for that id


def test_token_endpoint_grants_only_the_clients_scopes(cluster: Cluster) -> None:
    response = _scoped_token(cluster, "demo-broker", "declarations:write routing:write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("service", SERVICES)
def test_a_token_has_one_spelling(cluster: Cluster, service: str) -> None:
    token = cluster.token("demo-broker")
    header, payload, signature = token.split(".")
    raw = jwt.utils.base64url_decode(signature)
    # Same bytes, other spellings: padding, and unused low bits in the last character.
    last_bits = (len(raw) * 8) % 6
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(signature[-1])
    respelled = signature[:-1] + alphabet[index ^ 1] if last_bits else None
    spellings = [f"{token}==", f"{token}="]
    if respelled is not None:
        assert jwt.utils.base64url_decode(respelled) == raw
        spellings.append(f"{header}.{payload}.{respelled}")
    assert _direct(cluster, service, token).status_code in (200, 404)
    for spelling in spellings:
        response = _direct(cluster, service, spelling)
        assert response.status_code == 401, f"{spelling[-6:]}: {response.text}"
