"""Routing's performance measurement (WCO time-release and selectivity figures): lane
shares beside the capacity targets, decision times, and what each rule catches."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import utcnow
from customs_shared.problems import BadRequest
from routing_svc.lanes.service import LanePolicy
from routing_svc.rules.definitions import CapacityTargets, LaneShares
from routing_svc.statistics import repository
from routing_svc.statistics.repository import OfficeFigures, Period
from routing_svc.statistics.schemas import (
    RoutingDecisionTimes,
    RoutingLaneCounts,
    RoutingLaneShares,
    RoutingOfficeStatistics,
    RoutingRandomHitRate,
    RoutingRandomSelections,
    RoutingRuleHitRates,
    RoutingRuleRate,
    RoutingStatistics,
)

DEFAULT_PERIOD = timedelta(days=30)
LONGEST_PERIOD = timedelta(days=366)


def period(start: datetime | None, end: datetime | None, office: str | None = None) -> Period:
    """The period asked for: ``to`` defaults to now, ``from`` to 30 days before it; at
    most 366 days, so one request cannot scan the whole history."""
    end = end or utcnow()
    start = start or end - DEFAULT_PERIOD
    if start >= end:
        raise BadRequest("`from` must be before `to`.")
    if end - start > LONGEST_PERIOD:
        raise BadRequest(f"The period may span at most {LONGEST_PERIOD.days} days.")
    return Period(start, end, office)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def _rules(
    session: AsyncSession, span: Period, decisions: int
) -> tuple[list[RoutingRuleRate], RoutingRandomHitRate]:
    rules = [
        RoutingRuleRate(
            rule=f.rule,
            fired=f.fired,
            selection_rate=_ratio(f.fired, decisions),
            inspected=f.inspected,
            found=f.found,
            hit_rate=_ratio(f.found, f.inspected),
        )
        for f in await repository.rule_figures(session, span)
    ]
    random = await repository.random_figures(session, span)
    baseline = RoutingRandomHitRate(
        inspected=random.inspected,
        found=random.found,
        hit_rate=_ratio(random.found, random.inspected),
    )
    return rules, baseline


async def hit_rates(*, session: AsyncSession, span: Period) -> RoutingRuleHitRates:
    figures = await repository.office_figures(session, span)
    total = next((f.decisions for f in figures if f.office is None), 0)
    rules, baseline = await _rules(session, span, total)
    return RoutingRuleHitRates.model_validate(
        {"from": span.start, "to": span.end, "rules": rules, "random_selection": baseline}
    )


def _shares(shares: LaneShares | None) -> RoutingLaneShares | None:
    if shares is None:
        return None
    return RoutingLaneShares(green=shares.green, yellow=shares.yellow, red=shares.red)


def _office(figures: OfficeFigures, target: LaneShares | None) -> RoutingOfficeStatistics:
    whole = figures.decisions
    p50, p95, p99 = figures.seconds
    return RoutingOfficeStatistics(
        office=figures.office,
        decisions=whole,
        lanes=RoutingLaneCounts(green=figures.green, yellow=figures.yellow, red=figures.red),
        shares=RoutingLaneShares(
            green=figures.green / whole, yellow=figures.yellow / whole, red=figures.red / whole
        )
        if whole
        else None,
        capacity_target=_shares(target),
        random_selections=RoutingRandomSelections(
            yellow=figures.random_yellow, red=figures.random_red
        ),
        submission_to_decision_seconds=RoutingDecisionTimes(
            decisions=figures.timed, p50=p50, p95=p95, p99=p99
        ),
    )


def _target(targets: CapacityTargets, office: str | None) -> LaneShares | None:
    return targets.default if office is None else targets.for_office(office)


def _empty(office: str | None) -> OfficeFigures:
    return OfficeFigures(office, 0, 0, 0, 0, 0, 0, 0, (None, None, None))


async def statistics(
    *, session: AsyncSession, policy: LanePolicy, span: Period
) -> RoutingStatistics:
    rule_set = await policy.rule_sets.current(session)
    targets = rule_set.definition.capacity_targets
    figures = await repository.office_figures(session, span)
    overall = next((f for f in figures if f.office is None), _empty(None))
    offices = [f for f in figures if f.office is not None]
    if span.office is not None and not offices:
        offices = [_empty(span.office)]  # an office with no decisions still shows its target
    rules, baseline = await _rules(session, span, overall.decisions)
    return RoutingStatistics.model_validate(
        {
            "from": span.start,
            "to": span.end,
            "rule_set_version": rule_set.version,
            "overall": _office(overall, _target(targets, span.office)),
            "offices": [_office(f, _target(targets, f.office)) for f in offices],
            "rules": rules,
            "random_selection": baseline,
        }
    )
