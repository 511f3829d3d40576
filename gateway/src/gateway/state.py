"""What the lifespan builds, and typed dependencies that read it from ``request.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

import aiohttp
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import AuthState
from customs_shared.keys import KeyRing
from gateway.breaker import Breakers
from gateway.clients import ClientRegistry
from gateway.publisher import KafkaPublisher
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from gateway.token_limits import TokenLimits
from gateway.tokens import TokenIssuer


class GatewayState(AuthState):
    """Lifespan state; Starlette copies it into each request's state. ``token_verifier``
    (from ``AuthState``) is what ``customs_shared.auth.current_principal`` reads."""

    settings: GatewaySettings
    keys: KeyRing
    clients: ClientRegistry
    token_issuer: TokenIssuer
    token_limits: TokenLimits
    api_limiter: RateLimiter
    http: aiohttp.ClientSession
    upstreams: dict[str, str]
    sessions: async_sessionmaker[AsyncSession]
    publisher: KafkaPublisher
    breakers: Breakers


def _state(request: Request) -> GatewayState:
    return cast(GatewayState, request.scope["state"])


async def _settings(request: Request) -> GatewaySettings:
    return _state(request)["settings"]


async def _keys(request: Request) -> KeyRing:
    return _state(request)["keys"]


async def _clients(request: Request) -> ClientRegistry:
    return _state(request)["clients"]


async def _token_issuer(request: Request) -> TokenIssuer:
    return _state(request)["token_issuer"]


async def _token_limits(request: Request) -> TokenLimits:
    return _state(request)["token_limits"]


async def _api_limiter(request: Request) -> RateLimiter:
    return _state(request)["api_limiter"]


@dataclass(frozen=True, slots=True)
class ProxyTools:
    """What every proxied call uses, as one dependency: FastAPI solves each dependency of
    a request apart, about 11 µs apiece here, and these five come with every call."""

    limiter: RateLimiter
    clients: ClientRegistry
    http: aiohttp.ClientSession
    upstreams: dict[str, str]
    breakers: Breakers


async def _proxy_tools(request: Request) -> ProxyTools:
    state = _state(request)
    return ProxyTools(
        state["api_limiter"],
        state["clients"],
        state["http"],
        state["upstreams"],
        state["breakers"],
    )


async def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return _state(request)["sessions"]


async def _publisher(request: Request) -> KafkaPublisher:
    return _state(request)["publisher"]


Settings = Annotated[GatewaySettings, Depends(_settings)]
Keys = Annotated[KeyRing, Depends(_keys)]
Clients = Annotated[ClientRegistry, Depends(_clients)]
Issuer = Annotated[TokenIssuer, Depends(_token_issuer)]
TokenEndpointLimits = Annotated[TokenLimits, Depends(_token_limits)]
ApiLimiter = Annotated[RateLimiter, Depends(_api_limiter)]
Proxying = Annotated[ProxyTools, Depends(_proxy_tools)]
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
Publisher = Annotated[KafkaPublisher, Depends(_publisher)]
