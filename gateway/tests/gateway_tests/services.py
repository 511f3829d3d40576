"""Every domain service's real app (its ``create_app``: middleware, problem handlers,
routers), in-process, verifying tokens as each service does: a ``TokenVerifier`` over a
``JwksCache`` that fetches the JWKS of a running gateway app over HTTP.

No database is behind them: the sessions point at a closed port, so a request that
reaches the database before its caller is authorized answers 500 and the tests that use
this fail. Authentication and authorization are decided before any query."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.types import Receive, Scope, Send

from customs_shared.auth import (
    JwksCache,
    Policy,
    Role,
    TokenVerifier,
    current_principal,
    policy_of,
)
from customs_shared.db import create_engine
from customs_shared.services import DOMAIN_SERVICES, ServiceSpec
from customs_shared.settings import ServiceSettings
from gateway_tests.support import Gateway

# Nothing listens here (the discard port): a query fails at once.
_NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:9/nothing"


@dataclass
class ServiceUnderTest:
    spec: ServiceSpec
    app: FastAPI
    client: httpx.AsyncClient


def service_settings(spec: ServiceSpec, **overrides: Any) -> ServiceSettings:
    """The service's own settings class with its defaults (the local environment)."""
    module = importlib.import_module(f"{spec.package}.settings")
    for value in vars(module).values():
        if (
            inspect.isclass(value)
            and issubclass(value, ServiceSettings)
            and vars(value).get("spec") is spec
        ):
            settings: ServiceSettings = value(database_url=_NO_DATABASE, **overrides)
            return settings
    raise LookupError(f"{spec.package}.settings has no settings class for {spec.name}")


def service_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    main = importlib.import_module(f"{spec.package}.main")
    app: FastAPI = main.create_app(settings or service_settings(spec))
    return app


@contextlib.asynccontextmanager
async def domain_services(
    gateway: Gateway, **overrides: Any
) -> AsyncIterator[list[ServiceUnderTest]]:
    """Each domain service's app, with a client on its public port; ``overrides`` are
    settings (without the prefix) given to every service that has them."""
    transport = httpx.ASGITransport(app=gateway.app)
    async with contextlib.AsyncExitStack() as stack:
        jwks_http = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        )
        engine = create_engine(_NO_DATABASE)
        stack.push_async_callback(engine.dispose)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        running = []
        for spec in DOMAIN_SERVICES:
            settings = service_settings(spec)
            own = {k: v for k, v in overrides.items() if k in type(settings).model_fields}
            settings = service_settings(spec, **own)
            app = service_app(spec, settings)
            verifier = TokenVerifier(
                JwksCache("http://gateway.test/.well-known/jwks.json", jwks_http, 300),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                algorithms=settings.jwt_algorithms,
            )
            state: dict[str, Any] = {
                "token_verifier": verifier,
                "sessions": sessions,
                "runtime": SimpleNamespace(settings=settings, sessions=sessions, http=jwks_http),
            }
            served = _with_state(app, state)
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=served, raise_app_exceptions=False),
                    base_url=f"http://{spec.name}.test:{settings.port}",
                )
            )
            running.append(ServiceUnderTest(spec, app, client))
        yield running


def _with_state(app: FastAPI, state: dict[str, Any]) -> Any:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return wrapped


@dataclass(frozen=True)
class Endpoint:
    """One operation an app serves, as routed (prefixes of included routers applied)."""

    path: str
    methods: frozenset[str]
    dependant: Dependant
    include_in_schema: bool


def api_routes(app: FastAPI) -> list[Endpoint]:
    """Every API route ``app`` serves (not its docs pages), routers flattened."""
    return [
        Endpoint(
            context.path,
            frozenset(context.methods or ()),
            context.dependant,
            bool(context.include_in_schema),
        )
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path is not None
    ]


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def route_policies(route: Endpoint) -> list[Policy]:
    """The policies (``customs_shared.auth.allow``) a route's dependencies declare."""
    return [
        policy
        for sub in _dependencies(route.dependant)
        if sub.call is not None and (policy := policy_of(sub.call)) is not None
    ]


def authenticates(route: Endpoint) -> bool:
    """True if the route needs a bearer token (``current_principal``) at all."""
    return any(sub.call is current_principal for sub in _dependencies(route.dependant))


def role_token(gateway: Gateway, role: Role, scope: str, *, subject: str) -> str:
    """A token the gateway's own key signs for ``role`` with ``scope``, as the token
    endpoint would issue it: what the services must accept or refuse on role and scope."""
    now = int(time.time())
    claims = {
        "iss": gateway.settings.jwt_issuer,
        "aud": gateway.settings.jwt_audience,
        "sub": subject,
        "tenant": "0312345673",
        "roles": [role.value],
        "scope": scope,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    keys = gateway.state["keys"]
    return jwt.encode(claims, keys.signing_key, algorithm="EdDSA", headers={"kid": keys.kid})
