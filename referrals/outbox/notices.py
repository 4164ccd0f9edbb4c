"""Notices: outbox rows written in the writer's own transaction, never a child's name in them.

One row per person and message: the app has it once stored; its email, if any, waits for the
relay (referrals.outbox.relay), which a worker is asked to run once the transaction commits.
What a notice is about (its kind) decides whether it is emailed: always for the urgent kinds,
otherwise by the person's preference. Escalation digests are written by referrals.outbox.digests.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
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


def notice_path(notification: Notification) -> str:
    """Where a notice leads: its record, or for an escalation digest the queue's referrals
    escalated to the person (a digest may name more referrals than it lists)."""
    if notification.digest_key:
        # The queue's "escalated to me" filter (referrals.casework.queue, a layer above).
        return f"{reverse('referral-queue')}?escalated=me"
    return record_path(referral_id=notification.referral_id, concern_id=notification.concern_id)


@dataclass(frozen=True)
class Notice:
    """One outbox row to write, by ids: a person told in the app, by email, or both."""

    recipient_id: int
    subject: str
    body: str
    kind: str = NotificationKind.OTHER
    referral_id: int | None = None
    concern_id: int | None = None
    escalation_id: int | None = None
    in_app: bool = True
    email: bool = False


# Django's bulk_create costs about three times as much per row (a model instance and a
# prepared value per field), which an escalation sweep writing 200,000 rows feels.
_NOTICE_COLUMNS = (
    "recipient_id",
    "subject",
    "body",
    "kind",
    "referral_id",
    "concern_id",
    "escalation_id",
    "in_app",
    "email_status",
    "email_next_attempt_at",
)
_NOTICES_INSERT = """
    INSERT INTO referrals_notification (
        recipient_id, subject, body, kind, referral_id, concern_id, escalation_id,
        in_app, email_status, email_next_attempt_at,
        digest_key, digest_count, email_attempts, email_resent, email_last_error, created_at
    )
    SELECT *, '', 0, 0, 0, '', now() FROM unnest(
        %s::bigint[], %s::varchar[], %s::text[], %s::varchar[], %s::bigint[], %s::bigint[],
        %s::bigint[], %s::boolean[], %s::varchar[], %s::timestamptz[]
    )
"""


def _outbox_row(notice: Notice, now: datetime.datetime) -> dict[str, Any]:
    """A notice as its row: the app has it once stored, an email waits for the relay."""
    return {
        "recipient_id": notice.recipient_id,
        "subject": notice.subject,
        "body": notice.body,
        "kind": notice.kind,
        "referral_id": notice.referral_id,
        "concern_id": notice.concern_id,
        "escalation_id": notice.escalation_id,
        "in_app": notice.in_app,
        "email_status": (
            Notification.EmailStatus.PENDING if notice.email else Notification.EmailStatus.NONE
        ),
        "email_next_attempt_at": now if notice.email else None,
    }


def relay_once_on_commit() -> None:
    """Ask for a relay when this transaction commits, once however many emails it wrote."""
    pending = transaction.get_connection().run_on_commit
    if not any(callback is relay_soon for _, callback, _ in pending):
        transaction.on_commit(relay_soon)


def notifications_write(notices: Sequence[Notice]) -> int:
    """Write outbox rows in one statement; return how many.

    A row is delivered in the app by being stored, so the relay only ever looks at email.
    Once per transaction, a relay is asked for on commit.
    """
    notices = [notice for notice in notices if notice.in_app or notice.email]
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
    if any(notice.email for notice in notices):
        relay_once_on_commit()
    return len(notices)


def emailed(
    kind: str, people: Iterable[int], *, chosen: Mapping[int, bool | None] | None = None
) -> set[int]:
    """Of these people, who is told of this kind of notice by email as well as in the app.
    `chosen`: each person's choice for it (None for none), when read with them."""
    people = set(people)
    if kind in URGENT_KINDS:
        return people  # not optional: somebody must act now
    if chosen is None:
        chosen = dict(
            NotificationPreference.objects.filter(user_id__in=people, kind=kind).values_list(
                "user_id", "email"
            )
        )
    default = kind in EMAIL_BY_DEFAULT
    return {pk for pk in people if (default if chosen.get(pk) is None else chosen[pk])}


# Each person's choice of email for the notice's kind, read with them (None: no choice).
_EMAIL_CHOICE = "email_choice_for_kind"


def _with_email_choice(recipients: Iterable[User], kind: str) -> Iterable[User]:
    """Recipients given as a query, each read with their choice of email for `kind`: the
    people and their choices in one query, not two."""
    if not isinstance(recipients, QuerySet) or recipients.query.is_sliced:
        return recipients
    choice = NotificationPreference.objects.filter(user=OuterRef("pk"), kind=kind)
    return recipients.annotate(**{_EMAIL_CHOICE: Subquery(choice.values("email")[:1])})


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
    """One notice per active person (never an agency's system account) on these channels;
    email only to those who get this kind by email."""
    by_email: set[int] = set()
    if Notification.Channel.EMAIL in channels and kind not in URGENT_KINDS:
        recipients = _with_email_choice(recipients, kind)
    told = [r for r in recipients if r.is_active and not r.is_agency_system]
    people = list(dict.fromkeys(r.pk for r in told))
    if Notification.Channel.EMAIL in channels:
        read = all(hasattr(r, _EMAIL_CHOICE) for r in told)
        chosen = {r.pk: getattr(r, _EMAIL_CHOICE) for r in told} if read else None
        by_email = emailed(kind, people, chosen=chosen)
    in_app = Notification.Channel.IN_APP in channels
    return [
        Notice(
            recipient_id=pk,
            subject=subject,
            body=body,
            kind=kind,
            referral_id=referral_id,
            concern_id=concern_id,
            escalation_id=escalation_id,
            in_app=in_app,
            email=pk in by_email,
        )
        for pk in people
        if in_app or pk in by_email
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
