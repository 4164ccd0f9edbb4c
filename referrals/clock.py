"""The statutory clock: the one place that computes a referral's deadlines.

Working Together to Safeguard Children: the authority acknowledges a referral and decides the
response within one working day; immediate risk within an hour, day or night. A working day
follows the authority's working hours, its nation's bank holidays (the `holidays` package) and
its own closure days, in Europe/London time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from agencies.models import LocalAuthority
from referrals.choices import Urgency

LONDON = ZoneInfo("Europe/London")


@dataclass
class WorkingCalendar:
    """An authority's working days and hours."""

    authority: LocalAuthority

    @cached_property
    def _closures(self) -> set[datetime.date]:
        if self.authority.pk is None:
            return set()
        return set(self.authority.closure_days.values_list("date", flat=True))

    def _bank_holidays(self, year: int) -> holidays.HolidayBase:
        return holidays.country_holidays("GB", subdiv=self.authority.nation, years=year)

    def is_working_day(self, day: datetime.date) -> bool:
        return (
            day.weekday() in self.authority.working_weekdays
            and day not in self._bank_holidays(day.year)
            and day not in self._closures
        )

    def is_working_time(self, at: datetime.datetime) -> bool:
        local = at.astimezone(LONDON)
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
        return datetime.datetime.combine(day, self.authority.opens_at, tzinfo=LONDON)

    def add_working_days(self, at: datetime.datetime, days: int) -> datetime.datetime:
        """The same working-clock time `days` working days after the clock starts."""
        start = self.clock_start(at).astimezone(LONDON)
        day = start.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.datetime.combine(day, start.time(), tzinfo=LONDON)


@dataclass(frozen=True)
class Deadlines:
    acknowledge_due_at: datetime.datetime
    decision_due_at: datetime.datetime


def referral_deadlines(
    *, authority: LocalAuthority, urgency: str, received_at: datetime.datetime
) -> Deadlines:
    """When the receiving authority must acknowledge and decide a referral."""
    calendar = WorkingCalendar(authority)
    decide = calendar.add_working_days(received_at, authority.working_days_to_decide)
    if urgency == Urgency.IMMEDIATE:
        acknowledge = received_at + datetime.timedelta(
            minutes=authority.immediate_acknowledge_minutes
        )
    else:
        acknowledge = calendar.add_working_days(received_at, authority.working_days_to_acknowledge)
    return Deadlines(
        acknowledge_due_at=acknowledge.astimezone(datetime.UTC),
        decision_due_at=max(decide, acknowledge).astimezone(datetime.UTC),
    )
