"""The statutory clock: the one place that computes a referral's deadlines and escalation times.

Working Together to Safeguard Children: the authority acknowledges a referral and decides the
response within one working day; immediate risk within an hour, day or night. A working day
follows the authority's working hours, its nation's bank holidays (the `holidays` package) and
its own closure days, in Europe/London time.

Deadlines on working days keep the wall-clock time (14:15 on Friday is due 14:15 on Monday, even
across a daylight-saving change); deadlines in minutes are elapsed time, computed in UTC.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from agencies.models import LocalAuthority
from referrals.core.choices import Urgency

LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC
# Where an authority read with its closure days keeps them (referrals.clocks.routing).
CLOSURE_DATES = "closure_dates_read"
# Level 1: the team's managers at the deadline; level 2: the service managers later. No more.
TOP_ESCALATION_LEVEL = 2


@functools.cache
def _bank_holidays(nation: str, year: int) -> frozenset[datetime.date]:
    # Computing a year's holidays costs milliseconds; the sweep asks thousands of times.
    return frozenset(holidays.country_holidays("GB", subdiv=nation, years=year))


def _aware(at: datetime.datetime) -> datetime.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time would be read in the server's zone: silently wrong deadlines.
        raise ValueError("Clock times must be timezone-aware.")
    return at


def _london(day: datetime.date, time: datetime.time) -> datetime.datetime:
    """A London wall-clock time; one that a spring change skips becomes the first real one."""
    return datetime.datetime.combine(day, time, tzinfo=LONDON).astimezone(UTC).astimezone(LONDON)


@dataclass
class WorkingCalendar:
    """An authority's working days and hours."""

    authority: LocalAuthority

    @cached_property
    def _closures(self) -> frozenset[datetime.date]:
        if self.authority.pk is None:
            return frozenset()
        read: list[dict[str, str]] | None = getattr(self.authority, CLOSURE_DATES, None)
        if read is not None:  # read with the authority (referrals.clocks.routing)
            return frozenset(datetime.date.fromisoformat(row["date"]) for row in read)
        return frozenset(self.authority.closure_days.values_list("date", flat=True))

    @cached_property
    def _weekdays(self) -> frozenset[int]:
        return frozenset(int(day) for day in self.authority.working_weekdays)

    def is_bank_holiday(self, day: datetime.date) -> bool:
        return day in _bank_holidays(self.authority.nation, day.year)

    def is_working_day(self, day: datetime.date) -> bool:
        return (
            day.weekday() in self._weekdays
            and not self.is_bank_holiday(day)
            and day not in self._closures
        )

    def is_working_time(self, at: datetime.datetime) -> bool:
        local = _aware(at).astimezone(LONDON)
        return (
            self.is_working_day(local.date())
            and self.authority.opens_at <= local.time() < self.authority.closes_at
        )

    def next_working_day(self, day: datetime.date) -> datetime.date:
        candidate = day + datetime.timedelta(days=1)
        # A year without a single working day is a configuration error, not a loop forever.
        for _ in range(366):
            if self.is_working_day(candidate):
                return candidate
            candidate += datetime.timedelta(days=1)
        raise ValueError("The authority has no working days configured.")

    def clock_start(self, at: datetime.datetime) -> datetime.datetime:
        """When a clock started at `at` begins to run: now, or the next opening."""
        if self.is_working_time(at):
            return at
        local = at.astimezone(LONDON)
        day = local.date()
        if not (self.is_working_day(day) and local.time() < self.authority.opens_at):
            day = self.next_working_day(day)
        return _london(day, self.authority.opens_at)

    def add_working_days(self, at: datetime.datetime, days: int) -> datetime.datetime:
        """The same working-clock time `days` working days after the clock starts."""
        start = self.clock_start(at).astimezone(LONDON)
        day = start.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return _london(day, start.time())


@dataclass(frozen=True)
class Deadlines:
    acknowledge_due_at: datetime.datetime
    decision_due_at: datetime.datetime


def referral_deadlines(
    *,
    authority: LocalAuthority,
    urgency: str,
    received_at: datetime.datetime,
    calendar: WorkingCalendar | None = None,
) -> Deadlines:
    """When the receiving authority must acknowledge and decide a referral.

    Pass the authority's `calendar` when the caller has one, to read its closures once.
    """
    received_at = _aware(received_at)
    calendar = calendar or WorkingCalendar(authority)
    decide = calendar.add_working_days(received_at, authority.working_days_to_decide)
    if urgency == Urgency.IMMEDIATE:
        # Elapsed time: in London time an hour after 01:30 on the autumn change is ambiguous.
        acknowledge = received_at.astimezone(UTC) + datetime.timedelta(
            minutes=authority.immediate_acknowledge_minutes
        )
    else:
        acknowledge = calendar.add_working_days(received_at, authority.working_days_to_acknowledge)
    return Deadlines(
        acknowledge_due_at=acknowledge.astimezone(UTC),
        decision_due_at=max(decide, acknowledge).astimezone(UTC),
    )


def escalation_due_at(
    *,
    authority: LocalAuthority,
    deadline: datetime.datetime,
    level: int,
    below_fired_at: datetime.datetime | None = None,
) -> datetime.datetime | None:
    """When rung `level` of the ladder falls due for a clock that ran out at `deadline`.

    Level 1 at the deadline; level 2 `escalation_level_two_after_minutes` after level 1
    actually fired (`below_fired_at`), not after the deadline: a sweep that runs late (an
    outage) raises one rung, and the service managers hear only if nobody acts after that.
    """
    if level == 1:
        return deadline
    if level == TOP_ESCALATION_LEVEL:
        if below_fired_at is None:
            raise ValueError("Level 2 is timed from when level 1 fired.")
        return _aware(below_fired_at).astimezone(UTC) + datetime.timedelta(
            minutes=authority.escalation_level_two_after_minutes
        )
    return None  # above the top rung nobody else is told
