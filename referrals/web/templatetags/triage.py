"""Deadlines, ages and durations in the words every page uses: "9am Mon 1 Dec (in 43 hours)"."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import template
from django.utils import timezone

from agencies.capabilities import roles_grant
from agencies.models import Role
from referrals.children.selectors import user_may_find_children
from referrals.clocks.running import running_clock
from referrals.models import Child, Referral
from referrals.visibility import scope_for_user

register = template.Library()

# Written out rather than looked up through Django's date filter or translations: the queue
# formats a deadline for every row, and the service is in English (LANGUAGE_CODE en-gb).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DEADLINE_TEMPLATE = "referrals/includes/deadline.html"


@dataclass(frozen=True)
class Deadline:
    """A referral's running clock as every page shows it, or why no clock runs."""

    label: str = ""  # "Acknowledge by" or "Decide by"; empty when no clock runs
    when: str = ""  # "9am Mon 1 Dec", local time
    relative: str = ""  # "in 43 hours", "2 hours ago"
    iso: str = ""  # for <time datetime="...">
    tag: str = ""  # "Overdue" or "Due today"
    colour: str = ""  # the GOV.UK tag's colour
    stopped: str = ""  # "No deadline: decided"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _span(seconds: float) -> str:
    """A length of time, rounded down: minutes under an hour, hours under two days, days."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return _plural(minutes, "minute")
    hours = minutes // 60
    if hours < 48:
        return _plural(hours, "hour")
    return _plural(hours // 24, "day")


def clock_time(moment: datetime.datetime | datetime.time) -> str:
    """The time of day: "9am", "9:30am"; "midday" and "midnight" as GOV.UK style writes them."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def short_date(day: datetime.date) -> str:
    """A date as "3 Mar 2019"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def referral_deadline(referral: Referral, now: datetime.datetime) -> Deadline:
    """The deadline of the clock the referral runs, in local time, and how it stands at `now`."""
    running = running_clock(referral)
    if running is None:
        return Deadline(stopped=f"No deadline: {referral.get_status_display().lower()}")
    due, today = timezone.localtime(running.deadline), timezone.localtime(now)
    when = f"{clock_time(due)} {WEEKDAYS[due.weekday()]} {due.day} {MONTHS[due.month - 1]}"
    if due.year != today.year:
        when += f" {due.year}"
    seconds = (running.deadline - now).total_seconds()
    late = running.is_overdue(now)
    tag, colour = ("", "")
    if late:
        tag, colour = ("Overdue", "red")
    elif due.date() == today.date():
        tag, colour = ("Due today", "yellow")
    return Deadline(
        label=f"{running.clock.label} by",
        when=when,
        relative=f"{_span(-seconds)} ago" if late else f"in {_span(seconds)}",
        iso=due.isoformat(),
        tag=tag,
        colour=colour,
    )


@register.inclusion_tag(DEADLINE_TEMPLATE, takes_context=True)
def deadline(context: template.Context, referral: Referral) -> dict[str, Any]:
    """A table cell's deadline: the running clock, named, at the page's `now`."""
    now = context.get("now")
    if not isinstance(now, datetime.datetime):
        # A page without a `now` of its own: still one moment for all of its rows.
        now = context.render_context.get("deadline_now")
        if not isinstance(now, datetime.datetime):
            now = context.render_context["deadline_now"] = timezone.now()
    return {"deadline": referral_deadline(referral, now), "named": True}


def child_age(child: Child, today: datetime.date) -> str:
    """The age with the date of birth, "7 years old, born 3 Mar 2019"; or the due date."""
    if child.date_of_birth is None:
        if child.expected_date_of_birth is not None:
            return f"Unborn, due {short_date(child.expected_date_of_birth)}"
        return "Not known"
    born = child.date_of_birth
    if born > today:
        return f"Born {short_date(born)}"
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    if months >= 12:
        old = _plural(months // 12, "year")
    elif months >= 1:
        old = _plural(months, "month")
    else:
        old = _plural((today - born).days, "day")
    return f"{old} old, born {short_date(born)}"


@register.filter
def age(child: Child) -> str:
    """The child's age today (local date) with the date of birth."""
    return child_age(child, timezone.localdate())


@register.filter
def nhs_number(value: str) -> str:
    """An NHS number as the NHS writes it, in groups of 3, 3 and 4 digits."""
    if len(value) != 10:
        return value
    return f"{value[:3]} {value[3:6]} {value[6:]}"


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
    """Which pages the navigation offers: never one the person cannot use (the pages themselves
    check again)."""
    scope = scope_for_user(user)
    works_queue = bool(scope.team_ids or scope.authority_ids)
    return {
        "record": roles_grant(scope.roles, "referrals.add_concern"),
        "find": user_may_find_children(user=user),
        "queue": works_queue,
        "dashboard": works_queue
        and user.memberships.filter(role__in=(Role.TEAM_MANAGER, Role.SERVICE_MANAGER)).exists(),
    }
