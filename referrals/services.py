"""Every write to children, concerns and referrals.

Each state change re-reads its row under a lock, checks the state, writes the change, its
timeline event and its audit row in one transaction, and schedules side effects on commit.
Notifications are outbox rows written in that same transaction; the relay sends them.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from agencies.models import (
    SAFEGUARDING_LEAD_ROLES,
    TEAM_ROLES,
    Agency,
    LocalAuthority,
    Membership,
    RoutingRule,
    Team,
    User,
)
from referrals import errors
from referrals.audit import audit_record, audit_rows_last
from referrals.clock import WorkingCalendar, referral_deadlines
from referrals.errors import ApplicationError
from referrals.models import (
    AuditAction,
    Child,
    Concern,
    Decision,
    Notification,
    Referral,
    ReferralEvent,
    Share,
)
from referrals.permissions import user_has_capability, user_is_referrer_side

logger = logging.getLogger(__name__)


# Notifications -----------------------------------------------------------------------------


def _relay_soon() -> None:
    """Ask a worker to send the outbox now; the periodic relay catches it if this is lost."""
    from referrals.tasks import notifications_relay_task

    try:
        notifications_relay_task.apply_async(retry=False)
    except Exception:  # noqa: BLE001 - the broker being down must never fail a committed write
        logger.warning("Could not queue the notification relay; the periodic relay will send.")


@dataclass(frozen=True)
class Notice:
    """One outbox row to write, by ids: a recipient on one channel."""

    recipient_id: int
    channel: str
    subject: str
    body: str
    referral_id: int | None = None
    escalation_id: int | None = None


# One statement for any number of rows: the arrays go as parameters, UNNEST makes the rows.
# Django's bulk_create costs about three times as much per row (a model instance and a
# prepared value per field), which an escalation sweep writing 800,000 rows feels.
_NOTICE_COLUMNS = (
    "recipient_id",
    "channel",
    "subject",
    "body",
    "referral_id",
    "escalation_id",
    "status",
    "next_attempt_at",
    "sent_at",
)
_NOTICES_INSERT = """
    INSERT INTO referrals_notification (
        recipient_id, channel, subject, body, referral_id, escalation_id, status,
        next_attempt_at, sent_at, attempts, last_error, created_at
    )
    SELECT *, 0, '', now() FROM unnest(
        %s::bigint[], %s::varchar[], %s::varchar[], %s::text[], %s::bigint[], %s::bigint[],
        %s::varchar[], %s::timestamptz[], %s::timestamptz[]
    )
"""


def _outbox_row(notice: Notice, now: datetime.datetime) -> dict[str, Any]:
    """A notice as its row: in-app ones are delivered by being stored, email waits to be sent."""
    in_app = notice.channel == Notification.Channel.IN_APP
    return {
        "recipient_id": notice.recipient_id,
        "channel": notice.channel,
        "subject": notice.subject,
        "body": notice.body,
        "referral_id": notice.referral_id,
        "escalation_id": notice.escalation_id,
        "status": Notification.Status.SENT if in_app else Notification.Status.PENDING,
        "next_attempt_at": None if in_app else now,
        "sent_at": now if in_app else None,
    }


def notifications_write(notices: Sequence[Notice]) -> int:
    """Write outbox rows in one statement; return how many.

    In-app rows are written sent, so the relay only ever looks at email. Once per
    transaction, a relay is asked for on commit.
    """
    if not notices:
        return 0
    now = timezone.now()
    rows = [_outbox_row(notice, now) for notice in notices]
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _NOTICES_INSERT, [[row[name] for row in rows] for name in _NOTICE_COLUMNS]
            )
    else:
        Notification.objects.bulk_create([Notification(**row) for row in rows])
    pending = connection.run_on_commit
    emails = any(notice.channel == Notification.Channel.EMAIL for notice in notices)
    if emails and not any(callback is _relay_soon for _, callback, _ in pending):
        transaction.on_commit(_relay_soon)  # once per transaction, however many rows
    return len(notices)


def notices_for(
    *,
    recipients: Iterable[User],
    subject: str,
    body: str,
    referral_id: int | None = None,
    escalation_id: int | None = None,
    channels: Sequence[str] = (Notification.Channel.IN_APP, Notification.Channel.EMAIL),
) -> list[Notice]:
    """One notice per active person (never an agency's system account) and channel."""
    people = {r.pk: r for r in recipients if r.is_active and not r.is_agency_system}
    return [
        Notice(
            recipient_id=pk,
            channel=channel,
            subject=subject,
            body=body,
            referral_id=referral_id,
            escalation_id=escalation_id,
        )
        for pk in people
        for channel in channels
    ]


def notifications_create(
    *,
    recipients: Iterable[User],
    subject: str,
    body: str,
    referral: Referral | None = None,
    channels: Sequence[str] = (Notification.Channel.IN_APP, Notification.Channel.EMAIL),
) -> int:
    """Queue one notification per recipient and channel. Never put a child's name in them."""
    return notifications_write(
        notices_for(
            recipients=recipients,
            subject=subject,
            body=body,
            referral_id=referral.pk if referral is not None else None,
            channels=channels,
        )
    )


def _team_members(team: Team | None) -> list[User]:
    if team is None:
        return []
    return list(
        User.objects.filter(
            is_active=True, memberships__team=team, memberships__role__in=TEAM_ROLES
        ).distinct()
    )


def safeguarding_leads_by_agency(agency_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each agency's active safeguarding leads, for any number of agencies in one query."""
    leads: dict[int, list[User]] = {pk: [] for pk in agency_ids}
    memberships = (
        Membership.objects.filter(
            agency_id__in=leads, role__in=SAFEGUARDING_LEAD_ROLES, user__is_active=True
        )
        .select_related("user")
        .order_by("agency_id", "user_id")
    )
    for membership in memberships:
        people = leads[membership.agency_id]
        if not people or people[-1].pk != membership.user_id:  # a lead under two roles
            people.append(membership.user)
    return leads


def referral_referrer_recipients(
    referral: Referral, *, leads: Iterable[User] | None = None
) -> list[User]:
    """The person who referred and their agency's safeguarding leads (`leads`, if known)."""
    if referral.kind == Referral.Kind.PATTERN:
        return []  # the service raised it: nobody referred
    if leads is None:
        agency_id = referral.referring_agency_id or 0
        leads = safeguarding_leads_by_agency([agency_id])[agency_id]
    people = list(leads)
    if referral.referrer is not None:
        people.append(referral.referrer)
    return people


def _event(
    referral: Referral,
    kind: str,
    *,
    actor: User | None,
    text: str = "",
    is_internal: bool = False,
    agency: Agency | None = None,
) -> ReferralEvent:
    return ReferralEvent.objects.create(
        referral=referral,
        kind=kind,
        actor=actor,
        text=text,
        is_internal=is_internal,
        agency=agency,
    )


def _require(condition: bool, message: str, *, code: str = "invalid") -> None:
    if not condition:
        raise ApplicationError(message, code=code)


def _require_capability(user: User, capability: str, agency: Agency | None) -> None:
    _require(
        user_has_capability(user=user, capability=capability, agency=agency),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )


def _receiving_agency(referral: Referral) -> Agency | None:
    return referral.team.agency if referral.team_id and referral.team else None


def _locked(referral: Referral, *related: str) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("team__agency", *related)
        .get(pk=referral.pk)
    )


# Children and concerns ---------------------------------------------------------------------


@transaction.atomic
def child_create(*, user: User, agency: Agency, **fields: Any) -> Child:
    """Record a child that no agency has recorded before."""
    child = Child(created_by_agency=agency, **fields)
    child.local_authority_id = fields.get("local_authority_id") or agency.local_authority_id
    # The agency is a row already read: no need to look it up again (PostgreSQL checks it).
    child.full_clean(exclude=["created_by_agency"])
    child.save()
    audit_record(actor=user, action=AuditAction.CREATE, target=child, agency=agency)
    from referrals.services_matching import child_link_same_nhs_number

    # The authority's one picture of the child: the same NHS number is the same child.
    child_link_same_nhs_number(child=child)
    return child


@transaction.atomic
def concern_create(*, user: User, agency: Agency, child: Child, **fields: Any) -> Concern:
    """Record a concern; the agency's safeguarding leads are told it needs review."""
    _require_capability(user, "referrals.add_concern", agency)
    concern = Concern(agency=agency, child=child, raised_by=user, **fields)
    concern.full_clean()
    concern.save()
    audit_record(actor=user, action=AuditAction.CREATE, target=concern, agency=agency)
    leads = User.objects.filter(
        is_active=True,
        memberships__agency=agency,
        memberships__role__in=SAFEGUARDING_LEAD_ROLES,
    ).distinct()
    notifications_create(
        recipients=leads,
        subject="A new concern needs your review",
        body=f"Concern #{concern.pk} was recorded and needs review.",
        channels=(Notification.Channel.IN_APP,),
    )
    return concern


@transaction.atomic
def concern_review(*, concern: Concern, user: User, outcome: str, rationale: str) -> Concern:
    """The DSL's decision on a concern, with the reason (also when not referring)."""
    concern = Concern.objects.select_for_update().get(pk=concern.pk)
    _require_capability(user, "referrals.review_concern", concern.agency)
    _require(
        concern.status == Concern.Status.NEW,
        errors.CONCERN_ALREADY_REVIEWED,
        code="state",
    )
    _require(bool(rationale.strip()), errors.REASON_REQUIRED)
    concern.status = Concern.Status.REVIEWED
    concern.review_outcome = outcome
    concern.review_rationale = rationale
    concern.reviewed_by = user
    concern.reviewed_at = timezone.now()
    concern.full_clean()
    concern.save()
    audit_record(
        actor=user,
        action=AuditAction.REVIEW,
        target=concern,
        agency=concern.agency,
        data={"outcome": outcome},
    )
    return concern


# Referrals: making one ---------------------------------------------------------------------

# Keys a service sets from rows it has just read or written, so full_clean need not look each
# one up again (PostgreSQL checks every foreign key on commit). No constraint reads them.
_REFERRAL_KEYS_READ = ["child", "referring_agency", "referrer", "local_authority"]


@transaction.atomic
def referral_create(
    *,
    user: User | None,
    agency: Agency,
    child: Child,
    concerns: Iterable[Concern] = (),
    local_authority: LocalAuthority | None = None,
    actor_label: str = "",
    **fields: Any,
) -> Referral:
    """Start a draft referral to the child's (or the given) local authority."""
    if user is not None:
        _require_capability(user, "referrals.add_referral", agency)
    referral = Referral(
        child=child,
        referring_agency=agency,
        # An agency's system refers for the agency; no person is the referrer.
        referrer=None if user is None or user.is_agency_system else user,
        local_authority_id=local_authority.pk if local_authority else child.local_authority_id,
        cin_referral_source=agency.cin_referral_source,
        status=Referral.Status.DRAFT,
        **fields,
    )
    if referral.referrer is not None:
        person = referral.referrer
        referral.referrer_name = referral.referrer_name or str(person)
        referral.referrer_email = referral.referrer_email or person.email
        referral.referrer_phone = referral.referrer_phone or person.phone
    referral.full_clean(exclude=["team", *_REFERRAL_KEYS_READ])
    referral.save()
    concerns = list(concerns)
    if concerns:
        referral.concerns.set(concerns)
    _event(referral, ReferralEvent.Kind.CREATED, actor=user, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.CREATE,
        target=referral,
        agency=agency,
        actor_label=actor_label,
    )
    return referral


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


def _start_clocks(referral: Referral, now: datetime.datetime) -> None:
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


@transaction.atomic
@audit_rows_last()
def referral_submit(
    *,
    referral: Referral,
    user: User | None,
    actor_label: str = "",
    received_at: datetime.datetime | None = None,
) -> Referral:
    """Send a draft to the receiving authority: route it, start its clocks, tell the team.

    `received_at` is for importing referrals received earlier (and the demo data); the
    clocks run from it.
    """
    # Routing, the clocks and the team's notice read these: one query, not one each.
    referral = _locked(referral, "local_authority", "child", "referring_agency")
    _require(referral.status == Referral.Status.DRAFT, errors.REFERRAL_NOT_DRAFT, code="state")
    now = received_at or timezone.now()
    _start_clocks(referral, now)
    referral.status = Referral.Status.SUBMITTED
    # Not the check constraints again: consent was checked when the draft was made and nothing
    # here changes it; the clocks and team were set just above (PostgreSQL enforces both).
    referral.full_clean(exclude=_REFERRAL_KEYS_READ, validate_constraints=False)
    referral.save()
    _event(
        referral,
        ReferralEvent.Kind.SUBMITTED,
        actor=user,
        agency=referral.referring_agency,
    )
    audit_record(
        actor=user,
        action=AuditAction.SUBMIT,
        target=referral,
        agency=referral.referring_agency,
        actor_label=actor_label,
        data={"team": referral.team_id, "urgency": referral.urgency},
    )
    notifications_create(
        recipients=_team_members(referral.team),
        subject="A new referral is in your queue",
        body=f"Referral #{referral.pk} ({referral.get_urgency_display()}) needs acknowledging.",
        referral=referral,
    )
    from referrals.services_patterns import pattern_flags_evaluate

    # A referral may complete a pattern, or repeat one the authority closed.
    pattern_flags_evaluate(child=referral.child, referral=referral)
    return referral


@transaction.atomic
@audit_rows_last()
def referral_send(
    *,
    user: User,
    agency: Agency,
    child: Child,
    concerns: Iterable[Concern] = (),
    **fields: Any,
) -> Referral:
    """Make and submit a referral from the check-your-answers page, discarding its draft."""
    from referrals.models import Draft
    from referrals.services_drafts import drafts_discard_for

    concerns = list(concerns)
    _require(
        all(c.child_id == child.pk and c.agency_id == agency.pk for c in concerns),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )
    referral = referral_create(user=user, agency=agency, child=child, concerns=concerns, **fields)
    referral = referral_submit(referral=referral, user=user)
    drafts_discard_for(user=user, kind=Draft.Kind.REFERRAL, child=child)
    return referral


# Referrals: the front door's work ----------------------------------------------------------


@transaction.atomic
def referral_claim(*, referral: Referral, user: User) -> Referral:
    """Take ownership; exactly one owner however many click at once."""
    referral = _locked(referral)
    _require_capability(user, "referrals.acknowledge_referral", _receiving_agency(referral))
    _require(referral.status in Referral.AWAITING, errors.REFERRAL_NOT_OPEN, code="state")
    if referral.owner_id == user.pk:
        return referral
    _require(referral.owner_id is None, errors.REFERRAL_ALREADY_CLAIMED, code="conflict")
    referral.owner = user
    referral.save(update_fields=["owner", "updated_at"])
    _event(
        referral,
        ReferralEvent.Kind.CLAIMED,
        actor=user,
        agency=_receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.CLAIM, target=referral)
    return referral


@transaction.atomic
def referral_acknowledge(*, referral: Referral, user: User) -> Referral:
    """Mark a submitted referral as received; stops the acknowledgement clock."""
    referral = _locked(referral)
    _require_capability(user, "referrals.acknowledge_referral", _receiving_agency(referral))
    _require(
        referral.status == Referral.Status.SUBMITTED,
        errors.REFERRAL_NOT_AWAITING_ACKNOWLEDGEMENT,
        code="state",
    )
    _require(
        referral.owner_id in (None, user.pk),
        errors.REFERRAL_ALREADY_CLAIMED,
        code="conflict",
    )
    referral.status = Referral.Status.ACKNOWLEDGED
    referral.acknowledged_at = timezone.now()
    referral.owner = user
    # The acknowledgement clock stops; the decision clock's ladder starts again at level 1.
    referral.escalation_level = 0
    referral.next_escalation_at = referral.decision_due_at
    referral.save(
        update_fields=[
            "status",
            "acknowledged_at",
            "owner",
            "escalation_level",
            "next_escalation_at",
            "updated_at",
        ]
    )
    _event(
        referral,
        ReferralEvent.Kind.ACKNOWLEDGED,
        actor=user,
        agency=_receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.ACKNOWLEDGE, target=referral)
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="Your referral has been received",
        body=f"Referral #{referral.pk} has been acknowledged by the front door.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_request_information(*, referral: Referral, user: User, message: str) -> Referral:
    """Ask the referrer for more; the decision clock keeps running."""
    referral = _locked(referral)
    _require_capability(user, "referrals.acknowledge_referral", _receiving_agency(referral))
    _require(
        referral.status in (Referral.Status.ACKNOWLEDGED, Referral.Status.INFORMATION_RECEIVED),
        errors.REFERRAL_NOT_OPEN,
        code="state",
    )
    _require(bool(message.strip()), errors.REASON_REQUIRED)
    referral.status = Referral.Status.INFORMATION_REQUESTED
    referral.save(update_fields=["status", "updated_at"])
    _event(
        referral,
        ReferralEvent.Kind.INFORMATION_REQUESTED,
        actor=user,
        text=message,
        agency=_receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.REQUEST_INFORMATION, target=referral)
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="The front door has asked for more information",
        body=f"Referral #{referral.pk}: please sign in and answer the question.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_provide_information(*, referral: Referral, user: User, message: str) -> Referral:
    """The referrer's answer puts the referral back in the queue."""
    referral = _locked(referral)
    _require(
        user_is_referrer_side(user=user, referral=referral),
        errors.REFERRAL_NOT_REFERRER,
        code="permission_denied",
    )
    _require(
        referral.status == Referral.Status.INFORMATION_REQUESTED,
        errors.REFERRAL_NOT_AWAITING_INFORMATION,
        code="state",
    )
    _require(bool(message.strip()), errors.REASON_REQUIRED)
    referral.status = Referral.Status.INFORMATION_RECEIVED
    referral.save(update_fields=["status", "updated_at"])
    _event(
        referral,
        ReferralEvent.Kind.INFORMATION_RECEIVED,
        actor=user,
        text=message,
        agency=referral.referring_agency,
    )
    audit_record(actor=user, action=AuditAction.PROVIDE_INFORMATION, target=referral)
    recipients = [referral.owner] if referral.owner else _team_members(referral.team)
    notifications_create(
        recipients=recipients,
        subject="The referrer has answered",
        body=f"Referral #{referral.pk} has new information.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_note_add(*, referral: Referral, user: User, text: str) -> ReferralEvent:
    """An internal note on the timeline, for the receiving team only."""
    from referrals.selectors import referral_is_received_by

    referral = _locked(referral)
    _require(
        referral_is_received_by(user=user, referral=referral),
        errors.REFERRAL_NOT_RECEIVED,
        code="permission_denied",
    )
    _require(bool(text.strip()), errors.NOTE_REQUIRED)
    event = _event(
        referral,
        ReferralEvent.Kind.NOTE,
        actor=user,
        text=text,
        is_internal=True,
        agency=_receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.NOTE, target=referral, data={"event": event.pk})
    return event


@transaction.atomic
def referral_reassign(*, referral: Referral, user: User, to_user: User) -> Referral:
    """A manager gives an open referral to someone else in the receiving team."""
    referral = _locked(referral)
    _require_capability(user, "referrals.reassign_referral", _receiving_agency(referral))
    _require(referral.status in Referral.AWAITING, errors.REFERRAL_NOT_OPEN, code="state")
    _require(
        Membership.objects.filter(
            user=to_user, team=referral.team, role__in=TEAM_ROLES, user__is_active=True
        ).exists(),
        errors.REFERRAL_REASSIGN_NOT_TEAM_MEMBER,
    )
    _require(referral.owner_id != to_user.pk, errors.REFERRAL_REASSIGN_SAME_OWNER, code="conflict")
    previous = referral.owner_id
    referral.owner = to_user
    referral.save(update_fields=["owner", "updated_at"])
    # Staffing is the team's business: the referrer and partners do not see it.
    _event(
        referral,
        ReferralEvent.Kind.REASSIGNED,
        actor=user,
        text=f"Assigned to {to_user}.",
        is_internal=True,
        agency=_receiving_agency(referral),
    )
    audit_record(
        actor=user,
        action=AuditAction.REASSIGN,
        target=referral,
        data={"from": previous, "to": to_user.pk},
    )
    notifications_create(
        recipients=[to_user],
        subject="A referral was assigned to you",
        body=f"Referral #{referral.pk} was assigned to you by a manager.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_decide(
    *,
    referral: Referral,
    user: User,
    outcome: str,
    rationale: str,
    feedback: str,
    category: str = "",
    factors: Sequence[str] = (),
) -> Referral:
    """Record the response; stops the decision clock and sends the referrer the feedback."""
    referral = _locked(referral)
    _require_capability(user, "referrals.decide_referral", _receiving_agency(referral))
    _require(
        referral.status
        in (
            Referral.Status.ACKNOWLEDGED,
            Referral.Status.INFORMATION_REQUESTED,
            Referral.Status.INFORMATION_RECEIVED,
        ),
        errors.REFERRAL_NOT_DECIDABLE,
        code="state",
    )
    _require(bool(rationale.strip()) and bool(feedback.strip()), errors.REASON_REQUIRED)
    now = timezone.now()
    decision = Decision(
        referral=referral,
        outcome=outcome,
        rationale=rationale,
        feedback=feedback,
        category=category,
        factors=list(factors),
        decided_by=user,
        decided_at=now,
    )
    decision.full_clean()
    decision.save()
    referral.status = Referral.Status.DECIDED
    referral.decided_at = now
    referral.next_escalation_at = None
    if category:
        referral.category = category
    if factors:
        referral.factors = sorted(set(referral.factors) | set(factors))
    referral.save(
        update_fields=[
            "status",
            "decided_at",
            "next_escalation_at",
            "category",
            "factors",
            "updated_at",
        ]
    )
    agency = _receiving_agency(referral)
    _event(
        referral,
        ReferralEvent.Kind.DECIDED,
        actor=user,
        text=rationale,
        is_internal=True,
        agency=agency,
    )
    _event(referral, ReferralEvent.Kind.FEEDBACK, actor=user, text=feedback, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.DECIDE,
        target=referral,
        data={"outcome": outcome},
    )
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="The outcome of your referral",
        body=f"Referral #{referral.pk} has been decided. Sign in to read the feedback.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_close(*, referral: Referral, user: User) -> Referral:
    referral = _locked(referral)
    _require_capability(user, "referrals.decide_referral", _receiving_agency(referral))
    _require(
        referral.status == Referral.Status.DECIDED,
        errors.REFERRAL_NOT_CLOSABLE,
        code="state",
    )
    referral.status = Referral.Status.CLOSED
    referral.closed_at = timezone.now()
    referral.save(update_fields=["status", "closed_at", "updated_at"])
    _event(
        referral,
        ReferralEvent.Kind.CLOSED,
        actor=user,
        agency=_receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.CLOSE, target=referral)
    return referral


@transaction.atomic
def referral_withdraw(*, referral: Referral, user: User, reason: str) -> Referral:
    """The referrer takes a referral back, before the front door has acknowledged it."""
    referral = _locked(referral)
    _require(
        user_is_referrer_side(user=user, referral=referral),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )
    _require(
        referral.status in (Referral.Status.DRAFT, Referral.Status.SUBMITTED),
        errors.REFERRAL_NOT_WITHDRAWABLE,
        code="state",
    )
    _require(bool(reason.strip()), errors.REASON_REQUIRED)
    referral.status = Referral.Status.WITHDRAWN
    referral.withdrawn_at = timezone.now()
    referral.withdrawal_reason = reason
    referral.next_escalation_at = None
    referral.save(
        update_fields=[
            "status",
            "withdrawn_at",
            "withdrawal_reason",
            "next_escalation_at",
            "updated_at",
        ]
    )
    _event(
        referral,
        ReferralEvent.Kind.WITHDRAWN,
        actor=user,
        text=reason,
        agency=referral.referring_agency,
    )
    audit_record(actor=user, action=AuditAction.WITHDRAW, target=referral)
    notifications_create(
        recipients=_team_members(referral.team),
        subject="A referral was withdrawn",
        body=f"Referral #{referral.pk} was withdrawn by the referrer.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_transfer(
    *, referral: Referral, user: User, to_authority: LocalAuthority, reason: str
) -> Referral:
    """Move a referral to another authority's queue with fresh deadlines.

    The original stays, marked transferred, so the sending team keeps read access to what it
    did; the receiving authority gets a new referral linked to it.
    """
    referral = _locked(referral)
    _require_capability(user, "referrals.transfer_referral", _receiving_agency(referral))
    _require(referral.status in Referral.AWAITING, errors.REFERRAL_NOT_OPEN, code="state")
    _require(
        to_authority.pk != referral.local_authority_id,
        errors.REFERRAL_TRANSFER_SAME_AUTHORITY,
    )
    _require(bool(reason.strip()), errors.REASON_REQUIRED)
    now = timezone.now()
    successor = Referral(
        child=referral.child,
        referring_agency=referral.referring_agency,
        referrer=referral.referrer,
        referrer_name=referral.referrer_name,
        referrer_phone=referral.referrer_phone,
        referrer_email=referral.referrer_email,
        cin_referral_source=referral.cin_referral_source,
        local_authority=to_authority,
        transferred_from=referral,
        urgency=referral.urgency,
        category=referral.category,
        factors=referral.factors,
        reason=referral.reason,
        desired_outcome=referral.desired_outcome,
        consent=referral.consent,
        consent_reason=referral.consent_reason,
        parents_aware=referral.parents_aware,
        status=Referral.Status.SUBMITTED,
    )
    _start_clocks(successor, now)
    successor.save()
    successor.concerns.set(referral.concerns.all())
    referral.status = Referral.Status.TRANSFERRED
    referral.next_escalation_at = None
    referral.save(update_fields=["status", "next_escalation_at", "updated_at"])
    agency = _receiving_agency(referral)
    _event(referral, ReferralEvent.Kind.TRANSFERRED, actor=user, text=reason, agency=agency)
    _event(successor, ReferralEvent.Kind.SUBMITTED, actor=user, text=reason, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.TRANSFER,
        target=referral,
        data={"to": successor.pk},
    )
    audit_record(
        actor=user,
        action=AuditAction.SUBMIT,
        target=successor,
        data={"from": referral.pk},
    )
    notifications_create(
        recipients=_team_members(successor.team),
        subject="A referral was transferred to your queue",
        body=f"Referral #{successor.pk} was transferred from another authority.",
        referral=successor,
    )
    return successor


# Sharing -----------------------------------------------------------------------------------


def agency_group(agency: Agency) -> Any:
    """The agency's group for object permissions, made the first time it is needed."""
    from django.contrib.auth.models import Group

    if agency.group_id is None:
        group, _ = Group.objects.get_or_create(name=f"agency:{agency.pk}")
        Agency.objects.filter(pk=agency.pk).update(group=group)
        agency.group = group
    return agency.group


@transaction.atomic
def referral_share(
    *,
    referral: Referral,
    user: User,
    agency: Agency,
    reason: str,
    expires_at: datetime.datetime,
) -> Share:
    """Share a referral with a partner agency, with the reason recorded, until a date."""
    referral = _locked(referral)
    _require_capability(user, "referrals.share_referral", _receiving_agency(referral))
    _require(bool(reason.strip()), errors.REASON_REQUIRED)
    _require(expires_at > timezone.now(), errors.SHARE_EXPIRY_IN_PAST)
    _require(
        not Share.objects.filter(
            referral=referral, agency=agency, revoked_at__isnull=True
        ).exists(),
        errors.SHARE_ALREADY_ACTIVE,
        code="conflict",
    )
    share = Share.objects.create(
        referral=referral,
        agency=agency,
        reason=reason,
        expires_at=expires_at,
        granted_by=user,
    )
    assign_perm("referrals.view_referral", agency_group(agency), referral)
    referral.save(update_fields=["updated_at"])
    _event(
        referral,
        ReferralEvent.Kind.SHARED,
        actor=user,
        text=reason,
        agency=_receiving_agency(referral),
    )
    audit_record(
        actor=user,
        action=AuditAction.SHARE,
        target=referral,
        data={"agency": agency.pk},
    )
    return share


@transaction.atomic
def share_revoke(*, share: Share, user: User | None) -> Share:
    """End a share now (a person revoking it, or the expiry sweep when `user` is None)."""
    share = Share.objects.select_for_update().select_related("referral", "agency").get(pk=share.pk)
    _require(share.revoked_at is None, errors.SHARE_NOT_ACTIVE, code="state")
    if user is not None:
        _require_capability(user, "referrals.share_referral", _receiving_agency(share.referral))
    share.revoked_at = timezone.now()
    share.revoked_by = user
    share.save(update_fields=["revoked_at", "revoked_by"])
    remove_perm("referrals.view_referral", agency_group(share.agency), share.referral)
    Referral.objects.filter(pk=share.referral_id).update(updated_at=timezone.now())
    _event(share.referral, ReferralEvent.Kind.SHARE_REVOKED, actor=user)
    audit_record(
        actor=user,
        action=AuditAction.REVOKE_SHARE,
        target=share.referral,
        data={"agency": share.agency_id},
    )
    return share


def shares_expire(*, now: datetime.datetime | None = None) -> int:
    """End every share past its expiry; the selectors already ignore them, this tidies grants."""
    now = now or timezone.now()
    due = Share.objects.filter(revoked_at__isnull=True, expires_at__lte=now).order_by("id")
    ended = 0
    for share in due.iterator():
        try:
            share_revoke(share=share, user=None)
        except ApplicationError:
            continue  # revoked by a person meanwhile
        ended += 1
    return ended


# The relay ---------------------------------------------------------------------------------

RELAY_MAX_ATTEMPTS = 8
# One relay run sends batches until the outbox is empty or this much time has passed.
RELAY_TIME_BUDGET = datetime.timedelta(seconds=50)


def _claim_timeout() -> datetime.timedelta:
    """A claim older than this belongs to a worker that died mid-send: the row is taken again."""
    from django.conf import settings

    return datetime.timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def notification_deliver(notification: Notification) -> None:
    """Send one notification on its channel; in-app ones are delivered by being stored."""
    if notification.channel == Notification.Channel.EMAIL:
        from django.conf import settings
        from django.core.mail import send_mail

        send_mail(
            subject=notification.subject,
            message=f"{notification.body}\n\n{settings.SITE_URL}/",
            from_email=None,
            recipient_list=[notification.recipient.email],
        )


def _relay_batch(*, batch_size: int) -> tuple[int, int]:
    """Claim and send one batch of due notifications; return (rows looked at, rows sent)."""
    now = timezone.now()
    due = list(
        Notification.objects.filter(
            Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Notification.Status.SENDING, claimed_at__lt=now - _claim_timeout())
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", "status", "claimed_at")[:batch_size]
    )
    sent = 0
    for pk, status, claimed_at in due:
        # Compare-and-swap: the row moves to SENDING only if nobody changed it since we read
        # it, so of two relays racing for a row exactly one sends it.
        claim = timezone.now()
        claimed = Notification.objects.filter(pk=pk, status=status, claimed_at=claimed_at).update(
            status=Notification.Status.SENDING, claimed_at=claim
        )
        if not claimed:
            continue
        mine = Notification.objects.filter(
            pk=pk, status=Notification.Status.SENDING, claimed_at=claim
        )
        notification = Notification.objects.select_related("recipient").get(pk=pk)
        try:
            notification_deliver(notification)
        except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
            attempts = notification.attempts + 1
            failed = attempts >= RELAY_MAX_ATTEMPTS
            mine.update(
                status=Notification.Status.FAILED if failed else Notification.Status.PENDING,
                attempts=attempts,
                next_attempt_at=timezone.now() + _backoff(attempts),
                claimed_at=None,
                # The class only: a message may quote an address or a server's reply.
                last_error=type(exc).__name__[:200],
            )
            logger.warning(
                "Notification %s failed (attempt %s): %s", pk, attempts, type(exc).__name__
            )
            continue
        # Conditional on our claim: a relay whose claim expired must not overwrite a newer one.
        sent += mine.update(
            status=Notification.Status.SENT,
            sent_at=timezone.now(),
            attempts=notification.attempts + 1,
            last_error="",
        )
    return len(due), sent


def notifications_relay(*, batch_size: int = 100) -> int:
    """Send due notifications, claiming each with a compare-and-swap so none goes twice."""
    started = timezone.now()
    sent = 0
    while True:
        looked_at, batch_sent = _relay_batch(batch_size=batch_size)
        sent += batch_sent
        if looked_at < batch_size or timezone.now() - started > RELAY_TIME_BUDGET:
            return sent


@transaction.atomic
def notifications_retry(*, notifications: Iterable[Notification], user: User) -> int:
    """Put failed notifications back in the outbox now (an operator, from the admin)."""
    pks = [n.pk for n in notifications]
    retried = list(
        Notification.objects.select_for_update()
        .filter(pk__in=pks, status=Notification.Status.FAILED)
        .order_by("id")
    )
    Notification.objects.filter(pk__in=[n.pk for n in retried]).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for notification in retried:
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            target=notification,
            data={"retry": True, "last_error": notification.last_error},
        )
    if retried:
        transaction.on_commit(_relay_soon)
    return len(retried)
