"""The escalation sweep: referrals whose statutory clock ran out, told up the ladder exactly once.

Beat only triggers `referral_escalations_sweep`; every deadline lives in a referral column. The
sweep takes due rows with SELECT ... FOR UPDATE SKIP LOCKED, a batch per transaction, and for
each writes the Escalation, the timeline event, the Notification rows and the audit row, and
advances `escalation_level` and `next_escalation_at`, all in that one transaction. So a sweep
killed half-way leaves every row either escalated and advanced, or untouched; two sweeps never
take the same row; and a service that changed the referral first (an acknowledgement) holds the
row lock, so the sweep skips it and, next time, sees the clock it left.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from agencies.models import (
    TEAM_ROLES,
    AgencyKind,
    LocalAuthority,
    Role,
    TeamKind,
    User,
)
from referrals.audit import audit_record
from referrals.clock import LONDON, WorkingCalendar, escalation_due_at
from referrals.models import (
    AuditAction,
    Clock,
    Escalation,
    Notification,
    Referral,
    ReferralEvent,
)
from referrals.services import notifications_create, referral_referrer_recipients

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "escalation sweep"
# The statuses whose acknowledgement clock runs; every other awaiting status runs the decision's.
_ACKNOWLEDGE_STATUSES = (Referral.Status.SUBMITTED,)

ROUTE_TEAM_MANAGERS = "team managers"
ROUTE_SERVICE_MANAGERS = "service managers"
ROUTE_TEAM = "team"
ROUTE_EMERGENCY_DUTY_TEAM = "emergency duty team"


@dataclass(frozen=True)
class Ladder:
    """Who is told at one rung: by email and in the app, and in the app only."""

    route: str
    alerted: tuple[User, ...]
    in_app_only: tuple[User, ...]
    out_of_hours: bool


def running_clock(referral: Referral) -> tuple[str, datetime.datetime] | None:
    """The clock a referral's status runs, and its deadline; None when no clock runs."""
    if referral.status in _ACKNOWLEDGE_STATUSES and referral.acknowledge_due_at:
        return Clock.ACKNOWLEDGE, referral.acknowledge_due_at
    if referral.status in Referral.AWAITING and referral.decision_due_at:
        return Clock.DECIDE, referral.decision_due_at
    return None


def _users(queryset: QuerySet[User]) -> tuple[User, ...]:
    return tuple(queryset.filter(is_active=True).distinct().order_by("id"))


class _People:
    """The ladder's rungs for one sweep, each read once per team or authority."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], tuple[User, ...]] = {}

    def _get(self, key: tuple[str, int], queryset: QuerySet[User]) -> tuple[User, ...]:
        if key not in self._cache:
            self._cache[key] = _users(queryset)
        return self._cache[key]

    def team_managers(self, team_id: int) -> tuple[User, ...]:
        return self._get(
            ("team_managers", team_id),
            User.objects.filter(memberships__team_id=team_id, memberships__role=Role.TEAM_MANAGER),
        )

    def team(self, team_id: int) -> tuple[User, ...]:
        return self._get(
            ("team", team_id),
            User.objects.filter(memberships__team_id=team_id, memberships__role__in=TEAM_ROLES),
        )

    def service_managers(self, authority_id: int) -> tuple[User, ...]:
        return self._get(
            ("service_managers", authority_id),
            User.objects.filter(
                memberships__role=Role.SERVICE_MANAGER,
                memberships__agency__kind=AgencyKind.CHILDRENS_SOCIAL_CARE,
                memberships__agency__local_authority_id=authority_id,
            ),
        )

    def emergency_duty(self, authority_id: int) -> tuple[User, ...]:
        return self._get(
            ("emergency_duty", authority_id),
            User.objects.filter(
                memberships__team__kind=TeamKind.EMERGENCY_DUTY,
                memberships__team__agency__local_authority_id=authority_id,
                memberships__role__in=TEAM_ROLES,
            ),
        )


def _ladder(referral: Referral, level: int, *, out_of_hours: bool, people: _People) -> Ladder:
    """Level 1 the team's managers, level 2 the service managers; out of hours the EDT."""
    team_id = referral.team_id or 0  # every submitted referral has a team (a constraint)
    rungs = [
        (ROUTE_TEAM_MANAGERS, people.team_managers(team_id)),
        (ROUTE_SERVICE_MANAGERS, people.service_managers(referral.local_authority_id)),
    ]
    if level >= 2:
        rungs.reverse()
    # Nobody on the rung (a team without a manager) must not mean nobody is told.
    rungs.append((ROUTE_TEAM, people.team(team_id)))
    route, managers = next(((r, p) for r, p in rungs if p), rungs[0])
    if out_of_hours:
        duty = people.emergency_duty(referral.local_authority_id)
        if duty:
            # The managers are off duty: it waits in their app; the EDT is alerted now.
            return Ladder(
                route=ROUTE_EMERGENCY_DUTY_TEAM,
                alerted=duty,
                in_app_only=tuple(m for m in managers if m not in duty),
                out_of_hours=True,
            )
    return Ladder(route=route, alerted=managers, in_app_only=(), out_of_hours=out_of_hours)


def _when(at: datetime.datetime) -> str:
    return f"{at.astimezone(LONDON):%H:%M on %-d %B %Y}"


def _verb(clock: str) -> str:
    return "acknowledged" if clock == Clock.ACKNOWLEDGE else "decided"


def _route_text(ladder: Ladder, referral: Referral) -> str:
    team = referral.team.name if referral.team else "the receiving team"
    if ladder.route == ROUTE_EMERGENCY_DUTY_TEAM:
        return "out of hours, the emergency duty team"
    if ladder.route == ROUTE_TEAM_MANAGERS:
        return f"the {team} team managers"
    if ladder.route == ROUTE_SERVICE_MANAGERS:
        return "the service managers"
    return f"the {team} team"


def _escalate(
    referral: Referral,
    *,
    clock: str,
    deadline: datetime.datetime,
    level: int,
    due_at: datetime.datetime,
    out_of_hours: bool,
    people: _People,
) -> Escalation:
    """Write one rung of the ladder for a locked referral: escalation, event, notices, audit."""
    authority = referral.local_authority
    ladder = _ladder(referral, level, out_of_hours=out_of_hours, people=people)
    escalation = Escalation.objects.create(
        referral=referral, clock=clock, level=level, due_at=due_at
    )
    verb = _verb(clock)
    route = _route_text(ladder, referral)
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.ESCALATED,
        agency=referral.team.agency if referral.team else None,
        text=f"Not {verb} by the deadline, {_when(deadline)}. Level {level}: {route} told.",
    )
    link = f"{settings.SITE_URL}/referrals/{referral.pk}/"
    subject = f"Escalation: referral #{referral.pk} not {verb} in time"
    body = (
        f"Referral #{referral.pk} ({referral.get_urgency_display()}) was due to be {verb} "
        f"by {_when(deadline)}. It is escalated to you (level {level}: {route}). {link}"
    )
    notifications_create(
        recipients=ladder.alerted,
        subject=subject,
        body=body,
        referral=referral,
        escalation=escalation,
    )
    notifications_create(
        recipients=ladder.in_app_only,
        subject=subject,
        body=body,
        referral=referral,
        escalation=escalation,
        channels=(Notification.Channel.IN_APP,),
    )
    if level == 1:
        # The referrer is told once per clock: it passed its deadline, and who now has it.
        next_rung = escalation_due_at(authority=authority, deadline=deadline, level=2)
        then = (
            f" If it is still not {verb} by {_when(next_rung)}, the service managers are told."
            if next_rung
            else ""
        )
        phones = ", ".join(
            f"{label} {number}"
            for label, number in (
                ("front door", authority.front_door_phone),
                ("out of hours", authority.out_of_hours_phone),
            )
            if number
        )
        notifications_create(
            recipients=referral_referrer_recipients(referral),
            subject="Your referral has passed its deadline",
            body=(
                f"Referral #{referral.pk} was not {verb} by {authority.name} by its deadline, "
                f"{_when(deadline)}. It has been escalated to {route}.{then}"
                f" If a child is at immediate risk, call {phones + ' or ' if phones else ''}999."
                f" {link}"
            ),
            referral=referral,
            escalation=escalation,
        )
    audit_record(
        actor=None,
        actor_label=SWEEP_ACTOR,
        action=AuditAction.ESCALATE,
        target=referral,
        data={
            "clock": clock,
            "level": level,
            "route": ladder.route,
            "out_of_hours": ladder.out_of_hours,
            "told": sorted({u.pk for u in (*ladder.alerted, *ladder.in_app_only)}),
        },
    )
    return escalation


def _due(now: datetime.datetime) -> QuerySet[Referral]:
    # The same condition as the partial index referral_escalation_due, so the index serves it.
    return Referral.objects.filter(
        status__in=Referral.AWAITING, next_escalation_at__lte=now
    ).order_by("next_escalation_at", "id")


def _sweep_batch(*, now: datetime.datetime, batch_size: int, people: _People) -> tuple[int, int]:
    """Escalate one batch in one transaction; return (rows taken, escalations written)."""
    calendars: dict[int, WorkingCalendar] = {}
    made = 0
    with transaction.atomic():
        due = _due(now).select_related("local_authority", "team__agency", "referrer")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        # SQLite has no row locks: there each transaction takes the database's write lock
        # when it begins (transaction_mode IMMEDIATE), so sweeps and services take turns.
        referrals = list(due[:batch_size])
        for referral in referrals:
            made += _advance(referral, now=now, calendars=calendars, people=people)
    return len(referrals), made


def _advance(
    referral: Referral,
    *,
    now: datetime.datetime,
    calendars: dict[int, WorkingCalendar],
    people: _People,
) -> int:
    """Re-check one locked referral and take it one rung up; return escalations written."""
    running = running_clock(referral)
    if running is None:
        # No clock runs (a constraint makes this unreachable): stop looking at the row.
        referral.next_escalation_at = None
        referral.save(update_fields=["next_escalation_at", "updated_at"])
        return 0
    clock, deadline = running
    authority: LocalAuthority = referral.local_authority
    level = referral.escalation_level + 1
    due_at = escalation_due_at(authority=authority, deadline=deadline, level=level)
    made = 0
    if due_at is not None and due_at <= now:
        calendar = calendars.setdefault(authority.pk, WorkingCalendar(authority))
        _escalate(
            referral,
            clock=clock,
            deadline=deadline,
            level=level,
            due_at=due_at,
            out_of_hours=not calendar.is_working_time(now),
            people=people,
        )
        referral.escalation_level = level
        made = 1
        due_at = escalation_due_at(authority=authority, deadline=deadline, level=level + 1)
    # After the top rung, or when the stored time was stale, the column says what is next.
    referral.next_escalation_at = due_at
    referral.save(update_fields=["escalation_level", "next_escalation_at", "updated_at"])
    return made


def referral_escalations_sweep(
    *,
    now: datetime.datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> int:
    """Escalate every referral whose clock has run out, one rung each; return how many."""
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCALATION_SWEEP_BATCH_SIZE
    people = _People()
    made = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        taken, written = _sweep_batch(now=now, batch_size=batch_size, people=people)
        made += written
        batches += 1
        if taken < batch_size:
            break
    if made:
        logger.info("Escalation sweep: %s escalations in %s batches.", made, batches)
    return made


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


def referral_clocks_report(*, now: datetime.datetime, within: datetime.timedelta) -> list[ClockRow]:
    """Open referrals overdue or due within `within`, soonest first (for the ops command)."""
    horizon = now + within
    referrals = (
        Referral.objects.filter(
            Q(status__in=_ACKNOWLEDGE_STATUSES, acknowledge_due_at__lte=horizon)
            | Q(
                ~Q(status__in=_ACKNOWLEDGE_STATUSES),
                status__in=Referral.AWAITING,
                decision_due_at__lte=horizon,
            )
        )
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
