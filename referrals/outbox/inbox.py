"""A person's notifications in the app: the one selector, read state and email preferences.

A notification is only ever its recipient's: nobody else may list, open or mark it (another
person's id answers 404). Reading one marks it read; opening the record it is about marks every
unread notice about that record read, however the person got there (the email links straight
to the record).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from agencies.models import User
from referrals.audit import audit_record
from referrals.models import (
    EMAIL_BY_DEFAULT,
    URGENT_KINDS,
    AuditAction,
    Concern,
    Notification,
    NotificationKind,
    NotificationPreference,
    Referral,
)
from referrals.outbox.notices import notice_path


def notification_list_for_user(*, user: User) -> QuerySet[Notification]:
    """The person's own in-app notifications, newest first."""
    return Notification.objects.filter(recipient=user, in_app=True).order_by("-created_at", "-id")


def notification_get_for_user(*, user: User, pk: int) -> Notification:
    """One of the person's own notifications; anyone else's is not found."""
    notification = notification_list_for_user(user=user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def unread_count(*, user: User) -> int:
    """How many of the person's notifications are unread (the header's count)."""
    return notification_list_for_user(user=user).filter(read_at__isnull=True).count()


def notification_path(notification: Notification) -> str:
    """Where opening the notification takes the person: the record it is about (a digest: the
    referrals escalated to them)."""
    return notice_path(notification)


def _mark_read(user: User, unread: QuerySet[Notification], reason: str) -> int:
    """Mark these unread notifications read; one audit event names them all."""
    pks = list(unread.filter(read_at__isnull=True).values_list("pk", flat=True))
    if not pks:
        return 0
    Notification.objects.filter(pk__in=pks, read_at__isnull=True).update(read_at=timezone.now())
    audit_record(
        actor=user,
        action=AuditAction.UPDATE,
        target=user,
        data={"notifications_read": pks, "how": reason},
    )
    return len(pks)


@transaction.atomic
def notification_open(*, user: User, notification: Notification) -> str:
    """The person opens a notification: it is read; answer the page it leads to."""
    _mark_read(user, notification_list_for_user(user=user).filter(pk=notification.pk), "opened")
    return notification_path(notification)


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    """Everything the person has been told is marked read at once; return how many."""
    return _mark_read(user, notification_list_for_user(user=user), "all")


@transaction.atomic
def notifications_read_for_record(
    *, user: User, referral: Referral | None = None, concern: Concern | None = None
) -> int:
    """The person opened a record: their unread notices about it are read."""
    mine = notification_list_for_user(user=user).filter(read_at__isnull=True)
    if referral is not None:
        mine = mine.filter(referral=referral)
    elif concern is not None:
        mine = mine.filter(concern=concern)
    else:
        return 0
    # The common case, nothing unread about it, is one indexed query and no write.
    return _mark_read(user, mine, "record opened")


# The kinds a person may choose to be emailed about (urgent kinds are always emailed).
OPTIONAL_KINDS: tuple[NotificationKind, ...] = tuple(
    kind for kind in NotificationKind if kind not in URGENT_KINDS
)


def email_preferences_for(*, user: User) -> dict[str, bool]:
    """Whether the person is emailed each optional kind (their choice, else the default)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return {str(kind): chosen.get(kind, kind in EMAIL_BY_DEFAULT) for kind in OPTIONAL_KINDS}


@transaction.atomic
def email_preferences_set(*, user: User, emailed: Iterable[str]) -> dict[str, bool]:
    """Record which optional kinds the person wants by email; urgent kinds cannot be chosen."""
    wanted = set(emailed)
    before = email_preferences_for(user=user)
    after = {str(kind): kind in wanted for kind in OPTIONAL_KINDS}
    if after == before:
        return after
    for kind, email in after.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email": email}
        )
    audit_record(
        actor=user,
        action=AuditAction.UPDATE,
        target=user,
        data={"email_preferences": sorted(k for k, v in after.items() if v)},
    )
    return after
