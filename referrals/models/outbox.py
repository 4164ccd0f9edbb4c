"""The outbox: one row per recipient and message, sent by the relay."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from referrals.models.casework import Referral
from referrals.models.clocks import Escalation


class Notification(models.Model):
    """Outbox: one row per recipient and channel, sent by the relay task."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In the app"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # The inbox index leads with the recipient, so it serves their lookups and cascades too.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # Subject and body never hold a child's personal data: they link to the record.
    subject = models.CharField(max_length=200)
    body = models.TextField()
    referral = models.ForeignKey(
        Referral,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    escalation = models.ForeignKey(
        Escalation,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_relay_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"Notification #{self.pk} ({self.channel})"
