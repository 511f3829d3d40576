"""``POST /oauth/token`` (RFC 6749 §4.4, client credentials) and the public JWKS.

Errors of the token endpoint use the RFC 6749 §5.2 JSON body that OAuth2 clients
parse (``{"error": "invalid_client"}``), not problem+json. Being over a rate
limit (429) or finding every secret-check slot taken (503 ``busy``) is not an
OAuth2 error and answers with the cluster's problem, with ``Retry-After``.
The limits are in :mod:`gateway.token_limits`. Secrets and tokens are never
logged; failures log the claimed client id and the source address.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.problems import TooManyRequests, problem_responses
from gateway import client_assertion
from gateway.clients import OAuthClient
from gateway.errors import Busy
from gateway.metadata import public_base_url
from gateway.metrics import TOKEN_AUTH_FAILURES, TOKENS_ISSUED
from gateway.settings import GatewaySettings
from gateway.state import Clients, Issuer, Keys, Sessions, Settings, TokenEndpointLimits
from gateway.token_limits import source_of

log = logging.getLogger(__name__)

router = APIRouter(tags=["oauth"])

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8192
MAX_CLIENT_ID_LENGTH = 128
MAX_SECRET_LENGTH = 512
MAX_ASSERTION_LENGTH = 8192
JWKS_MAX_AGE_SECONDS = 300
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_REALM = 'Basic realm="customs-gateway"'


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the token type name, not a secret
    expires_in: int
    scope: str


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str | None = None


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = _REALM
        body = OAuthErrorBody(error=self.error, error_description=self.description)
        return JSONResponse(body.model_dump(), status_code=self.status, headers=headers)


def _invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body as a dict; repeated or oversized parameters are refused."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise OAuthError("invalid_request", f"The body must be {FORM_MEDIA_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "The request body is too large.")
    try:
        pairs = parse_qsl(body.decode("ascii"), errors="strict", max_num_fields=16)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise OAuthError("invalid_request", "The body is not a valid urlencoded form.") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 §3.2: parameters must not repeat
            raise OAuthError("invalid_request", f"Parameter {name!r} is repeated.")
        form[name] = value
    return form


def _basic_credentials(param: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_client("Malformed Basic credentials.") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _invalid_client("Malformed Basic credentials.")
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """(client_id, client_secret) from HTTP Basic, or else from the form."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, param = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("Only Basic client authentication is supported here.")
        if "client_secret" in form:
            raise OAuthError("invalid_request", "Use one client authentication method only.")
        client_id, secret = _basic_credentials(param)
        if form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials.")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise _invalid_client("Client credentials are required.")
    if len(client_id) > MAX_CLIENT_ID_LENGTH or len(secret) > MAX_SECRET_LENGTH:
        raise _invalid_client()
    return client_id, secret


def client_assertion_of(request: Request, form: dict[str, str]) -> str | None:
    """The private_key_jwt assertion (RFC 7523 §2.2), if the client authenticates so."""
    if "client_assertion" not in form and "client_assertion_type" not in form:
        return None
    if form.get("client_assertion_type") != client_assertion.ASSERTION_TYPE:
        raise OAuthError(
            "invalid_request", f"client_assertion_type must be {client_assertion.ASSERTION_TYPE}."
        )
    if request.headers.get("authorization") or "client_secret" in form:
        raise OAuthError("invalid_request", "Use one client authentication method only.")
    assertion = form.get("client_assertion", "")
    if not assertion or len(assertion) > MAX_ASSERTION_LENGTH:
        raise _invalid_client("A client_assertion is required.")
    return assertion


def _assertion_client(assertion: str, form: dict[str, str]) -> str:
    try:
        client_id = client_assertion.claimed_client(assertion)
    except client_assertion.InvalidAssertion as exc:
        raise _invalid_client("The client assertion is not valid.") from exc
    if form.get("client_id", client_id) != client_id:
        raise OAuthError("invalid_request", "client_id differs from the assertion's subject.")
    return client_id


async def _authenticate_assertion(
    client: OAuthClient | None,
    assertion: str,
    request: Request,
    settings: GatewaySettings,
    sessions: async_sessionmaker[AsyncSession],
) -> OAuthClient | None:
    """The client if ``assertion`` is a valid, unused private_key_jwt of it, else None."""
    if client is None:
        return None
    base = public_base_url(request, settings)
    try:
        await client_assertion.verify(
            client,
            assertion,
            audiences=[f"{base}/oauth/token", settings.jwt_issuer],
            sessions=sessions,
        )
    except client_assertion.InvalidAssertion as exc:
        log.warning(
            "client assertion refused", extra={"client_id": client.client_id, "why": str(exc)}
        )
        return None
    return client


def granted_scopes(client: OAuthClient, requested: str | None) -> list[str]:
    """The requested scopes if all are the client's; all its scopes if none asked."""
    if requested is None:
        return list(client.scopes)
    wanted = list(dict.fromkeys(s for s in requested.split(" ") if s))
    if not wanted:
        return list(client.scopes)
    unknown = [s for s in wanted if s not in client.scopes]
    if unknown:
        raise OAuthError("invalid_scope", "The requested scope exceeds the client's scopes.")
    return wanted


_TOKEN_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string", "description": "Space-separated scopes."},
                        "client_id": {"type": "string", "description": "If not using Basic."},
                        "client_secret": {"type": "string", "description": "If not using Basic."},
                        "client_assertion_type": {
                            "type": "string",
                            "enum": [client_assertion.ASSERTION_TYPE],
                            "description": "private_key_jwt (RFC 7523).",
                        },
                        "client_assertion": {
                            "type": "string",
                            "description": "The signed JWT (private_key_jwt).",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="Issue an access token for a registered client (client credentials grant).",
    responses={
        400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthErrorBody, "description": "invalid_client"},
        **problem_responses(TooManyRequests, Busy),
    },
    openapi_extra=_TOKEN_REQUEST_BODY,
)
async def issue_token(
    request: Request,
    clients: Clients,
    issuer: Issuer,
    limits: TokenEndpointLimits,
    settings: Settings,
    sessions: Sessions,
) -> JSONResponse:
    try:
        form = await read_form(request)
        assertion = client_assertion_of(request, form)
        if assertion is None:
            client_id, secret = client_credentials(request, form)
        else:
            client_id, secret = _assertion_client(assertion, form), ""
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type", "Only the client_credentials grant is supported."
            )
        source = source_of(request)
        await limits.admit(client_id, source)
        with limits.checking(client_id, source):
            if assertion is None:
                client = await clients.authenticate(client_id, secret)
            else:
                client = await _authenticate_assertion(
                    clients.get(client_id), assertion, request, settings, sessions
                )
        if client is None:
            TOKEN_AUTH_FAILURES.inc()
            await limits.failed(client_id, source)
            log.warning(
                "client authentication failed", extra={"client_id": client_id, "source": source}
            )
            raise _invalid_client()
        scopes = granted_scopes(client, form.get("scope"))
        await limits.issue(client.client_id, source)
    except OAuthError as exc:
        return exc.response()
    issued = issuer.issue(client, scopes)
    TOKENS_ISSUED.inc()
    log.info(
        "token issued",
        extra={
            "client_id": client.client_id,
            "jti": issued.token_id,
            "scope": issued.scope,
            "source": source,
        },
    )
    body = TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


@router.get(
    "/.well-known/jwks.json",
    summary="Public keys that verify the gateway's access tokens (RFC 7517 JWK Set).",
)
async def jwks(keys: Keys) -> JSONResponse:
    return JSONResponse(
        keys.jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"}
    )
