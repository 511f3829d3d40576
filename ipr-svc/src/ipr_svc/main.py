from __future__ import annotations

from fastapi import FastAPI

from customs_shared.app import create_service_app
from customs_shared.background import periodic
from customs_shared.notifications.delivery import webhook_delivery
from ipr_svc.applications.api import router as applications_router
from ipr_svc.applications.review import expire_records
from ipr_svc.attachments.api import router as attachments_router
from ipr_svc.attachments.consumer import SUBSCRIPTIONS as ATTACHMENT_SUBSCRIPTIONS
from ipr_svc.holders.api import router as holders_router
from ipr_svc.records.api import router as records_router
from ipr_svc.screening.api import router
from ipr_svc.screening.consumer import SUBSCRIPTIONS
from ipr_svc.screening.replica import ACTIVE, records_feed
from ipr_svc.settings import IprSettings
from ipr_svc.suspension.api import router as suspensions_router
from ipr_svc.suspension.service import release_lapsed


def create_app(settings: IprSettings | None = None) -> FastAPI:
    settings = settings or IprSettings()
    return create_service_app(
        settings=settings,
        title="IPR service",
        routers=[
            router,
            records_router,
            applications_router,
            attachments_router,
            suspensions_router,
            holders_router,
        ],
        migrations="ipr_svc:migrations",
        subscriptions=(*SUBSCRIPTIONS, *ATTACHMENT_SUBSCRIPTIONS),
        background=[
            records_feed,
            webhook_delivery(settings),
            periodic(
                "ipr-record-expiry",
                expire_records,
                interval_seconds=settings.record_expiry_interval_seconds,
            ),
            periodic(
                "ipr-suspension-release",
                release_lapsed,
                interval_seconds=settings.record_expiry_interval_seconds,
            ),
        ],
        readiness={"ipr-records-index": ACTIVE.check_caught_up},
    )
