"""The outbox: one row per recipient and message, sent by the relay."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from referrals.models.casework import Referral
from referrals.models.clocks import Escalation
from referrals.models.concerns import Concern


class NotificationKind(models.TextChoices):
    """What a notice is about: decides its link, whether email is optional, and its wording."""

    CONCERN_URGENT = "concern_urgent", "A concern that needs looking at straight away"
    CONCERN_NEW = "concern_new", "A new concern to review"
    REFERRAL_RECEIVED = "referral_received", "A referral arrives in your team's queue"
    ACKNOWLEDGED = "acknowledged", "Your referral was acknowledged"
    QUESTION = "question", "The front door asks you a question"
    ANSWER = "answer", "A referrer answers your question"
    ASSIGNED = "assigned", "A referral is assigned to you"
    OUTCOME = "outcome", "The outcome of your referral"
    SHARED = "shared", "A referral is shared with you"
    TRANSFERRED = "transferred", "A referral is transferred to your authority"
    ESCALATION = "escalation", "A referral passes its deadline"
    PATTERN = "pattern", "A pattern of concerns"
    OTHER = "other", "Other updates"


# Email for these cannot be turned off: somebody must act now.
URGENT_KINDS = frozenset({NotificationKind.CONCERN_URGENT, NotificationKind.ESCALATION})
# Emailed unless the person turned them off (urgent kinds are always emailed).
EMAIL_BY_DEFAULT = frozenset(
    {
        NotificationKind.QUESTION,
        NotificationKind.ANSWER,
        NotificationKind.ASSIGNED,
        NotificationKind.OUTCOME,
        NotificationKind.SHARED,
        NotificationKind.TRANSFERRED,
        NotificationKind.REFERRAL_RECEIVED,
        NotificationKind.PATTERN,
        NotificationKind.ACKNOWLEDGED,
    }
)


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
    kind = models.CharField(
        max_length=24, choices=NotificationKind.choices, default=NotificationKind.OTHER
    )
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
    concern = models.ForeignKey(
        Concern,
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


class NotificationPreference(models.Model):
    """A person's choice of email for one kind of notice; no row means the default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    email = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {'email' if self.email else 'in the app only'}"
