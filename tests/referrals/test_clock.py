"""The one clock function: working days, opening hours, bank holidays, immediate risk."""

from __future__ import annotations

import datetime

import pytest

from agencies.models import LocalAuthority, Nation
from referrals.clock import LONDON, WorkingCalendar, referral_deadlines


def _at(year: int, month: int, day: int, hour: int, minute: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def england() -> LocalAuthority:
    return LocalAuthority(name="Test", ons_code="E0", nation=Nation.ENGLAND)


def test_a_weekday_referral_is_due_the_same_time_next_working_day(
    england: LocalAuthority,
) -> None:
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 11, 24, 14, 15)
    )
    assert due.acknowledge_due_at == _at(2026, 11, 25, 14, 15)


def test_friday_afternoon_is_due_on_monday(england: LocalAuthority) -> None:
    due = referral_deadlines(
        authority=england, urgency="urgent", received_at=_at(2026, 11, 27, 16, 0)
    )
    assert due.decision_due_at == _at(2026, 11, 30, 16, 0)


def test_out_of_hours_starts_the_clock_at_the_next_opening(england: LocalAuthority) -> None:
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 11, 28, 22, 0)
    )
    # Saturday night: the clock starts Monday 09:00, due Tuesday 09:00.
    assert due.acknowledge_due_at == _at(2026, 12, 1, 9, 0)


def test_christmas_bank_holidays_are_skipped(england: LocalAuthority) -> None:
    # 2026: Christmas is a Friday, Boxing Day a Saturday, so Monday 28th is a substitute day.
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 12, 24, 11, 0)
    )
    assert due.acknowledge_due_at == _at(2026, 12, 29, 11, 0)


def test_immediate_risk_is_an_hour_day_or_night(england: LocalAuthority) -> None:
    received = _at(2026, 11, 28, 3, 0)
    due = referral_deadlines(authority=england, urgency="immediate", received_at=received)
    assert due.acknowledge_due_at == received + datetime.timedelta(hours=1)


def test_working_time(england: LocalAuthority) -> None:
    calendar = WorkingCalendar(england)
    assert calendar.is_working_time(_at(2026, 11, 24, 9, 0))
    assert not calendar.is_working_time(_at(2026, 11, 24, 17, 0))
    assert not calendar.is_working_time(_at(2026, 11, 29, 12, 0))
