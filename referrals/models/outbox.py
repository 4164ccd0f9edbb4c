"""The outbox: one row per person and message, its email sent by the relay."""

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
    """Outbox: one row per person and message, with each channel's delivery state.

    In the app a notice is delivered by being stored (`in_app`); its email, if any, waits for
    the relay (`email_status` pending until sent or failed). An escalation digest is one row per
    person and sweep run (`digest_key`), naming the run's escalations (`escalations`).
    """

    class Channel(models.TextChoices):
        """The ways a person may be told; `notices_for` takes a subset."""

        IN_APP = "in_app", "In the app"
        EMAIL = "email", "Email"

    class EmailStatus(models.TextChoices):
        NONE = "none", "No email"
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
    # A notice about one escalation (the referrer's side); a digest names many (`escalations`).
    escalation = models.ForeignKey(
        Escalation,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    escalations = models.ManyToManyField(Escalation, related_name="digests", blank=True)
    # "sweep:<run>" on an escalation digest: the run's later batches append to the same row.
    digest_key = models.CharField(max_length=40, blank=True)
    digest_count = models.PositiveIntegerField(default=0)
    in_app = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=8, choices=EmailStatus.choices, default=EmailStatus.NONE
    )
    # Every claim of the email by a relay counts, whether or not the relay lived to say so.
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_attempt_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_last_error = models.CharField(max_length=200, blank=True)
    # Claims taken over after they expired unconfirmed: the earlier send may have gone too.
    email_resent = models.PositiveSmallIntegerField(
        "resends after an unconfirmed attempt", default=0
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["email_next_attempt_at", "id"],
                name="notification_relay_due",
                condition=Q(email_status__in=["pending", "sending"]),
            ),
            models.Index(fields=["recipient", "in_app", "read_at"], name="notification_inbox"),
        ]
        constraints = [
            # One open digest per person and run; one whose email went starts a new row.
            models.UniqueConstraint(
                fields=["digest_key", "recipient"],
                name="notification_digest_open",
                condition=~Q(digest_key="") & Q(email_status__in=["none", "pending"]),
            ),
            models.CheckConstraint(
                condition=Q(in_app=True) | ~Q(email_status="none"),
                name="notification_has_a_channel",
            ),
        ]

    def __str__(self) -> str:
        email = "" if self.email_status == self.EmailStatus.NONE else f", email {self.email_status}"
        return f"Notification #{self.pk}{email}"


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
