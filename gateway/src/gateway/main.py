"""The gateway application: ``create_app`` builds it, the lifespan owns its resources."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from customs_shared import tracing
from customs_shared.app import install_common
from customs_shared.auth import TokenVerifier
from customs_shared.db import create_engine, run_migrations
from customs_shared.health import ReadinessCheck
from customs_shared.keys import ALGORITHM, KeyRing, LocalKeySource, load_key_ring
from customs_shared.logs import configure_logging
from customs_shared.revocation import RevocationList, RevocationListener
from customs_shared.server import KEEP_ALIVE_SECONDS, freeze_heap
from customs_shared.services import GATEWAY
from gateway import api_document, metadata, oauth, proxy, revocations_api
from gateway.breaker import Breakers
from gateway.client_admin import service as client_admin
from gateway.client_admin.api import router as clients_router
from gateway.client_admin.sync import ClientSync
from gateway.clients import ClientRegistry, OAuthClient, read_clients_file
from gateway.partner_events import api as partner_events_api
from gateway.partner_events.reports import RoutingReports
from gateway.publisher import KafkaPublisher
from gateway.ratelimit import RateLimiter, open_storage
from gateway.revocation_expiry import RevocationExpiry
from gateway.settings import GatewaySettings
from gateway.slots import BoundedSlots
from gateway.state import GatewayState
from gateway.token_limits import TokenLimits
from gateway.tokens import TokenIssuer

log = logging.getLogger(__name__)

UPSTREAM_KEEPALIVE_SECONDS = KEEP_ALIVE_SECONDS - 1.0


def upstream_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    """The one pooled client for every forwarded request. aiohttp's pool hands out an idle
    connection of the host in constant time (httpx's scanned every pooled connection, a
    readiness check each, on every request: the largest item of the gateway's profile)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=settings.upstream_max_connections,
            # Below the services' keep-alive: never reuse one they are closing.
            keepalive_timeout=UPSTREAM_KEEPALIVE_SECONDS,
        ),
        timeout=aiohttp.ClientTimeout(
            total=None,  # a streamed body may take long; each read is bounded instead
            connect=min(
                settings.upstream_connect_timeout_seconds, settings.upstream_timeout_seconds
            ),
            sock_read=settings.upstream_timeout_seconds,
        ),
        auto_decompress=False,  # bodies pass through as the service encoded them
        trust_env=False,  # no HTTP(S)_PROXY detours between the gateway and the services
        cookie_jar=aiohttp.DummyCookieJar(),  # one client for every caller: keep no cookies
        skip_auto_headers=("User-Agent",),
        trace_configs=tracing.aiohttp_trace_configs(),
    )


def seed_clients(path: Path) -> list[OAuthClient]:
    """The clients file's clients, to add to the database where missing; none when the
    deployment keeps no file (clients then live in the database only)."""
    if not path.exists():
        log.info("no clients file to seed from", extra={"path": str(path)})
        return []
    return read_clients_file(path)


def verification_slots(settings: GatewaySettings) -> BoundedSlots:
    """Slots for secret checks: argon2id is CPU- and memory-bound, so about one per core."""
    return BoundedSlots(
        settings.token_verification_slots or os.cpu_count() or 2,
        max_waiting=settings.token_verification_max_waiting,
        max_wait_seconds=settings.token_verification_max_wait_seconds,
    )


class _LoadedForReadiness:
    """What readiness reports on; filled by the lifespan, emptied at shutdown."""

    keys: KeyRing | None = None
    clients: ClientRegistry | None = None
    revocations: RevocationListener | None = None
    reports: RoutingReports | None = None


def _readiness_checks(
    loaded: _LoadedForReadiness, settings: GatewaySettings
) -> dict[str, ReadinessCheck]:
    async def keys() -> None:
        if loaded.keys is None:
            raise RuntimeError("signing key not loaded")

    async def clients() -> None:
        if loaded.clients is None or len(loaded.clients) == 0:
            raise RuntimeError("no oauth clients loaded")

    async def revocations() -> None:
        if loaded.revocations is None:
            raise RuntimeError("token revocations not read")
        await loaded.revocations.check_caught_up()

    async def consumer() -> None:
        if loaded.reports is None:
            raise RuntimeError("routing reports not started")
        await loaded.reports.check_progress(settings.consumer_stall_seconds)

    return {"keys": keys, "clients": clients, "revocations": revocations, "consumer": consumer}


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    loaded = _LoadedForReadiness()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[GatewayState]:
        configure_logging(settings.service_name, settings.log_level)
        password = settings.signing_key_password
        keys = load_key_ring(
            settings.signing_key_file,
            generate=settings.generate_signing_key,
            password=password.get_secret_value().encode() if password else None,
            previous_public_keys_dir=settings.previous_public_keys_dir,
        )
        pepper = settings.secret_pepper
        # Filled from the database below; the file only seeds it.
        clients = ClientRegistry(
            [],
            slots=verification_slots(settings),
            pepper=pepper.get_secret_value().encode() if pepper else None,
        )
        seed = seed_clients(settings.clients_file)
        revocations = RevocationList()
        listener = RevocationListener(
            settings.kafka_bootstrap,
            revocations,
            client_id=f"{settings.service_name}-revocations",
            stall_seconds=settings.consumer_stall_seconds,
        )
        verifier = TokenVerifier(
            LocalKeySource(keys),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=[ALGORITHM],
            revocations=revocations,
        )
        limits_storage = open_storage(settings.rate_limit_storage_uri)
        engine = create_engine(
            settings.database_url.get_secret_value(), pool_size=settings.database_pool_size
        )
        await run_migrations(engine, GATEWAY.migrations)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        if seed:
            async with sessions() as session, session.begin():
                added = await client_admin.seed(session, seed)
            log.info("oauth clients seeded from the clients file", extra={"added": added})
        client_sync = ClientSync(
            sessions, clients, interval_seconds=settings.clients_refresh_seconds
        )
        await client_sync.refresh()
        publisher = KafkaPublisher(
            settings.kafka_bootstrap,
            settings.service_name,
            timeout_seconds=settings.partner_publish_timeout_seconds,
        )
        listener.start()
        client_sync.start()
        expiry = RevocationExpiry(
            revocations,
            publisher,
            token_ttl=timedelta(seconds=settings.token_ttl_seconds),
            interval_seconds=settings.revocation_expiry_interval_seconds,
        )
        expiry.start()
        reports = RoutingReports(settings.kafka_bootstrap, sessions, group_id=settings.service_name)
        reports.start()
        async with upstream_client(settings) as http:
            loaded.keys, loaded.clients, loaded.revocations = keys, clients, listener
            loaded.reports = reports
            freeze_heap()
            try:
                yield GatewayState(
                    settings=settings,
                    keys=keys,
                    clients=clients,
                    token_issuer=TokenIssuer(
                        keys,
                        issuer=settings.jwt_issuer,
                        audience=settings.jwt_audience,
                        ttl_seconds=settings.token_ttl_seconds,
                    ),
                    token_verifier=verifier,
                    token_limits=TokenLimits.from_settings(settings, limits_storage),
                    api_limiter=RateLimiter(
                        settings.rate_limit_per_minute, limits_storage, namespace="api"
                    ),
                    http=http,
                    upstreams=settings.upstreams,
                    sessions=sessions,
                    publisher=publisher,
                    breakers=Breakers(
                        list(settings.upstreams),
                        failures=settings.upstream_breaker_failures,
                        open_seconds=settings.upstream_breaker_open_seconds,
                    ),
                )
            finally:
                loaded.keys = loaded.clients = loaded.revocations = None
                loaded.reports = None
                await reports.stop()
                await expiry.stop()
                await client_sync.stop()
                await publisher.close()
                await listener.stop()
                await engine.dispose()

    tracing.configure(settings.service_name)
    app = FastAPI(
        title="Customs gateway",
        version="0.1.0",
        description="OAuth2 client-credentials tokens, JWKS, and the entry to every service.",
        lifespan=lifespan,
    )
    tracing.instrument_app(app)
    install_common(app, settings, _readiness_checks(loaded, settings))
    app.include_router(oauth.router)
    app.include_router(metadata.router)
    app.include_router(partner_events_api.router)
    app.include_router(revocations_api.router)
    app.include_router(clients_router)
    app.include_router(proxy.proxy_router(settings.upstreams))
    api_document.install(app)
    return app
