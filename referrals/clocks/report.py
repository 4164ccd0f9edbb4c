"""The clocks report for operations: what is overdue or due soon, by ids and times only."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from referrals.clocks.running import RunningClock, due_by_q, running_clock
from referrals.core.states import Clock
from referrals.models import Referral


@dataclass(frozen=True)
class ClockRow:
    """One running clock, for operations: ids and times, never a child's details."""

    referral_id: int
    authority: str
    team: str
    urgency: str
    status: str
    clock: str
    deadline: datetime.datetime
    escalation_level: int
    next_escalation_at: datetime.datetime | None

    @property
    def running(self) -> RunningClock:
        return RunningClock(Clock(self.clock), self.deadline)


def referral_clocks_report(*, now: datetime.datetime, within: datetime.timedelta) -> list[ClockRow]:
    """Open referrals overdue or due within `within`, soonest first (for the ops command)."""
    horizon = now + within
    referrals = (
        Referral.objects.filter(due_by_q(horizon))
        .select_related("local_authority", "team")
        .only(
            "id",
            "status",
            "urgency",
            "acknowledge_due_at",
            "decision_due_at",
            "escalation_level",
            "next_escalation_at",
            "local_authority__name",
            "team__name",
        )
    )
    rows = []
    for referral in referrals.iterator(chunk_size=2000):
        running = running_clock(referral)
        if running is None:
            continue
        clock, deadline = running
        rows.append(
            ClockRow(
                referral_id=referral.pk,
                authority=referral.local_authority.name,
                team=referral.team.name if referral.team else "",
                urgency=referral.urgency,
                status=referral.status,
                clock=clock,
                deadline=deadline,
                escalation_level=referral.escalation_level,
                next_escalation_at=referral.next_escalation_at,
            )
        )
    rows.sort(key=lambda row: (row.deadline, row.referral_id))
    return rows
