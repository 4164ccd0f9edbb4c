"""The escalation sweep: referrals whose statutory clock ran out, told up the ladder exactly once.

Beat only triggers `referral_escalations_sweep`; every deadline lives in a referral column. The
sweep takes due rows with SELECT ... FOR UPDATE SKIP LOCKED, a batch per transaction, and for
the batch writes the Escalations, the timeline events, the referrers' notices, the ladder's
digests and the audit rows (one statement per table, not per referral), and advances each row's
`escalation_level` and `next_escalation_at`, all in that one transaction. So a sweep killed
half-way leaves every row either escalated, advanced and in its digests, or untouched; two sweeps
never take the same row; and a service that changed the referral first (an acknowledgement)
holds the row lock, so the sweep skips it and, next time, sees the clock it left. A rung fires
at most once a run: level 2 falls due a rung interval after level 1 fired."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agencies.models import (
    AgencyKind,
    LocalAuthority,
    Role,
    Team,
    TeamKind,
    User,
)
from referrals.audit import audit_record_each
from referrals.clocks.calendar import (
    LONDON,
    TOP_ESCALATION_LEVEL,
    WorkingCalendar,
    escalation_due_at,
)
from referrals.clocks.running import running_clock
from referrals.core import states
from referrals.core.states import Clock
from referrals.models import (
    AuditAction,
    Escalation,
    NotificationKind,
    Referral,
    ReferralEvent,
)
from referrals.outbox.digests import DigestPart, digests_release, digests_write
from referrals.outbox.notices import Notice, emailed, notices_for, notifications_write
from referrals.outbox.recipients import (
    referral_referrer_recipients,
    safeguarding_leads_by_agency,
    team_members,
    team_memberships,
)

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "escalation sweep"
# The task's name, kept from before the packages existed (queued messages, beat schedules).
SWEEP_TASK = "referrals.tasks.referral_escalations_sweep_task"

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


def _users(queryset: QuerySet[User]) -> tuple[User, ...]:
    return tuple(queryset.filter(is_active=True).distinct().order_by("id"))


class _People:
    """The ladder's rungs for one sweep, each read once per team, authority or agency."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], tuple[User, ...]] = {}

    def _get(self, key: tuple[str, int], query: Callable[[], QuerySet[User]]) -> tuple[User, ...]:
        # The query is only built on a miss: building one costs more than reading the cache.
        if key not in self._cache:
            self._cache[key] = _users(query())
        return self._cache[key]

    def team_managers(self, team_id: int) -> tuple[User, ...]:
        return self._get(
            ("team_managers", team_id),
            lambda: User.objects.filter(
                memberships__team_id=team_id, memberships__role=Role.TEAM_MANAGER
            ),
        )

    def team(self, team_id: int) -> tuple[User, ...]:
        return self._get(
            ("team", team_id),
            lambda: team_members(team_id=team_id),
        )

    def service_managers(self, authority_id: int) -> tuple[User, ...]:
        return self._get(
            ("service_managers", authority_id),
            lambda: User.objects.filter(
                memberships__role=Role.SERVICE_MANAGER,
                memberships__agency__kind=AgencyKind.CHILDRENS_SOCIAL_CARE,
                memberships__agency__local_authority_id=authority_id,
            ),
        )

    def emergency_duty(self, authority_id: int) -> tuple[User, ...]:
        return self._get(
            ("emergency_duty", authority_id),
            lambda: User.objects.filter(
                pk__in=team_memberships(
                    team_ids=Team.objects.filter(
                        kind=TeamKind.EMERGENCY_DUTY, agency__local_authority_id=authority_id
                    ).values_list("pk", flat=True)
                ).values("user_id")
            ),
        )

    def load_leads(self, agency_ids: set[int]) -> None:
        """Read the safeguarding leads of all these agencies not read yet, in one query."""
        missing = {pk for pk in agency_ids if ("leads", pk) not in self._cache}
        if missing:
            for pk, leads in safeguarding_leads_by_agency(missing).items():
                self._cache[("leads", pk)] = tuple(leads)

    def referrer_side(self, referral: Referral) -> list[User]:
        """The referrer and their agency's leads, the leads read once per agency."""
        agency_id = referral.referring_agency_id or 0
        self.load_leads({agency_id})
        return referral_referrer_recipients(referral, leads=self._cache[("leads", agency_id)])


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


@dataclass(frozen=True)
class _Rung:
    """One rung of the ladder, due now for a locked referral: what the batch will write."""

    referral: Referral
    clock: str
    deadline: datetime.datetime
    level: int
    due_at: datetime.datetime
    ladder: Ladder


def _how_late(late: datetime.timedelta) -> str:
    minutes = max(int(late.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    units = ((days, "day"), (hours, "hour"), (minutes, "minute"))
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return " ".join(parts[:2]) or "under a minute"


def _digest_line(rung: _Rung, now: datetime.datetime) -> str:
    """One referral in a digest: ids, urgency, team, how late. Never the child."""
    referral = rung.referral
    team = referral.team.name if referral.team else "no team"
    return (
        f"Referral #{referral.pk} ({referral.get_urgency_display()}, {team}): "
        f"not {_verb(rung.clock)} by {_when(rung.deadline)}, {_how_late(now - rung.deadline)} "
        f"late. Level {rung.level}: {_route_text(rung.ladder, referral)}."
    )


def _digest_parts(
    rungs: list[_Rung], escalations: list[Escalation], now: datetime.datetime
) -> list[DigestPart]:
    """Each person on this batch's rungs: a line per referral escalated to them, and whether
    by email (the alerted; managers off duty only in the app)."""
    by_email = emailed(NotificationKind.ESCALATION, {u.pk for r in rungs for u in r.ladder.alerted})
    parts: dict[int, DigestPart] = {}
    for rung, escalation in zip(rungs, escalations, strict=True):
        line = _digest_line(rung, now)
        told = [(u, u.pk in by_email) for u in rung.ladder.alerted]
        told += [(u, False) for u in rung.ladder.in_app_only]
        for person, email in told:
            if person.is_agency_system:
                continue
            part = parts.setdefault(person.pk, DigestPart(recipient_id=person.pk))
            part.add(
                referral_id=rung.referral.pk, escalation_id=escalation.pk, line=line, email=email
            )
    return list(parts.values())


def _referrer_notices(
    rung: _Rung, escalation: Escalation, people: _People, now: datetime.datetime
) -> list[Notice]:
    """At level 1 the referrer's side is told, once per clock and referral: it passed its
    deadline, who has it now, when the service managers will be told, and whom to call."""
    referral, deadline = rung.referral, rung.deadline
    authority = referral.local_authority
    verb = _verb(rung.clock)
    next_rung = escalation_due_at(
        authority=authority, deadline=deadline, level=2, below_fired_at=now
    )
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
    return notices_for(
        recipients=people.referrer_side(referral),
        subject="Your referral has passed its deadline",
        body=(
            f"Referral #{referral.pk} was not {verb} by {authority.name} by its deadline, "
            f"{_when(deadline)}. It has been escalated to {_route_text(rung.ladder, referral)}."
            f"{then} If a child is at immediate risk, call {phones + ' or ' if phones else ''}999."
        ),
        kind=NotificationKind.ESCALATION,
        referral_id=referral.pk,
        escalation_id=escalation.pk,
    )


def _write(rungs: list[_Rung], *, people: _People, digest_key: str, now: datetime.datetime) -> None:
    """Write a batch's rungs, a statement per table: escalations, events, the referrers'
    notices, the digests and their links, audit."""
    if not rungs:
        return
    escalations = Escalation.objects.bulk_create(
        [
            Escalation(referral=r.referral, clock=r.clock, level=r.level, due_at=r.due_at)
            for r in rungs
        ]
    )
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(
                referral=r.referral,
                kind=ReferralEvent.Kind.ESCALATED,
                agency_id=r.referral.team.agency_id if r.referral.team else None,
                text=(
                    f"Not {_verb(r.clock)} by the deadline, {_when(r.deadline)}. "
                    f"Level {r.level}: {_route_text(r.ladder, r.referral)} told."
                ),
            )
            for r in rungs
        ]
    )
    people.load_leads({r.referral.referring_agency_id or 0 for r in rungs if r.level == 1})
    notifications_write(
        [
            notice
            for rung, escalation in zip(rungs, escalations, strict=True)
            if rung.level == 1
            for notice in _referrer_notices(rung, escalation, people, now)
        ]
    )
    # The ladder's people: one digest each for the whole run, whatever the batches.
    digests_write(key=digest_key, parts=_digest_parts(rungs, escalations, now))
    # Last: the audit chain's lock is held from here to the commit, so keep that short.
    audit_record_each(
        actor=None,
        actor_label=SWEEP_ACTOR,
        action=AuditAction.ESCALATE,
        records=[
            (
                r.referral,
                {
                    "clock": r.clock,
                    "level": r.level,
                    "route": r.ladder.route,
                    "out_of_hours": r.ladder.out_of_hours,
                    "told": sorted({u.pk for u in (*r.ladder.alerted, *r.ladder.in_app_only)}),
                },
            )
            for r in rungs
        ],
    )


_CLOCKS_UPDATE = """
    UPDATE referrals_referral AS referral
    SET escalation_level = clock.escalation_level,
        next_escalation_at = clock.next_escalation_at,
        updated_at = %s
    FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[])
        AS clock(id, escalation_level, next_escalation_at)
    WHERE referral.id = clock.id
"""


def _save_clocks(referrals: list[Referral]) -> None:
    """Store each referral's new level and next escalation time, in one statement."""
    if not referrals:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _CLOCKS_UPDATE,
                [
                    now,
                    [r.pk for r in referrals],
                    [r.escalation_level for r in referrals],
                    [r.next_escalation_at for r in referrals],
                ],
            )
        return
    for referral in referrals:
        referral.updated_at = now
    Referral.objects.bulk_update(
        referrals, ["escalation_level", "next_escalation_at", "updated_at"]
    )


def _due(now: datetime.datetime) -> QuerySet[Referral]:
    # The same condition as the partial index referral_escalation_due, so the index serves it.
    return Referral.objects.filter(
        states.status_q(states.OPEN), next_escalation_at__lte=now
    ).order_by("next_escalation_at", "id")


# What the sweep reads of a due referral and its team and referrer; nothing else is touched
# (building a whole referral with four related rows costs more than everything it writes).
_SWEEP_FIELDS = (
    "id",
    "kind",
    "status",
    "urgency",
    "acknowledge_due_at",
    "decision_due_at",
    "escalation_level",
    "next_escalation_at",
    "local_authority_id",
    "referring_agency_id",
    "team__name",
    "team__agency_id",
    "referrer__is_active",
    "referrer__is_agency_system",
)


class _Calendars:
    """Each authority of one sweep and its working calendar, read once."""

    def __init__(self) -> None:
        self._authorities: dict[int, LocalAuthority] = {}
        self._calendars: dict[int, WorkingCalendar] = {}

    def authority(self, pk: int) -> LocalAuthority:
        if pk not in self._authorities:
            self._authorities[pk] = LocalAuthority.objects.get(pk=pk)
        return self._authorities[pk]

    def calendar(self, authority: LocalAuthority) -> WorkingCalendar:
        return self._calendars.setdefault(authority.pk, WorkingCalendar(authority))


def _sweep_batch(
    *,
    now: datetime.datetime,
    batch_size: int,
    people: _People,
    calendars: _Calendars,
    digest_key: str,
) -> tuple[int, int]:
    """Escalate one batch in one transaction; return (rows taken, escalations written)."""
    with transaction.atomic():
        due = _due(now).select_related("team", "referrer").only(*_SWEEP_FIELDS)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        # SQLite has no row locks: there each transaction takes the database's write lock
        # when it begins (transaction_mode IMMEDIATE), so sweeps and services take turns.
        referrals = list(due[:batch_size])
        for referral in referrals:
            referral.local_authority = calendars.authority(referral.local_authority_id)
        rungs = [
            rung
            for referral in referrals
            if (rung := _advance(referral, now=now, calendars=calendars, people=people))
        ]
        _write(rungs, people=people, digest_key=digest_key, now=now)
        _save_clocks(referrals)
    return len(referrals), len(rungs)


def _advance(
    referral: Referral,
    *,
    now: datetime.datetime,
    calendars: _Calendars,
    people: _People,
) -> _Rung | None:
    """Re-check one locked referral: its rung due now, if any, and its clock moved on."""
    running = running_clock(referral)
    if running is None:
        # No clock runs (a constraint makes this unreachable): stop looking at the row.
        referral.next_escalation_at = None
        return None
    clock, deadline = running
    authority: LocalAuthority = referral.local_authority
    level = referral.escalation_level + 1
    due_at: datetime.datetime | None = None
    if level == 1:
        due_at = escalation_due_at(authority=authority, deadline=deadline, level=1)
    elif level <= TOP_ESCALATION_LEVEL:
        # Timed from when the rung below actually fired, which stored it then.
        due_at = referral.next_escalation_at
    rung = None
    if due_at is not None and due_at <= now:
        out_of_hours = not calendars.calendar(authority).is_working_time(now)
        rung = _Rung(
            referral=referral,
            clock=clock,
            deadline=deadline,
            level=level,
            due_at=due_at,
            ladder=_ladder(referral, level, out_of_hours=out_of_hours, people=people),
        )
        referral.escalation_level = level
        due_at = escalation_due_at(
            authority=authority, deadline=deadline, level=level + 1, below_fired_at=now
        )
    # After the top rung, or when the stored time was stale, the column says what is next.
    referral.next_escalation_at = due_at
    return rung


def referral_escalations_sweep(
    *,
    now: datetime.datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> int:
    """Escalate every referral whose clock has run out, one rung each; return how many.

    The ladder's people get one digest each for the run, written batch by batch and emailed
    when the run ends (or, if it dies, when the digest's hold runs out)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.ESCALATION_SWEEP_BATCH_SIZE
    people = _People()
    calendars = _Calendars()
    digest_key = f"sweep:{uuid.uuid4().hex}"
    made = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        taken, written = _sweep_batch(
            now=now,
            batch_size=batch_size,
            people=people,
            calendars=calendars,
            digest_key=digest_key,
        )
        made += written
        batches += 1
        if taken < batch_size:
            break
    if made:
        digests_release(key=digest_key)
    if made:
        logger.info("Escalation sweep: %s escalations in %s batches.", made, batches)
    return made
