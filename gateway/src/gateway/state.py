"""What the lifespan builds, and typed dependencies that read it from ``request.state``."""

from __future__ import annotations

from typing import Annotated, TypedDict

import httpx
from fastapi import Depends, Request

from customs_shared.auth import TokenVerifier
from gateway.clients import ClientRegistry
from gateway.keys import KeyRing
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from gateway.token_limits import TokenLimits
from gateway.tokens import TokenIssuer


class GatewayState(TypedDict):
    """Lifespan state; Starlette copies it into each request's ``request.state``.
    ``token_verifier`` is the name ``customs_shared.auth.current_principal`` reads."""

    settings: GatewaySettings
    keys: KeyRing
    clients: ClientRegistry
    token_issuer: TokenIssuer
    token_verifier: TokenVerifier
    token_limits: TokenLimits
    api_limiter: RateLimiter
    http: httpx.AsyncClient
    upstreams: dict[str, str]


def _keys(request: Request) -> KeyRing:
    keys: KeyRing = request.state.keys
    return keys


def _clients(request: Request) -> ClientRegistry:
    clients: ClientRegistry = request.state.clients
    return clients


def _token_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.state.token_issuer
    return issuer


def _token_limits(request: Request) -> TokenLimits:
    limits: TokenLimits = request.state.token_limits
    return limits


def _api_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.state.api_limiter
    return limiter


def _http(request: Request) -> httpx.AsyncClient:
    http: httpx.AsyncClient = request.state.http
    return http


def _upstreams(request: Request) -> dict[str, str]:
    upstreams: dict[str, str] = request.state.upstreams
    return upstreams


Keys = Annotated[KeyRing, Depends(_keys)]
Clients = Annotated[ClientRegistry, Depends(_clients)]
Issuer = Annotated[TokenIssuer, Depends(_token_issuer)]
TokenEndpointLimits = Annotated[TokenLimits, Depends(_token_limits)]
ApiLimiter = Annotated[RateLimiter, Depends(_api_limiter)]
HttpClient = Annotated[httpx.AsyncClient, Depends(_http)]
Upstreams = Annotated[dict[str, str], Depends(_upstreams)]
