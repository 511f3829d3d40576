from __future__ import annotations

from fastapi import FastAPI

from customs_shared.app import create_service_app
from signature_svc.certificates.api import router as certificates_router
from signature_svc.checks.api import router as checks_router
from signature_svc.checks.consumer import subscriptions
from signature_svc.crls.api import router as crls_router
from signature_svc.reports.api import router as reports_router
from signature_svc.settings import SignatureSettings
from signature_svc.trust_runtime import TrustRuntime, crl_watcher


def create_app(settings: SignatureSettings | None = None) -> FastAPI:
    settings = settings or SignatureSettings()
    trust = TrustRuntime(settings)
    app = create_service_app(
        settings=settings,
        title="Signature service",
        routers=[checks_router, reports_router, certificates_router, crls_router],
        migrations="signature_svc:migrations",
        subscriptions=subscriptions(trust),
        background=[crl_watcher(trust)],
    )
    app.state.trust = trust
    return app
