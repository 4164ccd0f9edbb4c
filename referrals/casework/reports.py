"""Reads for managers: how the front door is doing against the statutory clock.

Scoped by the caller to the teams a manager may see. Everything here works on PostgreSQL and on
the demo's SQLite; the per-period figures read at most a month of one team's referrals.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from referrals.clocks.calendar import LONDON
from referrals.clocks.running import overdue_q
from referrals.core import states
from referrals.models import Decision, Referral


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: a table of labels and numbers, each row with a bar as wide as
    its share of the largest (templates/referrals/includes/bar_chart.html)."""

    title: str
    bars: list[Bar]

    @property
    def maximum(self) -> int:
        return max([bar.value for bar in self.bars] + [1])

    def rows(self) -> list[tuple[Bar, int]]:
        """Each bar with its width in whole percent of the largest: at least 1 when not zero,
        so a small number never looks like none."""
        return [
            (bar, max(round(100 * bar.value / self.maximum), 1) if bar.value else 0)
            for bar in self.bars
        ]


@dataclass(frozen=True)
class ClockShare:
    """A fraction met within the clock, with what it is out of."""

    met: int
    total: int

    @property
    def percent(self) -> int | None:
        return None if self.total == 0 else round(100 * self.met / self.total)


@dataclass(frozen=True)
class Durations:
    count: int
    median: datetime.timedelta | None
    p90: datetime.timedelta | None


@dataclass(frozen=True)
class Dashboard:
    received_per_day: Chart
    outcomes: Chart
    acknowledged_in_time_week: ClockShare
    acknowledged_in_time_month: ClockShare
    decided_in_time_week: ClockShare
    decided_in_time_month: ClockShare
    time_to_acknowledge: Durations
    time_to_decide: Durations
    overdue_now: int
    escalated_now: int


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below it."""
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def durations(
    pairs: Iterable[tuple[datetime.datetime | None, datetime.datetime | None]],
) -> Durations:
    seconds = [(end - start).total_seconds() for start, end in pairs if start and end]
    if not seconds:
        return Durations(0, None, None)
    return Durations(
        len(seconds),
        datetime.timedelta(seconds=round(statistics.median(seconds))),
        datetime.timedelta(seconds=round(_percentile(seconds, 0.9))),
    )


def _within_clock(
    referrals: QuerySet[Referral],
    *,
    since: datetime.datetime,
    now: datetime.datetime,
    done: str,
    due: str,
) -> ClockShare:
    """Of referrals received since `since` whose clock has run out or been met, how many met it."""
    judged = referrals.filter(submitted_at__gte=since).filter(
        Q(**{f"{done}__isnull": False}) | Q(**{f"{due}__lt": now})
    )
    counts = judged.aggregate(
        total=Count("id"),
        met=Count("id", filter=Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)})),
    )
    return ClockShare(met=counts["met"], total=counts["total"])


def _received_per_day(referrals: QuerySet[Referral], *, today: datetime.date, days: int) -> Chart:
    start = today - datetime.timedelta(days=days - 1)
    since = datetime.datetime.combine(start, datetime.time(), tzinfo=LONDON)
    counts = dict(
        referrals.filter(submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at", tzinfo=LONDON))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    bars = [
        Bar(label=f"{day:%d %b}", value=counts.get(day, 0))
        for day in (start + datetime.timedelta(days=i) for i in range(days))
    ]
    return Chart(title=f"Referrals received per day, last {days} days", bars=bars)


def _outcomes(referrals: QuerySet[Referral], *, since: datetime.datetime) -> Chart:
    counts = dict(
        Decision.objects.filter(referral__in=referrals, decided_at__gte=since)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    bars = [
        Bar(label=label, value=counts.get(value, 0)) for value, label in Decision.Outcome.choices
    ]
    return Chart(title="Outcomes this month", bars=bars)


def team_dashboard(
    *, referrals: QuerySet[Referral], now: datetime.datetime | None = None
) -> Dashboard:
    """The figures for a manager's dashboard over `referrals` (already scoped to their teams)."""
    now = now or timezone.now()
    today = now.astimezone(LONDON).date()
    week_start = datetime.datetime.combine(
        today - datetime.timedelta(days=today.weekday()), datetime.time(), tzinfo=LONDON
    )
    month_start = datetime.datetime.combine(today.replace(day=1), datetime.time(), tzinfo=LONDON)
    received = referrals.filter(states.received_q())
    awaiting = received.filter(states.status_q(states.OPEN))
    month = received.filter(submitted_at__gte=month_start)
    return Dashboard(
        received_per_day=_received_per_day(received, today=today, days=14),
        outcomes=_outcomes(received, since=month_start),
        acknowledged_in_time_week=_within_clock(
            received, since=week_start, now=now, done="acknowledged_at", due="acknowledge_due_at"
        ),
        acknowledged_in_time_month=_within_clock(
            received, since=month_start, now=now, done="acknowledged_at", due="acknowledge_due_at"
        ),
        decided_in_time_week=_within_clock(
            received, since=week_start, now=now, done="decided_at", due="decision_due_at"
        ),
        decided_in_time_month=_within_clock(
            received, since=month_start, now=now, done="decided_at", due="decision_due_at"
        ),
        time_to_acknowledge=durations(
            month.filter(acknowledged_at__isnull=False).values_list(
                "submitted_at", "acknowledged_at"
            )
        ),
        time_to_decide=durations(
            month.filter(decided_at__isnull=False).values_list("submitted_at", "decided_at")
        ),
        overdue_now=awaiting.filter(overdue_q(now)).count(),
        escalated_now=awaiting.filter(escalation_level__gt=0).count(),
    )
