"""Suspension deadlines in working days: weekends, Vietnam's public holidays (the
``holidays`` package, observed days included) and the operator's extra closed days."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import holidays

FIRST_TERM = 10  # working days the holder has to answer
EXTENDED_TERM = 20  # once extended, counted from the same start


def is_working_day(day: date, closed: Collection[date] = ()) -> bool:
    return (
        day.weekday() < 5
        and day not in holidays.country_holidays("VN", years=day.year)
        and day not in closed
    )


def add_working_days(start: date, days: int, closed: Collection[date] = ()) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    day, left = start, days
    for _ in range(days * 7 + 60):  # bounded: no stretch of closed days is that long
        if left == 0:
            return day
        day += timedelta(days=1)
        if is_working_day(day, closed):
            left -= 1
    raise ValueError(f"no {days} working days found after {start}")


def deadline(suspended_on: date, *, extended: bool, closed: Collection[date] = ()) -> date:
    return add_working_days(suspended_on, EXTENDED_TERM if extended else FIRST_TERM, closed)
