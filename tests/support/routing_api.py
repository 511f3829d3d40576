"""Routing's API in-process on a migrated database, and its event handlers beside it:
a test changes what routing decides with through the API, then routes a declaration
through the same handlers the consumer binds and reads the lane it got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role, Scope
from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprOutcome,
    IprScreened,
    SignatureChecked,
    SignatureStatus,
)
from routing_svc.lanes import service
from routing_svc.lanes.models import LaneDecision
from routing_svc.lanes.service import LanePolicy
from routing_svc.main import create_app
from routing_svc.rules.active import ActiveRuleSet
from routing_svc.settings import RoutingSettings
from tests.support import inprocess
from tests.support.factories import principal

SEED = "routing in-process test seed, 32+ characters long"
CUSTOMS = "customs-hq"


@dataclass
class RoutingApi:
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    tokens: inprocess.Tokens
    policy: LanePolicy

    def as_risk_manager(self, subject: str = "risk-manager-1") -> dict[str, str]:
        return self.tokens.headers(
            principal(
                Role.RISK_MANAGER, CUSTOMS, Scope.ROUTING_READ, Scope.ROUTING_RULES, subject=subject
            )
        )

    def as_role(self, role: Role, tenant: str, *scopes: str) -> dict[str, str]:
        return self.tokens.headers(principal(role, tenant, *scopes))

    async def route(
        self,
        facts: DeclarationSubmitted,
        signature: SignatureStatus = SignatureStatus.VALID,
    ) -> LaneDecision:
        """Routes ``facts`` with both screenings in (IPR clear) and returns its decision."""
        checked = SignatureChecked(
            declaration_id=facts.declaration_id,
            version=facts.version,
            tenant=facts.tenant,
            status=signature,
            detail="test",
        )
        screened = IprScreened(
            declaration_id=facts.declaration_id,
            version=facts.version,
            tenant=facts.tenant,
            outcome=IprOutcome.CLEAR,
            records_checked=1,
        )
        async with self.sessions() as session, session.begin():
            await service.on_submitted(session, facts, policy=self.policy)
            await service.on_signature(session, checked, policy=self.policy)
            await service.on_ipr(session, screened, policy=self.policy)
        async with self.sessions() as session:
            statement = select(LaneDecision).where(
                LaneDecision.declaration_id == facts.declaration_id
            )
            return (await session.scalars(statement)).one()


def routing_api(sessions: async_sessionmaker[AsyncSession]) -> RoutingApi:
    settings = RoutingSettings(random_selection_seed=SecretStr(SEED))
    tokens = inprocess.Tokens()
    http = inprocess.client(create_app(settings), sessions, tokens, settings)
    policy = LanePolicy(ActiveRuleSet(), timedelta(seconds=30), False, SEED.encode())
    return RoutingApi(http, sessions, tokens, policy)
