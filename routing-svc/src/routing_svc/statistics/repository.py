"""All SQL of routing's measurement: set-based aggregates over lane_decisions and
inspection_outcomes; nothing is counted row by row in Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from routing_svc.lanes.models import LaneDecision
from routing_svc.officers.models import InspectionOutcome
from routing_svc.rules.engine import NOT_RULES

PERCENTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    office: str | None


@dataclass(frozen=True, slots=True)
class OfficeFigures:
    office: str | None  # None: every office together
    decisions: int
    green: int
    yellow: int
    red: int
    random_yellow: int
    random_red: int
    timed: int
    seconds: tuple[float | None, ...]  # at PERCENTILES


@dataclass(frozen=True, slots=True)
class RuleFigures:
    rule: str
    fired: int
    inspected: int
    found: int


@dataclass(frozen=True, slots=True)
class RandomFigures:
    inspected: int
    found: int


def _decided_in(period: Period) -> ColumnElement[bool]:
    condition = and_(LaneDecision.decided_at >= period.start, LaneDecision.decided_at < period.end)
    if period.office is not None:
        condition = and_(condition, LaneDecision.office == period.office)
    return condition


def _recorded_in(period: Period) -> ColumnElement[bool]:
    condition = and_(
        InspectionOutcome.recorded_at >= period.start, InspectionOutcome.recorded_at < period.end
    )
    if period.office is not None:
        condition = and_(condition, InspectionOutcome.office == period.office)
    return condition


async def office_figures(session: AsyncSession, period: Period) -> Sequence[OfficeFigures]:
    """Per office and for all offices together (one GROUPING SETS query): lanes, random
    selections, and percentiles of submission → decision. An officer's override is not
    the rules' decision time, so overridden decisions are left out of the timing."""
    timed = and_(LaneDecision.submitted_at.is_not(None), LaneDecision.overridden.is_(False))
    seconds = case(
        (timed, func.extract("epoch", LaneDecision.decided_at - LaneDecision.submitted_at))
    )

    def lane_count(column: QueryableAttribute[Any], lane: str) -> ColumnElement[int]:
        return func.count().filter(column == lane)

    statement = (
        select(
            LaneDecision.office,
            func.grouping(LaneDecision.office),
            func.count(),
            lane_count(LaneDecision.lane, "green"),
            lane_count(LaneDecision.lane, "yellow"),
            lane_count(LaneDecision.lane, "red"),
            lane_count(LaneDecision.randomly_selected, "yellow"),
            lane_count(LaneDecision.randomly_selected, "red"),
            func.count(seconds),
            *(cast(func.percentile_cont(p).within_group(seconds), Float) for p in PERCENTILES),
        )
        .where(_decided_in(period))
        .group_by(func.grouping_sets(tuple_(LaneDecision.office), tuple_()))
        .order_by(func.grouping(LaneDecision.office), LaneDecision.office)
    )
    rows = (await session.execute(statement)).all()
    return [
        OfficeFigures(
            office=None if row[1] else row[0],
            decisions=row[2],
            green=row[3],
            yellow=row[4],
            red=row[5],
            random_yellow=row[6],
            random_red=row[7],
            timed=row[8],
            seconds=tuple(row[9:]),
        )
        for row in rows
    ]


async def rule_figures(session: AsyncSession, period: Period) -> Sequence[RuleFigures]:
    """Per risk rule: decisions of the period it fired on, and inspections recorded in
    the period where it had fired, with how many found something."""
    reason = func.json_array_elements(LaneDecision.reasons).table_valued("value").alias("reason")
    fired_rule = func.json_extract_path_text(reason.c.value, "rule")
    fired = (
        select(fired_rule, func.count(func.distinct(LaneDecision.declaration_id)))
        .select_from(LaneDecision)
        .join(reason, true())
        .where(_decided_in(period), fired_rule.not_in(NOT_RULES))
        .group_by(fired_rule)
    )
    checked = (
        func.json_array_elements_text(InspectionOutcome.rules_fired)
        .table_valued("value")
        .alias("checked")
    )
    inspected = (
        select(
            checked.c.value,
            func.count(),
            func.count().filter(InspectionOutcome.found.is_(True)),
        )
        .select_from(InspectionOutcome)
        .join(checked, true())
        .where(_recorded_in(period))
        .group_by(checked.c.value)
    )
    figures: dict[str, list[int]] = {}
    for rule, count in (await session.execute(fired)).all():
        figures.setdefault(rule, [0, 0, 0])[0] = count
    for rule, count, found in (await session.execute(inspected)).all():
        figures.setdefault(rule, [0, 0, 0])[1:] = [count, found]
    return [RuleFigures(rule, *counts) for rule, counts in sorted(figures.items())]


async def random_figures(session: AsyncSession, period: Period) -> RandomFigures:
    """Inspections of randomly selected declarations: the baseline of hit rates."""
    statement = select(func.count(), func.count().filter(InspectionOutcome.found.is_(True))).where(
        _recorded_in(period), InspectionOutcome.randomly_selected.is_not(None)
    )
    inspected, found = (await session.execute(statement)).one()
    return RandomFigures(inspected, found)
