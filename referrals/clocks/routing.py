"""Routing: which of the receiving authority's teams takes a referral, by its rules."""

from __future__ import annotations

import datetime

from django.db.models import Q

from agencies.models import RoutingRule, Team
from referrals.clocks.calendar import WorkingCalendar
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import Child, Referral


def _child_age(child: Child, on: datetime.date) -> int | None:
    if child.date_of_birth is None:
        return None if child.expected_date_of_birth is None else 0
    born = child.date_of_birth
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def referral_route(
    *, referral: Referral, at: datetime.datetime, calendar: WorkingCalendar | None = None
) -> Team:
    """The receiving team: the first of the authority's routing rules that matches."""
    authority = referral.local_authority
    in_hours = (calendar or WorkingCalendar(authority)).is_working_time(at)
    age = _child_age(referral.child, at.date())
    rules = (
        RoutingRule.objects.filter(local_authority=authority, is_active=True)
        .filter(Q(urgency="") | Q(urgency=referral.urgency))
        .filter(Q(category="") | Q(category=referral.category))
        .exclude(out_of_hours=RoutingRule.OutOfHours.IN_HOURS if not in_hours else "-")
        .exclude(out_of_hours=RoutingRule.OutOfHours.OUT_OF_HOURS if in_hours else "-")
        .select_related("team")
        .order_by("position", "id")
    )
    for rule in rules:
        if age is not None and rule.min_age is not None and age < rule.min_age:
            continue
        if age is not None and rule.max_age is not None and age > rule.max_age:
            continue
        return rule.team
    raise ApplicationError(errors.REFERRAL_NO_ROUTE, code="no_route")
