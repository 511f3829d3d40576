"""The database-inclusive part of ``make bench BENCH=routing``: lanes.service's handlers
(the declaration's facts, then its signature and IPR results, each in its own transaction as
the consumer runs them) against a throwaway PostgreSQL holding the workload's risk inputs,
alerts, certificates, officers and the 50-rule set as the active version. A decision here is
the three transactions that end in a lane, its event in the outbox and its officer."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import create_engine, run_migrations
from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprOutcome,
    IprScreened,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import OutboxSignal, session_factory
from routing_svc.intelligence.models import OriginCertificateRecord, RiskAlertRecord
from routing_svc.lanes import service
from routing_svc.lanes.models import LaneDecision
from routing_svc.lanes.service import LanePolicy
from routing_svc.officers.models import Officer
from routing_svc.risk import repository as risk
from routing_svc.risk.models import RiskInput
from routing_svc.rules.active import ActiveRuleSet, version_label
from routing_svc.rules.definitions import RuleSetDefinition
from routing_svc.rules.inputs import Evidence
from routing_svc.rules.models import RuleSet
from tests.bench_parts.routing_workload import OFFICES, country_risks, hs_risks
from tests.support import infra

CONCURRENCY = 4  # declarations in flight, as a consumer's partitions would have
WARM = 40


@dataclass
class EndToEnd:
    decisions: int
    wall: float
    cpu: float

    @property
    def per_wall_s(self) -> float:
        return self.decisions / self.wall

    @property
    def cpu_per_decision_ms(self) -> float:
        return 1e3 * self.cpu / self.decisions


async def _seed(
    sessions: async_sessionmaker[AsyncSession], workload: list[Evidence], rules: RuleSetDefinition
) -> None:
    async with sessions.begin() as session:
        traders = {e.trader.tax_code: e.trader for e in workload if e.trader is not None}
        for trader in traders.values():
            value = {
                "compliance_level": trader.compliance_level,
                "priority": trader.priority,
                "past_violations": trader.past_violations,
            }
            session.add(
                RiskInput(kind=risk.TRADER, key=trader.tax_code, value=value, updated_by="b")
            )
        for kind, entries in ((risk.COUNTRY, country_risks()), (risk.HS, hs_risks())):
            for code, entry in entries.items():
                value = {"level": entry.level, "reason": entry.reason}
                session.add(RiskInput(kind=kind, key=code, value=value, updated_by="b"))
        for (code, origin, unit), price in workload[0].reference_prices.items():
            session.add(
                RiskInput(
                    kind=risk.REFERENCE_PRICE,
                    key=risk.reference_price_key(code, origin, unit),
                    value={"unit_price_vnd": str(price)},
                    updated_by="b",
                )
            )
        for alert in workload[0].risk_alerts:
            session.add(
                RiskAlertRecord(
                    alert_id=alert.alert_id,
                    valid_from=alert.valid_from,
                    valid_until=alert.valid_until,
                    data=alert.model_dump(mode="json", by_alias=True),
                )
            )
        for evidence in workload:
            for reference, certificate in evidence.origin_certificates.items():
                data = certificate.model_dump(mode="json")
                await session.merge(OriginCertificateRecord(reference=reference, data=data))
        for office in OFFICES:
            for n in range(3):
                session.add(Officer(subject=f"officer-{office}-{n}", office=office, on_duty=True))
        now = datetime.now(UTC)
        session.add(
            RuleSet(
                definition=rules.model_dump(mode="json"),
                status="active",
                created_by="bench",
                activated_by="bench",
                activated_at=now,
            )
        )


async def _decide(
    sessions: async_sessionmaker[AsyncSession], evidence: Evidence, policy: LanePolicy
) -> None:
    facts = evidence.facts.model_copy(
        update={"declaration_id": uuid.uuid4(), "submitted_at": datetime.now(UTC)}
    )
    declaration_id, tenant = facts.declaration_id, facts.tenant
    signature = SignatureChecked(
        declaration_id=declaration_id,
        tenant=tenant,
        status=evidence.signature or SignatureStatus.VALID,
        detail="bench",
    )
    ipr = IprScreened(
        declaration_id=declaration_id,
        tenant=tenant,
        outcome=evidence.ipr or IprOutcome.CLEAR,
        records_checked=100,
        hits=list(evidence.ipr_hits),
    )
    async with sessions.begin() as session:
        await service.on_submitted(
            session, DeclarationSubmitted.model_validate(facts), policy=policy
        )
    async with sessions.begin() as session:
        await service.on_signature(session, signature, policy=policy)
    async with sessions.begin() as session:
        await service.on_ipr(session, ipr, policy=policy)


async def _run(
    sessions: async_sessionmaker[AsyncSession], workload: list[Evidence], seconds: float
) -> EndToEnd:
    policy = LanePolicy(
        ActiveRuleSet(), timedelta(seconds=30), False, b"bench-random-selection-seed-0123456789"
    )
    for evidence in workload[:WARM]:  # warm: connections, the compiled rule set
        await _decide(sessions, evidence, policy)
    done = 0
    started, cpu_started = time.perf_counter(), time.process_time()

    async def worker(offset: int) -> int:
        count = 0
        for n in range(offset, len(workload), CONCURRENCY):
            if time.perf_counter() - started > seconds:
                break
            await _decide(sessions, workload[n], policy)
            count += 1
        return count

    done = sum(await asyncio.gather(*(worker(k) for k in range(CONCURRENCY))))
    result = EndToEnd(done, time.perf_counter() - started, time.process_time() - cpu_started)
    async with sessions() as session:
        decided = await session.scalar(select(func.count()).select_from(LaneDecision))
        versions = set(await session.scalars(select(LaneDecision.rule_set_version).distinct()))
    # Every declaration was decided, by the 50-rule set.
    assert decided == done + WARM, (decided, done)
    assert versions == {version_label(1)}, versions
    return result


async def _measure(
    workload: list[Evidence], rules: RuleSetDefinition, seconds: float, core: set[int]
) -> EndToEnd:
    with infra.postgres(["routing"]) as server:
        # Pinned after PostgreSQL started, so that it may use the other core, as a database
        # server of its own would.
        os.sched_setaffinity(0, core)
        engine = create_engine(server.url("routing"), pool_size=CONCURRENCY + 1)
        try:
            await run_migrations(engine, "routing_svc:migrations")
            sessions = session_factory(engine, OutboxSignal())
            await _seed(sessions, workload, rules)
            return await _run(sessions, workload, seconds)
        finally:
            await engine.dispose()


def measure(
    workload: list[Evidence], rules: RuleSetDefinition, seconds: float, core: set[int]
) -> EndToEnd:
    return asyncio.run(_measure(workload, rules, seconds, core))
