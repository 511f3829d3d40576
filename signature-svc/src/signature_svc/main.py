from __future__ import annotations

from fastapi import FastAPI

from customs_shared.app import create_service_app
from signature_svc.checks.api import router
from signature_svc.checks.consumer import SUBSCRIPTIONS
from signature_svc.settings import SignatureSettings


def create_app(settings: SignatureSettings | None = None) -> FastAPI:
    settings = settings or SignatureSettings()
    return create_service_app(
        settings=settings,
        title="Signature service",
        routers=[router],
        migrations="signature_svc:migrations",
        subscriptions=SUBSCRIPTIONS,
    )
