"""Partner intelligence on a real PostgreSQL: each partner event kept once, and the
laned declarations it concerns re-decided only upward, through the consumer's bindings."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import iso6346

from customs_shared.db import write_queued
from customs_shared.events.schemas import (
    CertificateStatus,
    DeclarantKind,
    DeclarationCancelled,
    DeclarationSubmitted,
    OriginCertificate,
    PreferentialOriginClaim,
    RadiationAlarm,
    RiskAlert,
)
from customs_shared.messaging.consumer import Subscription, handling
from customs_shared.messaging.models import OutboxEvent
from routing_svc.intelligence import consumer as intelligence
from routing_svc.intelligence.models import (
    OriginCertificateRecord,
    RadiationAlarmRecord,
    RiskAlertRecord,
)
from routing_svc.intelligence.service import (
    IntelligencePolicy,
    on_radiation_alarm,
    open_alert_windows,
)
from routing_svc.lanes import consumer as lanes
from routing_svc.lanes.models import LaneDecision, RoutingCase
from routing_svc.lanes.service import LanePolicy
from routing_svc.rules.active import ActiveRuleSet
from tests.support.factories import (
    declaration_submitted,
    envelope,
    ipr_screened,
    item_facts,
    signature_checked,
)
from tests.support.postgres import MigratedSessions, sent_statements

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
TENANT = "0312345673"
LANES = LanePolicy(ActiveRuleSet(), timedelta(seconds=30), False, b"s" * 32)
POLICY = IntelligencePolicy(LANES, timedelta(days=30), max_redecisions=50, max_candidates=1000)
SUBSCRIPTIONS: dict[type[Any], Subscription[Any]] = {
    s.event_type.data: s for s in (*lanes.subscriptions(LANES), *intelligence.subscriptions(POLICY))
}
_serials = itertools.count(int(uuid.uuid4().int % 900_000))


def container() -> str:
    """A fresh ISO 6346 container number (owner code, serial, check digit)."""
    number = f"TGHU{next(_serials):06d}"
    return number + iso6346.calc_check_digit(number)


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> Sessions:
    return await migrated_sessions("routing_svc:migrations")


async def deliver(sessions: Sessions, *events: Any) -> None:
    """Each event in a transaction of its own, as the consumer handles it."""
    for data in events:
        async with sessions() as session, session.begin():
            with handling(envelope(data)):
                await SUBSCRIPTIONS[type(data)].handler(session, data)


def facts(**overrides: Any) -> DeclarationSubmitted:
    return declaration_submitted(
        tenant=TENANT, declarant_kind=DeclarantKind.INDIVIDUAL, **overrides
    )


async def decide(sessions: Sessions, data: DeclarationSubmitted) -> LaneDecision:
    """Submitted, signature not required, IPR clear: decided at once."""
    await deliver(sessions, *screened(data))
    return await decision(sessions, data.declaration_id)


def screened(data: DeclarationSubmitted) -> list[Any]:
    """A submission and both its screenings: decided as soon as all three are in."""
    return [
        data,
        signature_checked(data.declaration_id, TENANT),
        ipr_screened(data.declaration_id, TENANT),
    ]


async def decision(sessions: Sessions, declaration_id: uuid.UUID) -> LaneDecision:
    async with sessions() as session:
        found = await session.get(LaneDecision, declaration_id)
    assert found is not None
    return found


async def lane_events(sessions: Sessions, declaration_id: uuid.UUID) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.key == str(declaration_id))
            .order_by(OutboxEvent.seq)
        )
        return [json.loads(row.payload)["data"] for row in rows]


def raised_count(cause: str) -> float:
    value = REGISTRY.get_sample_value(
        "routing_intelligence_redecisions_total", {"cause": cause, "raised": "true"}
    )
    return value or 0.0


def rules(found: LaneDecision) -> list[str]:
    return [r["rule"] for r in found.reasons]


def alarm(number: str, **overrides: Any) -> RadiationAlarm:
    values: dict[str, Any] = {
        "container_number": number,
        "port": "VNHPH",
        "monitor_id": "RPM-07",
        "detected_at": datetime.now(UTC) - timedelta(hours=1),
        "level": "alarm",
        "nuclide": "Cs-137",
    }
    return RadiationAlarm(**{**values, **overrides})


def claim(reference: str) -> Any:
    return item_facts(
        hs_code="85171200",
        origin_country="CN",
        preferential_origin=PreferentialOriginClaim(form="E", certificate_number=reference),
    )


def certificate(reference: str, **overrides: Any) -> OriginCertificate:
    values: dict[str, Any] = {
        "reference": reference,
        "form": "E",
        "exporting_country": "CN",
        "importing_country": "VN",
        "exporter_name": "Shenzhen Export Co",
        "hs_subheadings": ["851712", "851762"],
        "issued_at": datetime.now(UTC) - timedelta(days=2),
        "status": "issued",
    }
    return OriginCertificate(**{**values, **overrides})


def risk_alert(**overrides: Any) -> RiskAlert:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "alert_id": f"KCS-{uuid.uuid4().hex[:8]}",
        "issuing_authority": "Korea Customs Service",
        "targets": {"routes": [{"from": "KH", "to": "VN"}]},
        "risk_level": "high",
        "lane": "red",
        "reason": "Undervalued textiles transhipped through Cambodia",
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=10),
    }
    return RiskAlert.model_validate({**values, **overrides})


async def test_an_alarm_sends_a_green_declaration_red_once(sessions: Sessions) -> None:
    number = container()
    green = await decide(sessions, facts(containers=[number]))
    other = await decide(sessions, facts(containers=[container()]))
    assert green.lane == "green"

    counted = raised_count("radiation alarm")
    raised = alarm(number)
    # The same alarm redelivered, and again under another CloudEvent (same reading).
    relayed = alarm(number, detected_at=raised.detected_at.astimezone(timezone(timedelta(hours=7))))
    await deliver(sessions, raised, raised, relayed)

    red = await decision(sessions, green.declaration_id)
    assert (red.lane, red.revision) == ("red", 2)
    [reason] = [r for r in red.reasons if r["rule"] == "radiation-alarm"]
    assert number in reason["explanation"]
    assert "RPM-07" in reason["explanation"]
    events = await lane_events(sessions, green.declaration_id)
    assert [(e["lane"], e["revision"]) for e in events] == [("green", 1), ("red", 2)]
    assert (await decision(sessions, other.declaration_id)).lane == "green"
    assert raised_count("radiation alarm") == counted + 1
    async with sessions() as session:
        kept = await session.scalar(
            select(func.count())
            .select_from(RadiationAlarmRecord)
            .where(RadiationAlarmRecord.container_number == number)
        )
    assert kept == 1


async def reports(sessions: Sessions, source: str) -> list[dict[str, Any]]:
    """What routing told the gateway about the partner events of ``source``."""
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxEvent.payload))).all()
    envelopes = [json.loads(row) for row in rows]
    return [
        e["data"]
        for e in envelopes
        if e["type"] == "customs.routing.partner-event-handled.v1" and e["data"]["source"] == source
    ]


async def test_the_partner_is_told_what_routing_did_with_each_event(sessions: Sessions) -> None:
    number = container()
    await decide(sessions, facts(containers=[number]))
    source = f"urn:customs:partner:test-{uuid.uuid4().hex[:8]}"
    first = again = alarm(number)  # the same reading, sent twice under two ids
    pushed = [envelope(first, source=source), envelope(again, source=source)]
    for data, sent in zip((first, again), pushed, strict=True):
        async with sessions() as session, session.begin():
            with handling(sent):
                await SUBSCRIPTIONS[type(data)].handler(session, data)
    told = {r["event_id"]: r for r in await reports(sessions, source)}
    applied, duplicate = (told[e.id] for e in pushed)
    assert (applied["outcome"], applied["declarations_checked"]) == ("applied", 1)
    assert applied["declarations_raised"] == 1
    assert applied["type"] == "customs.partner.radiation-alarm.v1"
    assert number in applied["detail"]
    assert (duplicate["outcome"], duplicate["declarations_raised"]) == ("duplicate", 0)


async def test_a_declaration_decided_after_the_alarm_is_red_from_the_start(
    sessions: Sessions,
) -> None:
    number = container()
    await deliver(sessions, alarm(number))
    later = await decide(sessions, facts(containers=[number]))
    assert (later.lane, later.revision) == ("red", 1)
    assert "radiation-alarm" in rules(later)


async def test_an_alarm_past_its_validity_changes_nothing(sessions: Sessions) -> None:
    number = container()
    green = await decide(sessions, facts(containers=[number]))
    # Detected 40 days ago with the default 30-day validity: over before it arrived.
    await deliver(sessions, alarm(number, detected_at=datetime.now(UTC) - timedelta(days=40)))
    after = await decision(sessions, green.declaration_id)
    assert (after.lane, after.revision) == ("green", 1)
    assert len(await lane_events(sessions, green.declaration_id)) == 1
    later = await decide(sessions, facts(containers=[number]))
    assert later.lane == "green"


async def test_an_alarm_leaves_cancelled_and_already_red_declarations_alone(
    sessions: Sessions,
) -> None:
    number = container()
    cancelled = await decide(sessions, facts(containers=[number]))
    await deliver(
        sessions,
        DeclarationCancelled(
            declaration_id=cancelled.declaration_id,
            version=1,
            tenant=TENANT,
            reason="shipment withdrawn",
            cancelled_at=datetime.now(UTC),
        ),
    )
    await deliver(sessions, alarm(number))
    assert (await decision(sessions, cancelled.declaration_id)).lane == "green"
    # A second alarm on the container raises nothing more on the one now red.
    carried = await decide(sessions, facts(containers=[number]))
    await deliver(sessions, alarm(number, monitor_id="RPM-08"))
    assert (await decision(sessions, carried.declaration_id)).revision == 1


async def test_an_alert_re_decides_the_declarations_on_its_route(sessions: Sessions) -> None:
    on_route = await decide(sessions, facts(export_country="KH"))
    elsewhere = await decide(sessions, facts(export_country="TH"))
    alert = risk_alert()
    await deliver(sessions, alert, alert)  # redelivered: raises nothing more

    raised = await decision(sessions, on_route.declaration_id)
    assert (raised.lane, raised.revision) == ("red", 2)
    [reason] = [r for r in raised.reasons if r["rule"] == "partner-alert-red"]
    assert alert.alert_id in reason["explanation"]
    assert "route KH->VN" in reason["explanation"]
    assert (await decision(sessions, elsewhere.declaration_id)).lane == "green"
    assert len(await lane_events(sessions, on_route.declaration_id)) == 2


async def test_an_alert_by_trader_heading_or_container_and_one_not_yet_in_force(
    sessions: Sessions,
) -> None:
    number = container()
    by_container = await decide(sessions, facts(containers=[number]))
    by_heading = await decide(
        sessions, facts(items=[item_facts(hs_code="64041900", customs_value=1_000_000)])
    )
    future = risk_alert(
        targets={"containers": [number]},
        valid_from=datetime.now(UTC) + timedelta(days=1),
    )
    await deliver(sessions, future)
    assert (await decision(sessions, by_container.declaration_id)).lane == "green"

    await deliver(
        sessions,
        risk_alert(targets={"containers": [number]}, lane="yellow", risk_level="medium"),
        risk_alert(targets={"hs_headings": ["6404"]}),
    )
    assert (await decision(sessions, by_container.declaration_id)).lane == "yellow"
    assert (await decision(sessions, by_heading.declaration_id)).lane == "red"


async def test_a_preferential_claim_needs_a_matching_e_co(sessions: Sessions) -> None:
    unproven = await decide(sessions, facts(items=[claim("E-UNKNOWN-1")]))
    assert unproven.lane == "yellow"
    assert "preferential-origin-unproven" in rules(unproven)

    reference = f"E-{uuid.uuid4().hex[:10]}"
    await deliver(sessions, certificate(reference))
    proven = await decide(sessions, facts(items=[claim(reference)]))
    assert proven.lane == "green"
    assert "preferential-origin-unproven" not in rules(proven)


@pytest.mark.parametrize(
    "mismatch",
    [
        {"exporting_country": "TH"},
        {"importing_country": "KH"},
        {"hs_subheadings": ["620342"]},
        {"importer_tax_code": "0314409058"},  # another importer: the claim is an individual's
    ],
    ids=["exporting-country", "importing-country", "subheading", "importer"],
)
async def test_an_e_co_that_does_not_match_the_claim_does_not_prove_it(
    sessions: Sessions, mismatch: dict[str, Any]
) -> None:
    reference = f"E-{uuid.uuid4().hex[:10]}"
    await deliver(sessions, certificate(reference, **mismatch))
    found = await decide(sessions, facts(items=[claim(reference)]))
    assert "preferential-origin-unproven" in rules(found)


async def test_an_e_co_arriving_late_never_lowers_a_decided_lane(sessions: Sessions) -> None:
    reference = f"E-{uuid.uuid4().hex[:10]}"
    yellow = await decide(sessions, facts(items=[claim(reference)]))
    await deliver(sessions, certificate(reference))
    after = await decision(sessions, yellow.declaration_id)
    assert (after.lane, after.revision) == ("yellow", 1)


async def test_a_revoked_e_co_stays_revoked_and_raises_the_lanes_claiming_it(
    sessions: Sessions,
) -> None:
    reference = f"E-{uuid.uuid4().hex[:10]}"
    issued = certificate(reference)
    await deliver(sessions, issued)
    green = await decide(sessions, facts(items=[claim(reference)]))
    assert green.lane == "green"

    revoked = certificate(reference, status=CertificateStatus.REVOKED)
    # The revocation, then the issue again (a late redelivery): revoked it stays.
    await deliver(sessions, revoked, issued, revoked)

    async with sessions() as session:
        stored = await session.get(OriginCertificateRecord, reference)
    assert stored is not None
    assert stored.data["status"] == "revoked"
    raised = await decision(sessions, green.declaration_id)
    assert (raised.lane, raised.revision) == ("yellow", 2)
    assert "preferential-origin-unproven" in rules(raised)
    assert len(await lane_events(sessions, green.declaration_id)) == 2
    later = await decide(sessions, facts(items=[claim(reference)]))
    assert "preferential-origin-unproven" in rules(later)


async def test_a_newer_issue_replaces_an_older_one_but_not_the_reverse(
    sessions: Sessions,
) -> None:
    reference = f"E-{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    older = certificate(reference, hs_subheadings=["620342"], issued_at=now - timedelta(days=5))
    newer = certificate(reference, issued_at=now - timedelta(days=1))
    await deliver(sessions, older, newer, older)
    found = await decide(sessions, facts(items=[claim(reference)]))
    assert "preferential-origin-unproven" not in rules(found)


async def test_one_event_re_decides_within_its_bounds(sessions: Sessions) -> None:
    number = container()
    old, first, second = [await decide(sessions, facts(containers=[number])) for _ in range(3)]
    async with sessions() as session, session.begin():
        # Decided 40 days ago: past the lookback, taken as cleared (containers are reused).
        await session.execute(
            update(RoutingCase)
            .where(RoutingCase.declaration_id == old.declaration_id)
            .values(decided_at=datetime.now(UTC) - timedelta(days=40))
        )
    bounded = IntelligencePolicy(LANES, timedelta(days=30), max_redecisions=1, max_candidates=10)
    signal = alarm(number)
    async with sessions() as session, session.begin():
        with handling(envelope(signal)):
            await on_radiation_alarm(session, signal, policy=bounded)

    lanes_now = {
        d.declaration_id: (await decision(sessions, d.declaration_id)).lane
        for d in (old, first, second)
    }
    assert lanes_now[old.declaration_id] == "green"
    assert sorted([lanes_now[first.declaration_id], lanes_now[second.declaration_id]]) == [
        "green",
        "red",
    ]


async def test_an_alert_re_decides_when_its_window_opens(sessions: Sessions) -> None:
    number = container()
    laned = await decide(sessions, facts(containers=[number]))
    waiting = risk_alert(
        targets={"containers": [number]}, valid_from=datetime.now(UTC) + timedelta(days=1)
    )
    await deliver(sessions, waiting)
    async with sessions() as session, session.begin():
        assert await open_alert_windows(session, policy=POLICY) == 0  # not yet open
    assert (await decision(sessions, laned.declaration_id)).lane == "green"

    async with sessions() as session, session.begin():  # a day later
        await session.execute(
            update(RiskAlertRecord)
            .where(RiskAlertRecord.alert_id == waiting.alert_id)
            .values(valid_from=datetime.now(UTC) - timedelta(seconds=1))
        )
    for expected in (1, 0):  # the window opens once
        async with sessions() as session, session.begin():
            assert await open_alert_windows(session, policy=POLICY) == expected
    opened = await decision(sessions, laned.declaration_id)
    assert (opened.lane, opened.revision) == ("red", 2)
    assert any(waiting.alert_id in r["explanation"] for r in opened.reasons)


async def deliver_as_one_batch(sessions: Sessions, *events: Any) -> list[str]:
    """All ``events`` in one transaction, as the consumer handles a fetch: each prepare
    step once with its events, then the handlers in order, then what is left to write at
    commit. The SQL texts it sent."""
    async with sessions() as session, session.begin():
        with sent_statements(session.sync_session) as sent:
            steps: dict[Any, list[Any]] = {}
            for data in events:
                prepare = SUBSCRIPTIONS[type(data)].prepare
                if prepare is not None:
                    steps.setdefault(prepare, []).append(data)
            for prepare, batch in steps.items():
                await prepare(session, batch)
            for data in events:
                with handling(envelope(data)):
                    await SUBSCRIPTIONS[type(data)].handler(session, data)
            await write_queued(session, at_commit=True)
    return sent


async def test_a_batch_of_decisions_loads_their_evidence_once_and_sees_what_it_stores(
    sessions: Sessions,
) -> None:
    """The risk inputs, alarms and certificates of every declaration a batch decides are
    read in one statement each; an alarm the same batch stores before a decision counts."""
    alarmed, reference = container(), f"E-{uuid.uuid4().hex[:10]}"
    await deliver(sessions, alarm(alarmed), certificate(reference))
    red = facts(containers=[alarmed])
    proven = facts(items=[claim(reference)])
    unproven = facts(items=[claim("E-UNKNOWN-2")], containers=[container()])
    late_alarm = container()
    alarmed_in_batch = facts(containers=[late_alarm])

    sent = await deliver_as_one_batch(
        sessions,
        *screened(red),
        *screened(proven),
        *screened(unproven),
        alarm(late_alarm),
        *screened(alarmed_in_batch),
    )

    assert [(await decision(sessions, d.declaration_id)).lane for d in (red, proven, unproven)] == [
        "red",
        "green",
        "yellow",
    ]
    late = await decision(sessions, alarmed_in_batch.declaration_id)
    assert (late.lane, late.revision) == ("red", 1)
    assert "radiation-alarm" in rules(late)
    reads = {
        table: sum(f"FROM {table}" in s and s.startswith("SELECT") for s in sent)
        for table in ("risk_inputs", "radiation_alarms", "origin_certificates")
    }
    # Once for the batch; the alarm stored mid-batch makes the decision after it read its
    # alarms again (it claims no preference, so it needs no certificate).
    assert reads == {"risk_inputs": 1, "radiation_alarms": 2, "origin_certificates": 1}
    # The five cases, created and locked in one statement, are written in one more, with
    # the decisions and their events: not an UPDATE per case and event.
    case_writes = [s for s in sent if "UPDATE routing_cases" in s]
    assert len(case_writes) == 1
    assert "INSERT INTO lane_decisions" in case_writes[0]
