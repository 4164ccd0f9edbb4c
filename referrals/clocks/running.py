"""The running clock: which statutory clock a referral runs, its deadline, and when it is late.

The one place these are decided: the sweep, the queue, the dashboards and the pages all ask here
(and the statuses each clock runs in come from the state table, referrals.core.states).
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from django.db.models import Q

from referrals.clocks.calendar import WorkingCalendar, referral_deadlines
from referrals.clocks.routing import referral_route
from referrals.core import states
from referrals.core.states import Clock
from referrals.models import Referral


class RunningClock(NamedTuple):
    clock: Clock
    deadline: datetime.datetime

    def is_overdue(self, now: datetime.datetime) -> bool:
        """Past its deadline (overdue_q asks the same of the database)."""
        return self.deadline < now


def running_clock(referral: Referral) -> RunningClock | None:
    """The clock a referral's status runs, and its deadline; None when no clock runs."""
    clock = states.clock_for(referral.status)
    if clock == Clock.ACKNOWLEDGE and referral.acknowledge_due_at:
        return RunningClock(clock, referral.acknowledge_due_at)
    if clock is not None and referral.decision_due_at:
        return RunningClock(Clock.DECIDE, referral.decision_due_at)
    return None


def overdue_q(now: datetime.datetime) -> Q:
    """Open referrals past the deadline of the clock they run.

    The decision is never due before the acknowledgement, so a referral awaiting
    acknowledgement is late once either has passed.
    """
    return states.status_q(states.OPEN) & (
        states.status_q(states.AWAITING_ACKNOWLEDGEMENT) & Q(acknowledge_due_at__lt=now)
        | Q(decision_due_at__lt=now)
    )


def due_by_q(horizon: datetime.datetime) -> Q:
    """Open referrals whose running clock falls due by `horizon` (or already has)."""
    awaiting_acknowledgement = states.status_q(states.AWAITING_ACKNOWLEDGEMENT)
    return awaiting_acknowledgement & Q(acknowledge_due_at__lte=horizon) | (
        ~awaiting_acknowledgement & states.status_q(states.OPEN) & Q(decision_due_at__lte=horizon)
    )


def referral_clocks_start(*, referral: Referral, now: datetime.datetime) -> None:
    """Route a referral being submitted and start its clocks from `now` (the caller saves)."""
    calendar = WorkingCalendar(referral.local_authority)
    referral.team = referral_route(referral=referral, at=now, calendar=calendar)
    deadlines = referral_deadlines(
        authority=referral.local_authority,
        urgency=referral.urgency,
        received_at=now,
        calendar=calendar,
    )
    referral.submitted_at = now
    referral.acknowledge_due_at = deadlines.acknowledge_due_at
    referral.decision_due_at = deadlines.decision_due_at
    referral.next_escalation_at = deadlines.acknowledge_due_at
    referral.escalation_level = 0
