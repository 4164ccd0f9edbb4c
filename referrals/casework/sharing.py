"""Sharing a referral with a partner agency: the only place object-level grants are made.

Every share records who shared, why and until when; the partner confirms receipt; a share ends
when revoked or at its expiry (the selectors stop counting it at that moment, and a beat task
tidies its grant away).
"""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from agencies.models import Agency, User
from referrals.audit import api_actor_label, audit_record
from referrals.casework.common import (
    event_add,
    locked_referral,
    receiving_agency,
    require_receiving_capability,
)
from referrals.core import errors, states
from referrals.core.errors import ApplicationError, ensure
from referrals.core.states import Step
from referrals.models import AuditAction, NotificationKind, Referral, ReferralEvent, Share
from referrals.outbox.notices import notifications_create
from referrals.outbox.recipients import share_recipients
from referrals.visibility import scope_for_user


def agency_group(agency: Agency) -> Group:
    """The agency's group for object permissions, made the first time it is needed."""
    if agency.group is not None:
        return agency.group
    group, _ = Group.objects.get_or_create(name=f"agency:{agency.pk}")
    Agency.objects.filter(pk=agency.pk).update(group=group)
    agency.group = group
    return group


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
    referral = locked_referral(referral)
    require_receiving_capability(
        user=user, referral=referral, capability="referrals.share_referral"
    )
    states.transition(referral, Step.SHARE)
    ensure(bool(reason.strip()), errors.REASON_REQUIRED)
    ensure(expires_at > timezone.now(), errors.SHARE_EXPIRY_IN_PAST)
    ensure(
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
    event_add(
        referral,
        ReferralEvent.Kind.SHARED,
        actor=user,
        text=reason,
        agency=receiving_agency(referral),
    )
    audit_record(
        actor=user,
        action=AuditAction.SHARE,
        target=referral,
        data={"agency": agency.pk},
    )
    notifications_create(
        recipients=share_recipients(agency_id=agency.pk),
        subject="A referral was shared with your agency",
        body=f"Referral #{referral.pk} was shared with {agency.name} by children's social care.",
        kind=NotificationKind.SHARED,
        referral=referral,
    )
    return share


@transaction.atomic
def share_revoke(*, share: Share, user: User | None) -> Share:
    """End a share now (a person revoking it, or the expiry sweep when `user` is None)."""
    share = Share.objects.select_for_update().select_related("referral", "agency").get(pk=share.pk)
    ensure(share.revoked_at is None, errors.SHARE_NOT_ACTIVE, code="state")
    if user is not None:
        require_receiving_capability(
            user=user, referral=share.referral, capability="referrals.share_referral"
        )
    share.revoked_at = timezone.now()
    share.revoked_by = user
    share.save(update_fields=["revoked_at", "revoked_by"])
    remove_perm("referrals.view_referral", agency_group(share.agency), share.referral)
    Referral.objects.filter(pk=share.referral_id).update(updated_at=timezone.now())
    event_add(share.referral, ReferralEvent.Kind.SHARE_REVOKED, actor=user)
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


@transaction.atomic
def share_acknowledge_receipt(*, referral: Referral, user: User) -> Share:
    """A partner agency confirms it received a shared referral (idempotent)."""
    scope = scope_for_user(user)
    share = (
        Share.objects.select_for_update()
        .filter(referral=referral, agency_id__in=scope.agency_ids, revoked_at__isnull=True)
        .order_by("id")
        .first()
    )
    if share is None:
        raise ApplicationError(errors.REFERRAL_NOT_SHARED, code="not_shared")
    if share.received_at is not None:
        return share
    share.received_at = timezone.now()
    share.save(update_fields=["received_at"])
    Referral.objects.filter(pk=referral.pk).update(updated_at=timezone.now())
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.SHARE_RECEIVED,
        actor=None if user.is_agency_system else user,
        agency=share.agency,
    )
    audit_record(
        actor=user,
        action=AuditAction.ACKNOWLEDGE_RECEIPT,
        target=referral,
        agency=share.agency,
        actor_label=api_actor_label(user),
        data={"share": share.pk},
    )
    return share
