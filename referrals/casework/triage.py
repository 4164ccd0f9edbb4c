"""The front door's work on a referral: claim, acknowledge, ask, note, reassign, decide, close."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from agencies.models import User
from referrals.audit import audit_record
from referrals.casework.common import (
    event_add,
    locked_referral,
    receiving_agency,
    require_receiving_capability,
)
from referrals.core import errors, states
from referrals.core.errors import ensure
from referrals.core.states import Step
from referrals.models import AuditAction, Decision, NotificationKind, Referral, ReferralEvent
from referrals.outbox.notices import notifications_create
from referrals.outbox.recipients import referral_referrer_recipients, team_members, team_memberships
from referrals.visibility import referral_is_received_by, user_is_referrer_side


@transaction.atomic
def referral_claim(*, referral: Referral, user: User) -> Referral:
    """Take ownership; exactly one owner however many click at once."""
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.acknowledge_referral"
    )
    states.transition(referral, Step.CLAIM)
    if referral.owner_id == user.pk:
        return referral
    ensure(referral.owner_id is None, errors.REFERRAL_ALREADY_CLAIMED, code="conflict")
    referral.owner = user
    referral.save(update_fields=["owner", "updated_at"])
    event_add(
        referral,
        ReferralEvent.Kind.CLAIMED,
        actor=user,
        agency=receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.CLAIM, target=referral)
    return referral


@transaction.atomic
def referral_acknowledge(*, referral: Referral, user: User) -> Referral:
    """Mark a submitted referral as received; stops the acknowledgement clock."""
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.acknowledge_referral"
    )
    states.transition(referral, Step.ACKNOWLEDGE)
    ensure(
        referral.owner_id in (None, user.pk),
        errors.REFERRAL_ALREADY_CLAIMED,
        code="conflict",
    )
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
    event_add(
        referral,
        ReferralEvent.Kind.ACKNOWLEDGED,
        actor=user,
        agency=receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.ACKNOWLEDGE, target=referral)
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="Your referral has been received",
        kind=NotificationKind.ACKNOWLEDGED,
        body=f"Referral #{referral.pk} has been acknowledged by the front door.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_request_information(*, referral: Referral, user: User, message: str) -> Referral:
    """Ask the referrer for more; the decision clock keeps running."""
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.acknowledge_referral"
    )
    states.transition(referral, Step.REQUEST_INFORMATION)
    ensure(bool(message.strip()), errors.REASON_REQUIRED)
    referral.save(update_fields=["status", "updated_at"])
    event_add(
        referral,
        ReferralEvent.Kind.INFORMATION_REQUESTED,
        actor=user,
        text=message,
        agency=receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.REQUEST_INFORMATION, target=referral)
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="The front door has asked for more information",
        kind=NotificationKind.QUESTION,
        body=f"Referral #{referral.pk}: please sign in and answer the question.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_provide_information(*, referral: Referral, user: User, message: str) -> Referral:
    """The referrer's answer puts the referral back in the queue."""
    referral = locked_referral(referral)
    ensure(
        user_is_referrer_side(user=user, referral=referral),
        errors.REFERRAL_NOT_REFERRER,
        code="permission_denied",
    )
    states.transition(referral, Step.PROVIDE_INFORMATION)
    ensure(bool(message.strip()), errors.REASON_REQUIRED)
    referral.save(update_fields=["status", "updated_at"])
    event_add(
        referral,
        ReferralEvent.Kind.INFORMATION_RECEIVED,
        actor=user,
        text=message,
        agency=referral.referring_agency,
    )
    audit_record(actor=user, action=AuditAction.PROVIDE_INFORMATION, target=referral)
    recipients = [referral.owner] if referral.owner else team_members(team_id=referral.team_id)
    notifications_create(
        recipients=recipients,
        subject="The referrer has answered",
        kind=NotificationKind.ANSWER,
        body=f"Referral #{referral.pk} has new information.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_note_add(*, referral: Referral, user: User, text: str) -> ReferralEvent:
    """An internal note on the timeline, for the receiving team only."""
    referral = locked_referral(referral)
    ensure(
        referral_is_received_by(user=user, referral=referral),
        errors.REFERRAL_NOT_RECEIVED,
        code="permission_denied",
    )
    ensure(bool(text.strip()), errors.NOTE_REQUIRED)
    event = event_add(
        referral,
        ReferralEvent.Kind.NOTE,
        actor=user,
        text=text,
        is_internal=True,
        agency=receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.NOTE, target=referral, data={"event": event.pk})
    return event


@transaction.atomic
def referral_reassign(*, referral: Referral, user: User, to_user: User) -> Referral:
    """A manager gives an open referral to someone else in the receiving team."""
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.reassign_referral"
    )
    states.transition(referral, Step.REASSIGN)
    ensure(
        team_memberships(team_ids=[referral.team_id or 0]).filter(user=to_user).exists(),
        errors.REFERRAL_REASSIGN_NOT_TEAM_MEMBER,
    )
    ensure(referral.owner_id != to_user.pk, errors.REFERRAL_REASSIGN_SAME_OWNER, code="conflict")
    previous = referral.owner_id
    referral.owner = to_user
    referral.save(update_fields=["owner", "updated_at"])
    # Staffing is the team's business: the referrer and partners do not see it.
    event_add(
        referral,
        ReferralEvent.Kind.REASSIGNED,
        actor=user,
        text=f"Assigned to {to_user}.",
        is_internal=True,
        agency=receiving_agency(referral),
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
        kind=NotificationKind.ASSIGNED,
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
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.decide_referral"
    )
    states.transition(referral, Step.DECIDE)
    ensure(bool(rationale.strip()) and bool(feedback.strip()), errors.REASON_REQUIRED)
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
    agency = receiving_agency(referral)
    event_add(
        referral,
        ReferralEvent.Kind.DECIDED,
        actor=user,
        text=rationale,
        is_internal=True,
        agency=agency,
    )
    event_add(referral, ReferralEvent.Kind.FEEDBACK, actor=user, text=feedback, agency=agency)
    audit_record(
        actor=user,
        action=AuditAction.DECIDE,
        target=referral,
        data={"outcome": outcome},
    )
    notifications_create(
        recipients=referral_referrer_recipients(referral),
        subject="The outcome of your referral",
        kind=NotificationKind.OUTCOME,
        body=f"Referral #{referral.pk} has been decided. Sign in to read the feedback.",
        referral=referral,
    )
    return referral


@transaction.atomic
def referral_close(*, referral: Referral, user: User) -> Referral:
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.decide_referral"
    )
    states.transition(referral, Step.CLOSE)
    referral.closed_at = timezone.now()
    referral.save(update_fields=["status", "closed_at", "updated_at"])
    event_add(
        referral,
        ReferralEvent.Kind.CLOSED,
        actor=user,
        agency=receiving_agency(referral),
    )
    audit_record(actor=user, action=AuditAction.CLOSE, target=referral)
    return referral
