from __future__ import annotations

from datetime import date

from ipr_svc.suspension.deadlines import add_working_days, deadline, is_working_day


def test_weekends_and_vietnamese_public_holidays_are_not_counted() -> None:
    # Friday 28 August 2026: 31 August (a day off swapped) and 1-2 September (National Day)
    # are closed, as are the weekends.
    assert not is_working_day(date(2026, 9, 2))
    assert not is_working_day(date(2026, 8, 29))
    assert add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 3)
    assert deadline(date(2026, 8, 28), extended=False) == date(2026, 9, 16)


def test_an_extension_doubles_the_term_from_the_same_start() -> None:
    assert deadline(date(2026, 6, 1), extended=False) == date(2026, 6, 15)
    assert deadline(date(2026, 6, 1), extended=True) == date(2026, 6, 29)


def test_lunar_new_year_and_operator_closed_days_push_the_deadline() -> None:
    # 16-20 February 2026 is Tết: the whole week is closed.
    assert deadline(date(2026, 2, 13), extended=False) == date(2026, 3, 6)
    closed = {date(2026, 6, 2)}
    assert deadline(date(2026, 6, 1), extended=False, closed=closed) == date(2026, 6, 16)
