"""Notices: outbox rows written in the writer's own transaction, never a child's name in them.

In-app rows are born sent; email rows wait for the relay (referrals.outbox.relay), which a
worker is asked to run once the transaction commits. What a notice is about (its kind) decides
whether it is emailed: always for the urgent kinds, otherwise by the person's preference.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import User
from referrals.models import (
    EMAIL_BY_DEFAULT,
    URGENT_KINDS,
    Concern,
    Notification,
    NotificationKind,
    NotificationPreference,
    Referral,
)

logger = logging.getLogger(__name__)


def relay_soon() -> None:
    """Ask a worker to send the outbox now; the periodic relay catches it if this is lost."""
    try:
        # By name: the task's module imports the relay, which imports this one.
        current_app.send_task(RELAY_TASK, retry=False)
    except Exception:  # noqa: BLE001 - the broker being down must never fail a committed write
        logger.warning("Could not queue the notification relay; the periodic relay will send.")


# The relay task's name (referrals.outbox.tasks), kept from before the packages existed so that
# queued messages and beat schedules keep working across the upgrade.
RELAY_TASK = "referrals.tasks.notifications_relay_task"


def record_path(*, referral_id: int | None, concern_id: int | None) -> str:
    """The page of the record a notice is about (which checks who may see it), by id only."""
    if referral_id is not None:
        return reverse("referral-detail", args=[referral_id])
    if concern_id is not None:
        return reverse("concern-detail", args=[concern_id])
    return reverse("notification-list")


@dataclass(frozen=True)
class Notice:
    """One outbox row to write, by ids: a recipient on one channel."""

    recipient_id: int
    channel: str
    subject: str
    body: str
    kind: str = NotificationKind.OTHER
    referral_id: int | None = None
    concern_id: int | None = None
    escalation_id: int | None = None


# Django's bulk_create costs about three times as much per row (a model instance and a
# prepared value per field), which an escalation sweep writing 800,000 rows feels.
_NOTICE_COLUMNS = (
    "recipient_id",
    "channel",
    "subject",
    "body",
    "kind",
    "referral_id",
    "concern_id",
    "escalation_id",
    "status",
    "next_attempt_at",
    "sent_at",
)
_NOTICES_INSERT = """
    INSERT INTO referrals_notification (
        recipient_id, channel, subject, body, kind, referral_id, concern_id, escalation_id,
        status, next_attempt_at, sent_at, attempts, last_error, created_at
    )
    SELECT *, 0, '', now() FROM unnest(
        %s::bigint[], %s::varchar[], %s::varchar[], %s::text[], %s::varchar[], %s::bigint[],
        %s::bigint[], %s::bigint[], %s::varchar[], %s::timestamptz[], %s::timestamptz[]
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
        "kind": notice.kind,
        "referral_id": notice.referral_id,
        "concern_id": notice.concern_id,
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
    if emails and not any(callback is relay_soon for _, callback, _ in pending):
        transaction.on_commit(relay_soon)  # once per transaction, however many rows
    return len(notices)


def emailed(kind: str, people: Iterable[int]) -> set[int]:
    """Of these people, who is told of this kind of notice by email as well as in the app."""
    people = set(people)
    if kind in URGENT_KINDS:
        return people  # not optional: somebody must act now
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=people, kind=kind).values_list(
            "user_id", "email"
        )
    )
    default = kind in EMAIL_BY_DEFAULT
    return {pk for pk in people if chosen.get(pk, default)}


def notices_for(
    *,
    recipients: Iterable[User],
    subject: str,
    body: str,
    kind: str,
    referral_id: int | None = None,
    concern_id: int | None = None,
    escalation_id: int | None = None,
    channels: Sequence[str] = (Notification.Channel.IN_APP, Notification.Channel.EMAIL),
) -> list[Notice]:
    """One notice per active person (never an agency's system account) and channel; email only
    to those who get this kind by email."""
    people = list(dict.fromkeys(r.pk for r in recipients if r.is_active and not r.is_agency_system))
    by_email = emailed(kind, people) if Notification.Channel.EMAIL in channels else set()
    return [
        Notice(
            recipient_id=pk,
            channel=channel,
            subject=subject,
            body=body,
            kind=kind,
            referral_id=referral_id,
            concern_id=concern_id,
            escalation_id=escalation_id,
        )
        for pk in people
        for channel in channels
        if channel != Notification.Channel.EMAIL or pk in by_email
    ]


def notifications_create(
    *,
    recipients: Iterable[User],
    subject: str,
    body: str,
    kind: str,
    referral: Referral | None = None,
    concern: Concern | None = None,
) -> int:
    """Tell people in the app, and by email where the kind calls for it. Never a child's name:
    the notice links to the record, which checks who may see it."""
    return notifications_write(
        notices_for(
            recipients=recipients,
            subject=subject,
            body=body,
            kind=kind,
            referral_id=referral.pk if referral is not None else None,
            concern_id=concern.pk if concern is not None else None,
        )
    )
