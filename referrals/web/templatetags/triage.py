"""Deadlines and durations in the words the front door uses: "due in 3 h", "overdue by 2 h"."""

from __future__ import annotations

import datetime
from typing import Any

from django import template

from agencies.models import Role
from referrals.clocks.running import running_clock
from referrals.models import Referral
from referrals.visibility import scope_for_user

register = template.Library()


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


@register.simple_tag
def deadline(referral: Referral, now: datetime.datetime) -> dict[str, Any]:
    """What the queue shows of a referral's clock: which one, when, and how it stands."""
    running = running_clock(referral)
    if running is None:
        return {"due": None, "label": "Clock stopped", "overdue": False, "clock": ""}
    due, clock = running.deadline, running.clock.label
    seconds = (due - now).total_seconds()
    late = running.is_overdue(now)
    label = f"overdue by {_span(-seconds)}" if late else f"due in {_span(seconds)}"
    return {"due": due, "label": label, "overdue": late, "clock": clock}


@register.filter
def duration(value: datetime.timedelta | None) -> str:
    """A median or percentile time, in hours and minutes."""
    if value is None:
        return "No referrals yet"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes} min"


@register.simple_tag
def front_door_nav(user: Any) -> dict[str, bool]:
    """Which front-door pages the navigation offers (the pages themselves check again)."""
    scope = scope_for_user(user)
    works_queue = bool(scope.team_ids or scope.authority_ids)
    return {
        "queue": works_queue,
        "dashboard": works_queue
        and user.memberships.filter(role__in=(Role.TEAM_MANAGER, Role.SERVICE_MANAGER)).exists(),
    }
