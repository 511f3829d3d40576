from __future__ import annotations

from customs_shared.auth import Scope
from gateway_tests.support import BROKER_ID, BROKER_SECRET, Gateway, GatewayFactory, basic

METADATA = "/.well-known/oauth-authorization-server"


async def test_metadata_names_endpoints_that_work(gateway: Gateway) -> None:
    response = await gateway.client.get(METADATA)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    assert body["issuer"] == "customs-gateway"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert set(body["scopes_supported"]) == {scope.value for scope in Scope}
    assert body["response_types_supported"] == []
    # The advertised URLs are absolute and serve what they claim.
    jwks = await gateway.client.get(body["jwks_uri"])
    assert jwks.status_code == 200
    assert jwks.json()["keys"]
    token = await gateway.client.post(
        body["token_endpoint"],
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic(BROKER_ID, BROKER_SECRET)},
    )
    assert token.status_code == 200
    assert "client_secret_basic" in body["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["EdDSA", "ES256"]


async def test_metadata_uses_the_public_url(gateway_factory: GatewayFactory) -> None:
    async with gateway_factory(public_url="https://api.customs.example/") as gw:
        body = (await gw.client.get(METADATA)).json()

    assert body["token_endpoint"] == "https://api.customs.example/oauth/token"
    assert body["jwks_uri"] == "https://api.customs.example/.well-known/jwks.json"
