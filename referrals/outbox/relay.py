"""The relay: sends the outbox's email rows, each exactly once, retrying failures with backoff."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agencies.models import User
from referrals.audit import audit_record
from referrals.models import AuditAction, Notification
from referrals.outbox.notices import record_path, relay_soon

logger = logging.getLogger(__name__)

RELAY_MAX_ATTEMPTS = 8
# One relay run sends batches until the outbox is empty or this much time has passed.
RELAY_TIME_BUDGET = datetime.timedelta(seconds=50)


def _claim_timeout() -> datetime.timedelta:
    """A claim older than this belongs to a worker that died mid-send: the row is taken again."""
    return datetime.timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def email_text(notification: Notification) -> str:
    """An email's text: the notice and a link to its record (the service asks to sign in first).
    Never a child's name: the notice holds none and the link holds ids only."""
    path = record_path(referral_id=notification.referral_id, concern_id=notification.concern_id)
    return (
        f"{notification.body}\n\n"
        f"Open it in the service (you will be asked to sign in first):\n"
        f"{settings.SITE_URL}{path}\n\n"
        f"If a child is in immediate danger, call 999.\n"
        f"Choose which updates you are emailed about: "
        f"{settings.SITE_URL}{reverse('notification-settings')}\n"
    )


def notification_deliver(notification: Notification) -> None:
    """Send one notification on its channel; in-app ones are delivered by being stored."""
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(
            subject=notification.subject,
            message=email_text(notification),
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
        transaction.on_commit(relay_soon)
    return len(retried)
