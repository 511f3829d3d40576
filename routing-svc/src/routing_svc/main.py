from __future__ import annotations

from fastapi import FastAPI

from customs_shared.app import create_service_app
from customs_shared.background import periodic
from routing_svc.audit.api import router as audit_router
from routing_svc.intelligence import consumer as intelligence
from routing_svc.intelligence.service import IntelligencePolicy, open_alert_windows
from routing_svc.lanes import consumer as lanes
from routing_svc.lanes import dependencies
from routing_svc.lanes.api import router as lanes_router
from routing_svc.lanes.service import LanePolicy
from routing_svc.lanes.sweeper import overdue_sweeper
from routing_svc.officers.api import router as officers_router
from routing_svc.risk.api import router as risk_router
from routing_svc.rules.api import router as rules_router
from routing_svc.settings import RoutingSettings
from routing_svc.statistics.api import router as statistics_router

ROUTERS = (
    lanes_router,
    rules_router,
    risk_router,
    audit_router,
    officers_router,
    statistics_router,
)


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    policy = LanePolicy.from_settings(settings)
    intelligence_policy = IntelligencePolicy.from_settings(settings, policy)
    app = create_service_app(
        settings=settings,
        title="Routing service",
        routers=ROUTERS,
        migrations="routing_svc:migrations",
        subscriptions=(
            *lanes.subscriptions(policy),
            *intelligence.subscriptions(intelligence_policy),
        ),
        background=[
            overdue_sweeper(policy, interval_seconds=settings.sweep_interval_seconds),
            periodic(
                "alert-window-sweeper",
                lambda session, _runtime: open_alert_windows(session, policy=intelligence_policy),
                interval_seconds=settings.intelligence_sweep_interval_seconds,
            ),
        ],
    )
    dependencies.install(app, policy, settings.cursor_codec())
    return app
