"""The referral to a local authority and what happens to it: timeline, decision, shares."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from agencies.models import Agency, LocalAuthority, Team
from referrals.core import states
from referrals.core.choices import CinCategory, Urgency
from referrals.models.children import Child
from referrals.models.concerns import Concern


class Referral(models.Model):
    # The states and their transitions are one table: referrals.core.states.
    Status = states.ReferralStatus

    class Consent(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        NOT_SOUGHT = "not_sought", "Not sought"

    class ParentsAware(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        UNKNOWN = "unknown", "Not known"

    class Kind(models.TextChoices):
        REFERRAL = "referral", "Referral"
        # Raised by the service when concerns add up (referrals.patterns): it sits in
        # the front door's queue and escalates exactly like a referral.
        PATTERN = "pattern", "Pattern of concerns"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REFERRAL)
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="referrals")
    referring_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="referrals_made"
    )
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referrals_made",
        null=True,
        blank=True,
        help_text="Empty when an agency system submitted it over the API.",
    )
    referrer_name = models.CharField(max_length=200)
    referrer_phone = models.CharField(max_length=32, blank=True)
    referrer_email = models.EmailField(blank=True)
    cin_referral_source = models.CharField("CIN referral source", max_length=4)
    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.PROTECT, related_name="referrals_received"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="referrals", null=True, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referrals_owned",
        null=True,
        blank=True,
    )
    concerns = models.ManyToManyField(Concern, related_name="referrals", blank=True)
    transferred_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        related_name="transferred_to",
        null=True,
        blank=True,
    )

    urgency = models.CharField(max_length=16, choices=Urgency.choices)
    # Immediate risk first in every queue: an indexable rank, never computed per row in Python.
    urgency_rank = models.GeneratedField(
        expression=Case(
            When(urgency=Urgency.IMMEDIATE, then=Value(0)),
            When(urgency=Urgency.URGENT, then=Value(1)),
            default=Value(2),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    category = models.CharField(
        "category of abuse", max_length=16, choices=CinCategory.choices, blank=True
    )
    factors = models.JSONField(default=list, blank=True)
    reason = models.TextField("what worries the referrer")
    desired_outcome = models.TextField("what the referrer wants to happen", blank=True)
    consent = models.CharField(max_length=16, choices=Consent.choices)
    consent_reason = models.TextField(blank=True)
    parents_aware = models.CharField(
        max_length=8, choices=ParentsAware.choices, default=ParentsAware.UNKNOWN
    )

    status = models.CharField(max_length=24, choices=Status.choices, default=states.INITIAL)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    acknowledge_due_at = models.DateTimeField(null=True, blank=True)
    decision_due_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # When the sweep should next look at this referral; empty when no clock is running.
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("acknowledge_referral", "Can claim and acknowledge referrals"),
            ("decide_referral", "Can decide referrals"),
            ("share_referral", "Can share referrals with partner agencies"),
            ("transfer_referral", "Can transfer referrals to another authority"),
            ("reassign_referral", "Can reassign referrals"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(consent="given") | ~Q(consent_reason=""),
                name="referral_consent_reason_required",
            ),
            models.CheckConstraint(
                condition=Q(status=states.INITIAL)
                | Q(
                    submitted_at__isnull=False,
                    acknowledge_due_at__isnull=False,
                    decision_due_at__isnull=False,
                    team__isnull=False,
                ),
                name="referral_submitted_has_clock",
            ),
        ]
        indexes = [
            # The team queue: immediate risk first, then the earliest deadline. Only the
            # statuses a queue shows: the index stays the size of the open work, not of five
            # years of closed referrals, and closing one takes it out.
            models.Index(
                fields=["team", "urgency_rank", "decision_due_at", "id"],
                name="referral_team_queue",
                condition=states.status_q(states.IN_QUEUE),
            ),
            # The escalation sweep: only rows whose clocks are still running, in the sweep's
            # order (ties on the time are common after an outage), so a batch reads its rows.
            models.Index(
                fields=["next_escalation_at", "id"],
                name="referral_escalation_due",
                condition=states.status_q(states.OPEN),
            ),
            # Incremental pulls over the API: a cursor on (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="referral_updated_cursor"),
            models.Index(fields=["referring_agency", "created_at"], name="referral_by_referrer"),
            models.Index(fields=["local_authority", "created_at"], name="referral_by_authority"),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk}"


class ReferralUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)


class ReferralGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Referral, on_delete=models.CASCADE)


class ReferralEvent(models.Model):
    """The referral's timeline, and so part of the child's chronology."""

    class Kind(models.TextChoices):
        CREATED = "created", "Draft started"
        SUBMITTED = "submitted", "Submitted"
        CLAIMED = "claimed", "Claimed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INFORMATION_REQUESTED = "information_requested", "Information requested"
        INFORMATION_RECEIVED = "information_received", "Information received"
        NOTE = "note", "Internal note"
        DECIDED = "decided", "Decision"
        FEEDBACK = "feedback", "Feedback sent"
        ESCALATED = "escalated", "Escalated"
        SHARED = "shared", "Shared"
        SHARE_REVOKED = "share_revoked", "Share revoked"
        SHARE_RECEIVED = "share_received", "Receipt acknowledged by a partner"
        REASSIGNED = "reassigned", "Reassigned"
        TRANSFERRED = "transferred", "Transferred"
        WITHDRAWN = "withdrawn", "Withdrawn"
        CLOSED = "closed", "Closed"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    text = models.TextField(blank=True)
    # Internal notes are for the receiving team only, never partners or the referrer.
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["referral", "created_at"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on referral #{self.referral_id}"


class Decision(models.Model):
    class Outcome(models.TextChoices):
        NO_FURTHER_ACTION = "nfa", "No further action"
        UNIVERSAL_SERVICES = "universal", "Universal services or signposting"
        EARLY_HELP = "early_help", "Early help"
        SECTION_17 = "s17", "Section 17 child in need assessment"
        SECTION_47 = "s47", "Section 47 strategy discussion"
        IMMEDIATE_PROTECTION = "immediate_protection", "Immediate protection"
        POLICE = "police", "Referred to police"
        TRANSFER = "transfer", "Transfer to another authority"

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    rationale = models.TextField()
    feedback = models.TextField(help_text="Sent to the referrer.")
    category = models.CharField(max_length=16, choices=CinCategory.choices, blank=True)
    factors = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(rationale="") & ~Q(feedback=""), name="decision_explained"
            ),
        ]

    def __str__(self) -> str:
        return f"Decision on referral #{self.referral_id}"


class OutcomeRead(models.Model):
    """A person on the referrer's side has read a referral's outcome: their own read state."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="outcome_reads")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "referral"], name="outcome_read_once")
        ]

    def __str__(self) -> str:
        return f"Outcome of referral #{self.referral_id} read"


class Share(models.Model):
    """A referral shared with another agency: the only place object-level grants are made."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="shares")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="shares_received")
    reason = models.TextField()
    expires_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    # When the partner agency (a person or its system) confirmed it received the referral.
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "agency"],
                condition=Q(revoked_at__isnull=True),
                name="share_one_active_per_agency",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="share_reason_required"),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.referral_id} shared with {self.agency}"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key: a retried POST replays the first answer, never makes two."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    # SHA-256 of the request body: the same key with a different body is a client error.
    request_hash = models.CharField(max_length=64)
    # The referral the first request made; a replay answers with it (no copy of its data here).
    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"Idempotency key #{self.pk}"
