from __future__ import annotations

import time
import uuid

import httpx
import jwt

from gateway_tests.support import (
    BROKER_ID,
    BROKER_SECRET,
    BROKER_TENANT,
    Gateway,
    basic,
    internal_url,
)


async def _token_request(
    client: httpx.AsyncClient, form: dict[str, str], auth: str | None = None
) -> httpx.Response:
    headers = {"Authorization": auth} if auth else {}
    return await client.post("/oauth/token", data=form, headers=headers)


async def test_token_issued_for_valid_client(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client, {"grant_type": "client_credentials"}, basic(BROKER_ID, BROKER_SECRET)
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "declarations:read declarations:write"

    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == jwks["keys"][0]["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(
        token, key=key, algorithms=["EdDSA"], audience="customs-api", issuer="customs-gateway"
    )
    assert claims["sub"] == BROKER_ID
    assert claims["tenant"] == BROKER_TENANT
    assert claims["roles"] == ["broker"]
    assert claims["scope"] == "declarations:read declarations:write"
    assert claims["aud"] == "customs-api"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 10
    assert uuid.UUID(claims["jti"]).version == 4


async def test_token_with_form_credentials_and_narrower_scope(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client,
        {
            "grant_type": "client_credentials",
            "client_id": BROKER_ID,
            "client_secret": BROKER_SECRET,
            "scope": "declarations:read",
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "declarations:read"
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "declarations:read"


async def test_each_token_has_its_own_jti(gateway: Gateway) -> None:
    auth = basic(BROKER_ID, BROKER_SECRET)
    form = {"grant_type": "client_credentials"}
    first = (await _token_request(gateway.client, form, auth)).json()["access_token"]
    second = (await _token_request(gateway.client, form, auth)).json()["access_token"]
    first_jti = jwt.decode(first, options={"verify_signature": False})["jti"]
    second_jti = jwt.decode(second, options={"verify_signature": False})["jti"]
    assert first_jti != second_jti


async def test_wrong_secret_is_invalid_client(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client, {"grant_type": "client_credentials"}, basic(BROKER_ID, "not-the-secret")
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/json"
    assert "not-the-secret" not in response.text


async def test_unknown_client_is_invalid_client(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client, {"grant_type": "client_credentials"}, basic("nobody", "whatever-secret")
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_missing_credentials_is_invalid_client(gateway: Gateway) -> None:
    response = await _token_request(gateway.client, {"grant_type": "client_credentials"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_wrong_grant_type_is_unsupported(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client, {"grant_type": "password"}, basic(BROKER_ID, BROKER_SECRET)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_missing_grant_type_is_invalid_request(gateway: Gateway) -> None:
    response = await _token_request(gateway.client, {}, basic(BROKER_ID, BROKER_SECRET))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_scope_outside_the_clients_is_invalid_scope(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client,
        {"grant_type": "client_credentials", "scope": "declarations:read routing:write"},
        basic(BROKER_ID, BROKER_SECRET),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_two_authentication_methods_are_refused(gateway: Gateway) -> None:
    response = await _token_request(
        gateway.client,
        {"grant_type": "client_credentials", "client_secret": BROKER_SECRET},
        basic(BROKER_ID, BROKER_SECRET),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_json_body_is_invalid_request(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials"},
        headers={"Authorization": basic(BROKER_ID, BROKER_SECRET)},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_repeated_parameter_is_invalid_request(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={
            "Authorization": basic(BROKER_ID, BROKER_SECRET),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_jwks_shape(gateway: Gateway) -> None:
    response = await gateway.client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert len(keys) == 1
    assert set(keys[0]) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert keys[0]["kty"] == "OKP"
    assert keys[0]["crv"] == "Ed25519"
    assert keys[0]["use"] == "sig"
    assert keys[0]["alg"] == "EdDSA"
    assert keys[0]["kid"] == gateway.state["keys"].kid
    assert "d" not in keys[0]


async def test_readiness_reports_keys_and_clients(gateway: Gateway) -> None:
    response = await gateway.client.get(internal_url(gateway, "/readyz"))

    checks = response.json()["checks"]
    assert (checks["keys"], checks["clients"]) == ("ok", "ok")
    # No Kafka here: the revocation check fails, so not ready (test_listeners covers it).
    assert response.status_code == 503
    assert checks["revocations"].startswith("failed")


async def test_openapi_documents_the_token_endpoint(gateway: Gateway) -> None:
    response = await gateway.client.get(internal_url(gateway, "/openapi.json"))

    assert response.status_code == 200
    operation = response.json()["paths"]["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
