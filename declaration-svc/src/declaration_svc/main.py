from __future__ import annotations

import functools
from datetime import timedelta

from fastapi import FastAPI

from customs_shared.app import create_service_app
from customs_shared.background import periodic
from declaration_svc.declarations.api import router
from declaration_svc.declarations.consumer import SUBSCRIPTIONS
from declaration_svc.declarations.service import purge_idempotency_keys
from declaration_svc.documents.api import router as documents_router
from declaration_svc.rates.api import router as rates_router
from declaration_svc.settings import DeclarationSettings


def create_app(settings: DeclarationSettings | None = None) -> FastAPI:
    settings = settings or DeclarationSettings()
    return create_service_app(
        settings=settings,
        title="Declaration service",
        # Rates first: their fixed path segment must win over a declaration id.
        routers=[rates_router, router, documents_router],
        migrations="declaration_svc:migrations",
        subscriptions=SUBSCRIPTIONS,
        background=[
            periodic(
                "idempotency-key-purge",
                functools.partial(
                    purge_idempotency_keys,
                    older_than=timedelta(hours=settings.idempotency_key_retention_hours),
                ),
                interval_seconds=settings.idempotency_purge_interval_seconds,
            )
        ],
    )
