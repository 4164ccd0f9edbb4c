"""Read state: a person on the referrer's side has read a referral's outcome."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from agencies.models import User
from referrals.audit import audit_record
from referrals.models import AuditAction, OutcomeRead, Referral
from referrals.visibility import user_is_referrer_side


@transaction.atomic
def outcome_mark_read(*, user: User, referral: Referral) -> OutcomeRead | None:
    """Record that the person read the outcome, once; nothing when there is none for them."""
    # Called whenever the referral's page opens: no outcome yet, or a reader who is not on the
    # referrer's side (the team, a partner), leaves nothing to mark.
    if referral.decided_at is None or not user_is_referrer_side(user=user, referral=referral):
        return None
    read, created = OutcomeRead.objects.get_or_create(
        user=user, referral=referral, defaults={"read_at": timezone.now()}
    )
    if created:
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            target=referral,
            data={"outcome_read": True},
        )
    return read
