from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import Runtime, create_service_app
from customs_shared.background import periodic
from customs_shared.notifications.delivery import webhook_delivery
from declaration_svc.declarations import idempotency
from declaration_svc.declarations.api import router
from declaration_svc.declarations.consumer import SUBSCRIPTIONS
from declaration_svc.documents.api import router as documents_router
from declaration_svc.documents.storage import DirectoryStore, S3Store, sweep_orphans
from declaration_svc.rates.api import router as rates_router
from declaration_svc.receipts.api import router as receipts_router
from declaration_svc.settings import DeclarationSettings
from declaration_svc.webhooks.api import router as webhooks_router


async def purge_keys(session: AsyncSession, runtime: Runtime[DeclarationSettings]) -> int:
    retention = timedelta(hours=runtime.settings.idempotency_key_retention_hours)
    return await idempotency.purge(session, older_than=retention)


async def sweep_documents(session: AsyncSession, runtime: Runtime[DeclarationSettings]) -> int:
    store = runtime.settings.document_store()
    if not isinstance(store, S3Store | DirectoryStore):
        return 0
    grace = timedelta(seconds=runtime.settings.document_orphan_grace_seconds)
    return await sweep_orphans(session, store, grace)


def document_client(runtime: Runtime[DeclarationSettings]) -> AbstractAsyncContextManager[None]:
    """The S3 store's one client, for the process's lifetime; the other stores hold none."""
    store = runtime.settings.document_store()
    return store.connected() if isinstance(store, S3Store) else contextlib.nullcontext()


def receipt_signing_keys(
    runtime: Runtime[DeclarationSettings],
) -> AbstractAsyncContextManager[None]:
    """Loads the receipt key at start (created first where allowed): a process without it
    fails to start, where it would otherwise answer every submission with a 500."""
    runtime.settings.receipt_keys()
    return contextlib.nullcontext()


def create_app(settings: DeclarationSettings | None = None) -> FastAPI:
    settings = settings or DeclarationSettings()
    sweeps = (
        [
            periodic(
                "document-orphan-sweep",
                sweep_documents,
                interval_seconds=settings.document_orphan_sweep_interval_seconds,
            )
        ]
        if settings.document_storage != "database"
        else []
    )
    return create_service_app(
        settings=settings,
        title="Declaration service",
        # Fixed path segments (rates, webhooks, notifications) before a declaration id.
        routers=[rates_router, webhooks_router, receipts_router, router, documents_router],
        migrations="declaration_svc:migrations",
        subscriptions=SUBSCRIPTIONS,
        resources=[receipt_signing_keys, document_client],
        background=[
            periodic(
                "idempotency-key-purge",
                purge_keys,
                interval_seconds=settings.idempotency_purge_interval_seconds,
            ),
            webhook_delivery(settings),
            *sweeps,
        ],
    )
