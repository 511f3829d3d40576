from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from customs_shared.app import service_runtime
from customs_shared.auth import RISK_MANAGERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from routing_svc.rules import service
from routing_svc.rules.active import version_label
from routing_svc.rules.definitions import RuleSetDefinition
from routing_svc.rules.errors import (
    ActivationInProgress,
    DryRunTooLarge,
    RuleRefused,
    RuleSetNotFound,
)
from routing_svc.rules.models import RuleSet
from routing_svc.rules.schemas import (
    ActiveRuleSetOut,
    DryRunIn,
    DryRunOut,
    RuleSetOut,
    RuleSetPage,
    RuleSetSummary,
)
from routing_svc.settings import RoutingSettings

router = APIRouter(prefix="/api/v1/routing", tags=["routing rules"])

RiskManager = Annotated[Principal, allow(Scope.ROUTING_RULES, RISK_MANAGERS)]
# The column is a 32-bit integer: a larger number is no version, not a database error.
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
BASIC = problem_responses(Unauthorized, Forbidden)


def _settings(request: Request) -> RoutingSettings:
    settings: RoutingSettings = service_runtime(request).settings
    return settings


def _summary(row: RuleSet) -> RuleSetSummary:
    return RuleSetSummary.model_validate({**_columns(row), "label": version_label(row.version)})


def _out(row: RuleSet) -> RuleSetOut:
    return RuleSetOut.model_validate(
        {**_columns(row), "label": version_label(row.version), "definition": row.definition}
    )


def _columns(row: RuleSet) -> dict[str, object]:
    return {
        "version": row.version,
        "status": row.status,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "activated_by": row.activated_by,
        "activated_at": row.activated_at,
    }


@router.post(
    "/rule-sets",
    response_model=RuleSetOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Unauthorized, Forbidden, RuleRefused),
    summary="Store a new rule set as a draft, once every rule compiles.",
)
async def create_rule_set(
    body: RuleSetDefinition, response: Response, principal: RiskManager, session: DbSession
) -> RuleSetOut:
    row = await service.create(session, principal, body)
    response.headers["Location"] = f"{router.prefix}/rule-sets/{row.version}"
    return _out(row)


@router.get(
    "/rule-sets",
    response_model=RuleSetPage,
    responses=BASIC,
    summary="The stored rule sets, newest first.",
)
async def list_rule_sets(
    principal: RiskManager,
    session: DbSession,
    before: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="next_before of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RuleSetPage:
    rows = await service.page(session, before=before, limit=limit)
    return RuleSetPage(
        items=[_summary(r) for r in rows],
        next_before=rows[-1].version if len(rows) == limit else None,
    )


@router.get(
    "/rule-sets/active",
    response_model=ActiveRuleSetOut,
    responses=BASIC,
    summary="The rule set decisions use now (the built-in one until a version is activated).",
)
async def get_active_rule_set(principal: RiskManager, session: DbSession) -> ActiveRuleSetOut:
    found = await service.in_force(session)
    return ActiveRuleSetOut(
        label=found.label,
        version=found.row.version if found.row else None,
        activated_by=found.row.activated_by if found.row else None,
        activated_at=found.row.activated_at if found.row else None,
        definition=found.definition,
    )


@router.get(
    "/rule-sets/{version}",
    response_model=RuleSetOut,
    responses=problem_responses(Unauthorized, Forbidden, RuleSetNotFound),
    summary="One version of the rules: its definition, status, and who made and activated it.",
)
async def get_rule_set(version: Version, principal: RiskManager, session: DbSession) -> RuleSetOut:
    return _out(await service.get(session, version))


@router.post(
    "/rule-sets/{version}/activation",
    response_model=RuleSetOut,
    responses=problem_responses(
        Unauthorized, Forbidden, RuleSetNotFound, RuleRefused, ActivationInProgress
    ),
    summary="Make a version the active rule set (also a retired one: a rollback).",
)
async def activate_rule_set(
    version: Version, principal: RiskManager, session: DbSession
) -> RuleSetOut:
    return _out(await service.activate(session, principal, version))


@router.post(
    "/rule-sets/{version}/dry-run",
    response_model=DryRunOut,
    responses=problem_responses(Unauthorized, Forbidden, RuleSetNotFound, DryRunTooLarge),
    summary="How lanes of the most recent declarations would change under a version.",
)
async def dry_run_rule_set(
    version: Version, body: DryRunIn, request: Request, principal: RiskManager, session: DbSession
) -> DryRunOut:
    settings = _settings(request)
    return await service.dry_run(
        session,
        version,
        declarations=body.declarations,
        limit=settings.dry_run_max_declarations,
        seed=settings.random_selection_seed.get_secret_value().encode(),
    )
