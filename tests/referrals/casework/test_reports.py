"""The manager's figures: received per day, within the clock, durations, outcomes, overdue."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from referrals.casework.reports import durations, team_dashboard
from referrals.clocks.calendar import LONDON
from referrals.models import Referral
from tests import factories

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=LONDON)  # a Wednesday


def _received(hours_ago: float, **extra: Any) -> Any:
    submitted = NOW - datetime.timedelta(hours=hours_ago)
    due = submitted + datetime.timedelta(hours=24)
    return factories.SubmittedReferralFactory.create(
        submitted_at=submitted, acknowledge_due_at=due, decision_due_at=due, **extra
    )


def test_durations_take_the_median_and_the_nearest_rank_90th_percentile() -> None:
    start = NOW
    pairs = [(start, start + datetime.timedelta(hours=h)) for h in range(1, 11)]
    result = durations(pairs)
    assert result.count == 10
    assert result.median == datetime.timedelta(hours=5, minutes=30)
    assert result.p90 == datetime.timedelta(hours=9)
    assert durations([]).median is None


@pytest.mark.django_db
def test_the_dashboard_counts_against_the_clock() -> None:
    on_time = _received(30, status="acknowledged")
    on_time.acknowledged_at = on_time.submitted_at + datetime.timedelta(hours=2)
    on_time.save()
    late = _received(40, status="acknowledged")
    late.acknowledged_at = late.acknowledge_due_at + datetime.timedelta(hours=1)
    late.save()
    _received(26)  # never acknowledged, its day has passed
    _received(1)  # still within its clock: not judged yet
    _received(50, escalation_level=1)

    board = team_dashboard(referrals=Referral.objects.all(), now=NOW)

    # Judged this week: on_time, late, overdue, escalated (received Monday); one met the clock.
    assert (board.acknowledged_in_time_week.met, board.acknowledged_in_time_week.total) == (1, 4)
    assert board.acknowledged_in_time_week.percent == 25
    assert board.overdue_now == 4  # late's decision clock has also run out
    assert board.escalated_now == 1
    assert board.time_to_acknowledge.count == 2
    per_day = {bar.label: bar.value for bar in board.received_per_day.bars}
    assert (per_day["25 Nov"], per_day["24 Nov"], per_day["23 Nov"]) == (1, 2, 2)
    assert sum(per_day.values()) == 5
    assert len(board.received_per_day.bars) == 14
