"""The relay: sends the outbox's emails, each once, retrying failures with backoff.

Once, not exactly once: a relay that dies after the mail server took a message and before the
row says so leaves a claim that expires, and the next relay sends it again. Each message carries
a stable Message-ID so mail systems can drop the copy, and the row records the resend."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from agencies.models import User
from referrals.audit import audit_record
from referrals.models import AuditAction, Notification
from referrals.outbox.notices import notice_path, relay_soon

logger = logging.getLogger(__name__)

RELAY_MAX_ATTEMPTS = 8
# The error a row shows when its last attempt's claim expired unconfirmed (the worker died).
CLAIM_EXPIRED = "ClaimExpired"
# One relay run sends batches until the outbox is empty or this much time has passed.
RELAY_TIME_BUDGET = datetime.timedelta(seconds=50)


def _claim_timeout() -> datetime.timedelta:
    """A claim older than this belongs to a worker that died mid-send: the row is taken again."""
    return datetime.timedelta(seconds=settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS)


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def message_id(notification_id: int) -> str:
    """The Message-ID every send of a notification's email carries, so that a mail system which
    already has the message can drop a second copy. The tag tells one deployment's notification
    #5 from another's (a keyed hash of SITE_URL: it reveals nothing)."""
    tag = salted_hmac("referrals.outbox.message-id", settings.SITE_URL).hexdigest()[:16]
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<notification-{notification_id}.{tag}@{domain}>"


def email_text(notification: Notification) -> str:
    """An email's text: the notice and a link to its record (the service asks to sign in first).
    Never a child's name: the notice holds none and the link holds ids only."""
    text, link = notification.body, "Open it in the service"
    if notification.digest_key:
        more = notification.digest_count - (notification.body.count("\n") + 1)
        tail = f"\nand {more} more." if more > 0 else ""
        text = f"These referrals are past a deadline and escalated to you:\n\n{text}{tail}"
        link = "Your queue lists every referral escalated to you"
    return (
        f"{text}\n\n"
        f"{link} (you will be asked to sign in first):\n"
        f"{settings.SITE_URL}{notice_path(notification)}\n\n"
        f"If a child is in immediate danger, call 999.\n"
        f"Choose which updates you are emailed about: "
        f"{settings.SITE_URL}{reverse('notification-settings')}\n"
    )


def notification_deliver(notification: Notification) -> None:
    """Send a notification's email (in the app it was delivered by being stored)."""
    EmailMessage(
        subject=notification.subject,
        body=email_text(notification),
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification.pk)},
    ).send()


def _claim(
    pk: int, status: str, claimed_at: datetime.datetime | None, attempts: int
) -> datetime.datetime | None:
    """Take one due email for this relay; the claim's time if it is ours to send now.

    1. Compare and swap on (status, claimed_at) and, for a pending row, its due time (a
       digest's hold may have moved on since we read it): of two relays racing for a row,
       exactly one moves it to SENDING.
    2. The claim counts as an attempt in the same statement, so an attempt that dies before it
       can say how it went is still counted.
    3. A SENDING row whose claim expired was never confirmed: the earlier send may have gone.
       Taking it again is recorded (`email_resent`); after the last attempt it fails instead.
    """
    now = timezone.now()
    rows = Notification.objects.filter(pk=pk, email_status=status, email_claimed_at=claimed_at)
    unconfirmed = status == Notification.EmailStatus.SENDING
    if not unconfirmed:
        rows = rows.filter(email_next_attempt_at__lte=now)
    elif attempts >= RELAY_MAX_ATTEMPTS:
        rows.update(
            email_status=Notification.EmailStatus.FAILED,
            email_claimed_at=None,
            email_last_error=CLAIM_EXPIRED,
        )
        return None
    claimed = rows.update(
        email_status=Notification.EmailStatus.SENDING,
        email_claimed_at=now,
        email_attempts=F("email_attempts") + 1,
        email_resent=F("email_resent") + (1 if unconfirmed else 0),
    )
    return now if claimed else None


def _relay_batch(*, batch_size: int) -> tuple[int, int]:
    """Claim and send one batch of due emails; return (rows looked at, emails sent)."""
    now = timezone.now()
    due = list(
        Notification.objects.filter(
            Q(email_status=Notification.EmailStatus.PENDING, email_next_attempt_at__lte=now)
            | Q(
                email_status=Notification.EmailStatus.SENDING,
                email_claimed_at__lt=now - _claim_timeout(),
            )
        )
        .order_by("email_next_attempt_at", "id")
        .values_list("pk", "email_status", "email_claimed_at", "email_attempts")[:batch_size]
    )
    sent = 0
    for pk, status, claimed_at, attempts in due:
        claim = _claim(pk, status, claimed_at, attempts)
        if claim is None:
            continue
        # Every update from here is conditional on our claim: a relay whose claim expired
        # must not overwrite a newer one.
        mine = Notification.objects.filter(
            pk=pk, email_status=Notification.EmailStatus.SENDING, email_claimed_at=claim
        )
        notification = Notification.objects.select_related("recipient").get(pk=pk)
        try:
            notification_deliver(notification)
        except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
            attempts = notification.email_attempts
            failed = attempts >= RELAY_MAX_ATTEMPTS
            mine.update(
                email_status=(
                    Notification.EmailStatus.FAILED if failed else Notification.EmailStatus.PENDING
                ),
                email_next_attempt_at=timezone.now() + _backoff(attempts),
                email_claimed_at=None,
                # The class only: a message may quote an address or a server's reply.
                email_last_error=type(exc).__name__[:200],
            )
            logger.warning(
                "Notification %s failed (attempt %s): %s", pk, attempts, type(exc).__name__
            )
            continue
        sent += mine.update(
            email_status=Notification.EmailStatus.SENT,
            email_sent_at=timezone.now(),
            email_last_error="",
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
        .filter(pk__in=pks, email_status=Notification.EmailStatus.FAILED)
        .order_by("id")
    )
    Notification.objects.filter(pk__in=[n.pk for n in retried]).update(
        email_status=Notification.EmailStatus.PENDING,
        email_attempts=0,
        email_next_attempt_at=timezone.now(),
    )
    for notification in retried:
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            target=notification,
            data={"retry": True, "last_error": notification.email_last_error},
        )
    if retried:
        transaction.on_commit(relay_soon)
    return len(retried)
