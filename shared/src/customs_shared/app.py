"""One way to assemble a service: resources built in ``lifespan``, common middleware,
problem handlers and probes. Services pass their routers, migrations and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast

import httpx
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from customs_shared import tracing
from customs_shared.auth import AuthState, JwksCache, TokenVerifier
from customs_shared.db import DbState, check_database, create_engine, run_migrations
from customs_shared.events.catalog import consumed_by
from customs_shared.health import ReadinessCheck, health_router
from customs_shared.logs import configure_logging
from customs_shared.messaging.consumer import EventConsumer, Subscription
from customs_shared.messaging.kafka import Producer, check_kafka, new_producer
from customs_shared.messaging.outbox import OutboxRelay, OutboxSignal, session_factory
from customs_shared.messaging.pruning import MessagingPruner
from customs_shared.middleware import ListenerSplitMiddleware, RequestContextMiddleware
from customs_shared.problems import install_problem_handlers
from customs_shared.revocation import RevocationList, RevocationListener
from customs_shared.security_headers import SecurityHeadersMiddleware
from customs_shared.server import freeze_heap
from customs_shared.settings import Role, ServerSettings, ServiceSettings

log = logging.getLogger(__name__)

_KAFKA_START_ATTEMPTS = 30


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass
class Runtime(Generic[SettingsT]):
    """Everything a service builds at start-up and closes at shutdown; typed by the
    service's own settings class."""

    settings: SettingsT
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: Producer
    relay: OutboxRelay
    http: httpx.AsyncClient
    token_verifier: TokenVerifier
    consumer: EventConsumer | None = field(default=None)


class ServiceState(AuthState, DbState):
    """The lifespan state of a service; Starlette copies it into each request's state."""

    runtime: Runtime[Any]


def service_runtime(request: Request) -> Runtime[Any]:
    """The runtime of the service serving ``request`` (for endpoints that need more
    than a session and the caller)."""
    return cast(ServiceState, request.scope["state"])["runtime"]


BackgroundFactory = Callable[[Runtime[SettingsT]], contextlib.AbstractAsyncContextManager[None]]


def install_common(
    app: FastAPI, settings: ServerSettings, checks: dict[str, ReadinessCheck]
) -> None:
    """Middleware (outermost last), problem handlers and probes. Probes, metrics and the
    API docs are served on the internal listener only (docs also on the public one if
    ``public_api_docs``); see ``customs_shared.server.serve``."""
    docs_paths = [
        path
        for path in (
            app.openapi_url,
            app.docs_url,
            app.redoc_url,
            app.swagger_ui_oauth2_redirect_url,
        )
        if path
    ]
    app.add_middleware(
        ListenerSplitMiddleware,
        internal_port=settings.internal_port,
        docs_paths=docs_paths,
        public_docs=settings.public_api_docs,
    )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_body_bytes_by_path=settings.max_body_bytes_by_path,
        body_read_timeout=settings.body_read_timeout_seconds,
        body_total_timeout=settings.body_total_timeout_seconds,
    )
    # Outermost: problems, refusals and probes get the headers too. HSTS only where TLS
    # ends in front (not the local plain-HTTP run).
    hsts = settings.environment != "local"
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts)
    app.state.hsts = hsts  # for the 500 answer, given outside every middleware
    install_problem_handlers(app)
    app.include_router(health_router(checks))


async def start_producer(settings: ServiceSettings) -> Producer:
    """Starts the producer, waiting for the broker for a while: pods may start first."""
    for attempt in range(1, _KAFKA_START_ATTEMPTS + 1):
        producer = new_producer(
            settings.kafka_bootstrap, settings.kafka_client_id or settings.service_name
        )
        try:
            await producer.start()
            return producer
        except KafkaConnectionError:
            await producer.stop()
            if attempt == _KAFKA_START_ATTEMPTS:
                raise
            log.warning("kafka not reachable yet", extra={"attempt": attempt})
            await asyncio.sleep(min(2.0, 0.2 * attempt))
    raise AssertionError("unreachable")


def create_service_app(
    *,
    settings: SettingsT,
    title: str,
    routers: Sequence[APIRouter],
    migrations: str,
    subscriptions: Sequence[Subscription[Any]] = (),
    resources: Sequence[BackgroundFactory[SettingsT]] = (),
    background: Sequence[BackgroundFactory[SettingsT]] = (),
    readiness: Mapping[str, ReadinessCheck] | None = None,
) -> FastAPI:
    """The service's app. Its lifespan builds the resources in order and closes them in
    the reverse order; a failure half-way through start closes what was built.
    ``resources``: what the service itself opens for its endpoints and tasks alike (a
    store's client), in every role; open before the consumer and the background tasks
    start, closed after they stop. ``readiness``: the service's own checks of what its
    background tasks keep, added to /readyz of the processes that run them (not of an
    API-only one)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[ServiceState]:
        configure_logging(settings.service_name, settings.log_level)
        async with contextlib.AsyncExitStack() as stack:
            engine = create_engine(
                settings.database_url.get_secret_value(), pool_size=settings.database_pool_size
            )
            stack.push_async_callback(engine.dispose)
            tracing.instrument_engine(engine)
            await run_migrations(engine, migrations)
            signal = OutboxSignal()
            sessions = session_factory(engine, signal)
            producer = await start_producer(settings)
            stack.push_async_callback(producer.stop)
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(5.0)))
            tracing.instrument_httpx(http)
            revocations = RevocationList()
            listener = RevocationListener(
                settings.kafka_bootstrap,
                revocations,
                client_id=f"{settings.service_name}-revocations",
                stall_seconds=settings.consumer_stall_seconds,
            )
            listener.start()
            stack.push_async_callback(listener.stop)
            verifier = TokenVerifier(
                JwksCache(settings.jwks_url, http, settings.jwks_cache_seconds),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                algorithms=settings.jwt_algorithms,
                revocations=revocations,
            )
            relay = OutboxRelay(
                engine,
                producer,
                signal,
                poll_seconds=settings.outbox_poll_seconds,
                batch_size=settings.outbox_batch_size,
            )
            runtime = Runtime(settings, engine, sessions, producer, relay, http, verifier)
            for resource in resources:
                await stack.enter_async_context(resource(runtime))
            checks["revocations"] = listener.check_caught_up
            checks["database"] = lambda: check_database(engine)
            checks["kafka"] = lambda: check_kafka(producer)
            checks["outbox"] = lambda: relay.check_backlog(settings.outbox_max_pending_age_seconds)
            # Closed in reverse: the consumer stops taking records, then the relay
            # publishes what handlers wrote, then the producer and the engine close.
            relay.start()
            stack.push_async_callback(relay.stop)
            if subscriptions and consumes:
                consumer = EventConsumer(
                    group_id=settings.service_name,
                    bootstrap=settings.kafka_bootstrap,
                    sessions=sessions,
                    producer=producer,
                    subscriptions=subscriptions,
                    max_retries=settings.consumer_max_retries,
                    retry_backoff_seconds=settings.consumer_retry_backoff_seconds,
                    commit_interval_seconds=settings.consumer_commit_interval_seconds,
                    linger_seconds=settings.consumer_linger_ms / 1000,
                    fetch_min_bytes=settings.consumer_fetch_min_bytes,
                    fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
                    renew_after_seconds=settings.consumer_renew_after_seconds,
                )
                await consumer.start()
                stack.push_async_callback(consumer.stop)
                runtime.consumer = consumer
                checks["consumer"] = lambda: consumer.check_progress(
                    settings.consumer_stall_seconds
                )
            if consumes:
                pruner = MessagingPruner(
                    sessions,
                    outbox_retention=timedelta(hours=settings.outbox_retention_hours),
                    processed_retention=timedelta(days=settings.processed_event_retention_days),
                    interval_seconds=settings.messaging_prune_interval_seconds,
                )
                pruner.start()
                stack.push_async_callback(pruner.stop)
            for factory in background if consumes else ():
                await stack.enter_async_context(factory(runtime))
            if consumes:
                checks.update(readiness or {})
            log.info("service started", extra={"service": settings.service_name})
            freeze_heap()
            try:
                yield ServiceState(runtime=runtime, sessions=sessions, token_verifier=verifier)
            finally:
                log.info("service stopping")
        log.info("service stopped")

    check_subscriptions(settings.service_name, subscriptions)
    consumes = settings.role is not Role.API
    checks: dict[str, ReadinessCheck] = {}
    tracing.configure(settings.service_name)
    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    tracing.instrument_app(app)
    app.state.subscriptions = tuple(subscriptions)
    install_common(app, settings, checks)
    for router in routers if settings.role is not Role.CONSUMER else ():
        app.include_router(router)
    return app


def check_subscriptions(service: str, subscriptions: Sequence[Subscription[Any]]) -> None:
    """Refuses to build a service whose subscriptions differ from what the event catalog
    says it consumes: an event would be produced for nobody, or a consumer would wait
    for an event nobody sends it."""
    bound = [s.event_type.name for s in subscriptions]
    expected = consumed_by(service)
    if len(bound) != len(set(bound)) or set(bound) != expected:
        raise RuntimeError(
            f"{service} subscribes to {sorted(bound)}, "
            f"but the event catalog says it consumes {sorted(expected)}"
        )
