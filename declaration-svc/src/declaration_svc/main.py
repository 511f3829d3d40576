from __future__ import annotations

from fastapi import FastAPI

from customs_shared.app import create_service_app
from declaration_svc.declarations.api import router
from declaration_svc.declarations.consumer import SUBSCRIPTIONS
from declaration_svc.rates.api import router as rates_router
from declaration_svc.settings import DeclarationSettings


def create_app(settings: DeclarationSettings | None = None) -> FastAPI:
    settings = settings or DeclarationSettings()
    return create_service_app(
        settings=settings,
        title="Declaration service",
        # Rates first: their fixed path segment must win over a declaration id.
        routers=[rates_router, router],
        migrations="declaration_svc:migrations",
        subscriptions=SUBSCRIPTIONS,
    )
