"""The one clock function: working days, opening hours, bank holidays, daylight saving."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from agencies.models import LocalAuthority, Nation
from referrals.clocks.calendar import LONDON, WorkingCalendar, escalation_due_at, referral_deadlines
from tests import factories


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


# Bank holidays by nation ---------------------------------------------------------------------


def _authority(nation: str, **overrides: Any) -> LocalAuthority:
    return LocalAuthority(name=f"Test {nation}", ons_code="X0", nation=nation, **overrides)


@pytest.mark.parametrize(
    ("nation", "due"),
    [
        # 1 and 2 January 2026 are Thursday and Friday: Scotland has both off.
        (Nation.ENGLAND, _at(2026, 1, 2, 10, 0)),
        (Nation.WALES, _at(2026, 1, 2, 10, 0)),
        (Nation.NORTHERN_IRELAND, _at(2026, 1, 2, 10, 0)),
        (Nation.SCOTLAND, _at(2026, 1, 5, 10, 0)),
    ],
)
def test_second_of_january_is_a_holiday_only_in_scotland(
    nation: str, due: datetime.datetime
) -> None:
    deadlines = referral_deadlines(
        authority=_authority(nation), urgency="standard", received_at=_at(2025, 12, 31, 10, 0)
    )
    assert deadlines.acknowledge_due_at == due


def test_scotland_moves_the_second_of_january_off_a_saturday() -> None:
    # 2027: 1 January is a Friday and 2 January a Saturday, so Monday 4th is the substitute.
    deadlines = referral_deadlines(
        authority=_authority(Nation.SCOTLAND),
        urgency="standard",
        received_at=_at(2026, 12, 31, 10, 0),
    )
    assert deadlines.acknowledge_due_at == _at(2027, 1, 5, 10, 0)


@pytest.mark.parametrize(
    ("nation", "due"),
    [
        (Nation.NORTHERN_IRELAND, _at(2026, 3, 18, 10, 0)),
        (Nation.ENGLAND, _at(2026, 3, 17, 10, 0)),
        (Nation.SCOTLAND, _at(2026, 3, 17, 10, 0)),
    ],
)
def test_st_patricks_day_is_a_holiday_only_in_northern_ireland(
    nation: str, due: datetime.datetime
) -> None:
    deadlines = referral_deadlines(
        authority=_authority(nation), urgency="standard", received_at=_at(2026, 3, 16, 10, 0)
    )
    assert deadlines.acknowledge_due_at == due


@pytest.mark.parametrize("nation", [Nation.ENGLAND, Nation.WALES, Nation.NORTHERN_IRELAND])
def test_christmas_and_boxing_day_on_a_weekend_give_two_substitute_days(nation: str) -> None:
    # 2027: Christmas is a Saturday and Boxing Day a Sunday: Monday 27 and Tuesday 28 are off.
    deadlines = referral_deadlines(
        authority=_authority(nation), urgency="standard", received_at=_at(2027, 12, 24, 11, 0)
    )
    assert deadlines.acknowledge_due_at == _at(2027, 12, 29, 11, 0)


def test_easter_monday_is_not_a_holiday_in_scotland() -> None:
    received = _at(2027, 3, 25, 12, 0)  # Thursday before Good Friday
    scotland = referral_deadlines(
        authority=_authority(Nation.SCOTLAND), urgency="standard", received_at=received
    )
    wales = referral_deadlines(
        authority=_authority(Nation.WALES), urgency="standard", received_at=received
    )
    assert scotland.acknowledge_due_at == _at(2027, 3, 29, 12, 0)
    assert wales.acknowledge_due_at == _at(2027, 3, 30, 12, 0)


# Daylight saving -----------------------------------------------------------------------------


def test_spring_forward_keeps_the_working_clock_time(england: LocalAuthority) -> None:
    # Friday 27 March 2026 14:00 GMT; clocks go forward on Sunday 29th.
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 3, 27, 14, 0)
    ).acknowledge_due_at
    assert due == _at(2026, 3, 30, 14, 0)
    assert due.astimezone(datetime.UTC).hour == 13  # 14:00 BST


def test_fall_back_keeps_the_working_clock_time(england: LocalAuthority) -> None:
    # Friday 23 October 2026 14:00 BST; clocks go back on Sunday 25th.
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 10, 23, 14, 0)
    ).acknowledge_due_at
    assert due == _at(2026, 10, 26, 14, 0)
    assert due.astimezone(datetime.UTC).hour == 14  # 14:00 GMT


def test_immediate_risk_is_an_elapsed_hour_when_the_clocks_go_back(
    england: LocalAuthority,
) -> None:
    # 01:30 BST on 25 October 2026 (00:30 UTC) happens twice; an hour later is 01:30 GMT.
    received = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC).astimezone(LONDON)
    assert received.hour == 1
    due = referral_deadlines(authority=england, urgency="immediate", received_at=received)
    assert due.acknowledge_due_at == datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC)


def test_immediate_risk_is_an_elapsed_hour_when_the_clocks_go_forward(
    england: LocalAuthority,
) -> None:
    received = _at(2026, 3, 29, 0, 30)  # GMT; at 01:00 the clocks jump to 02:00
    due = referral_deadlines(authority=england, urgency="immediate", received_at=received)
    assert due.acknowledge_due_at == datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)
    assert due.acknowledge_due_at.astimezone(LONDON).hour == 2


def test_an_opening_time_the_spring_change_skips_starts_at_the_first_real_minute() -> None:
    night_shift = _authority(
        Nation.ENGLAND,
        opens_at=datetime.time(1, 30),
        closes_at=datetime.time(23, 0),
        working_weekdays=[0, 1, 2, 3, 4, 5, 6],
    )
    start = WorkingCalendar(night_shift).clock_start(_at(2026, 3, 29, 0, 15))
    assert start == datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC)  # 02:30 BST


# Opening hours, closures and per-authority settings ------------------------------------------


def test_before_opening_on_a_working_day_starts_at_opening(england: LocalAuthority) -> None:
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 11, 24, 7, 0)
    )
    assert due.acknowledge_due_at == _at(2026, 11, 25, 9, 0)


def test_after_closing_starts_at_the_next_opening(england: LocalAuthority) -> None:
    due = referral_deadlines(
        authority=england, urgency="standard", received_at=_at(2026, 11, 24, 17, 0)
    )
    assert due.acknowledge_due_at == _at(2026, 11, 26, 9, 0)


@pytest.mark.django_db
def test_closure_days_are_skipped() -> None:
    authority = factories.LocalAuthorityFactory.create(name="Closing")
    factories.ClosureDayFactory.create(local_authority=authority, date=datetime.date(2026, 11, 25))
    due = referral_deadlines(
        authority=authority, urgency="standard", received_at=_at(2026, 11, 24, 10, 0)
    )
    assert due.acknowledge_due_at == _at(2026, 11, 26, 10, 0)


def test_authority_settings_override_the_defaults() -> None:
    authority = _authority(
        Nation.ENGLAND,
        working_weekdays=[0, 1, 2, 3, 4, 5],  # Saturdays too
        opens_at=datetime.time(8, 0),
        closes_at=datetime.time(18, 0),
        immediate_acknowledge_minutes=30,
        working_days_to_acknowledge=1,
        working_days_to_decide=2,
    )
    friday_evening = _at(2026, 11, 27, 17, 30)  # in hours until 18:00
    due = referral_deadlines(authority=authority, urgency="urgent", received_at=friday_evening)
    assert due.acknowledge_due_at == _at(2026, 11, 28, 17, 30)  # Saturday
    assert due.decision_due_at == _at(2026, 11, 30, 17, 30)  # Monday
    immediate = referral_deadlines(
        authority=authority, urgency="immediate", received_at=friday_evening
    )
    assert immediate.acknowledge_due_at == friday_evening + datetime.timedelta(minutes=30)


def test_a_naive_time_is_refused(england: LocalAuthority) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        referral_deadlines(
            authority=england,
            urgency="standard",
            received_at=datetime.datetime(2026, 11, 24, 10, 0),  # noqa: DTZ001
        )


def test_the_ladder_level_two_comes_the_configured_time_after_level_one_fired() -> None:
    authority = _authority(Nation.ENGLAND, escalation_level_two_after_minutes=45)
    deadline = _at(2026, 11, 24, 10, 0)
    assert escalation_due_at(authority=authority, deadline=deadline, level=1) == deadline
    # Level 1 fired two hours late (an outage): level 2 is 45 minutes after that, not before.
    fired = deadline + datetime.timedelta(hours=2)
    assert escalation_due_at(
        authority=authority, deadline=deadline, level=2, below_fired_at=fired
    ) == fired + datetime.timedelta(minutes=45)
    with pytest.raises(ValueError, match="when level 1 fired"):
        escalation_due_at(authority=authority, deadline=deadline, level=2)
    assert escalation_due_at(authority=authority, deadline=deadline, level=3) is None
