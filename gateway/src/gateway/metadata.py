"""RFC 8414 authorization server metadata at ``/.well-known/oauth-authorization-server``.

Clients discover the token endpoint, the JWKS and what the gateway supports from
here instead of configuring each URL. Endpoint URLs are absolute: from
``GATEWAY_PUBLIC_URL`` when set (behind a load balancer the request's own host is
an internal one), else from the request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from customs_shared.auth import Scope
from customs_shared.keys import ALGORITHM
from gateway import client_assertion
from gateway.settings import GatewaySettings
from gateway.state import Settings

router = APIRouter(tags=["oauth"])

METADATA_MAX_AGE_SECONDS = 300


class AuthorizationServerMetadata(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    # RFC 8414 §2 requires the member; the gateway has no authorization endpoint.
    response_types_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    # Not an RFC 8414 member: the algorithm of the access tokens the gateway signs.
    access_token_signing_alg_values_supported: list[str]


def public_base_url(request: Request, settings: GatewaySettings) -> str:
    """Where clients reach the gateway: ``GATEWAY_PUBLIC_URL``, else the request's base."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414).",
    response_model=AuthorizationServerMetadata,
)
async def authorization_server_metadata(request: Request, settings: Settings) -> JSONResponse:
    base = public_base_url(request, settings)
    body = AuthorizationServerMetadata(
        issuer=settings.jwt_issuer,
        token_endpoint=f"{base}/oauth/token",
        jwks_uri=f"{base}/.well-known/jwks.json",
        response_types_supported=[],
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        token_endpoint_auth_signing_alg_values_supported=client_assertion.ALGORITHMS,
        scopes_supported=[scope.value for scope in Scope],
        access_token_signing_alg_values_supported=[ALGORITHM],
    )
    return JSONResponse(
        body.model_dump(),
        headers={"Cache-Control": f"public, max-age={METADATA_MAX_AGE_SECONDS}"},
    )
