"""Children, concerns, referrals and what happens to them; the audit trail.

Models hold data and invariants only. Every write goes through referrals.services.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from agencies.models import Agency, LocalAuthority, Team
from referrals.choices import CinCategory, Urgency
from referrals.validators import validate_nhs_number, validate_upn


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNKNOWN = "unknown", "Not known"


class Child(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    other_names = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    expected_date_of_birth = models.DateField(
        null=True, blank=True, help_text="For an unborn child."
    )
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    address = models.TextField(blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    nhs_number = models.CharField(
        "NHS number", max_length=10, blank=True, validators=[validate_nhs_number]
    )
    upn = models.CharField("UPN", max_length=13, blank=True, validators=[validate_upn])
    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.PROTECT, related_name="children"
    )
    # The agency that first recorded the child; its members may find the child again.
    created_by_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="children_recorded"
    )
    # Search keys for identity matching (referrals.matching): folded, nicknames resolved.
    # Derived from the fields above in save(), so every way of writing a child keeps them.
    match_first = models.CharField(max_length=100, blank=True, editable=False)
    match_last = models.CharField(max_length=100, blank=True, editable=False)
    match_name = models.CharField(max_length=201, blank=True, editable=False)
    match_postcode = models.CharField(max_length=8, blank=True, editable=False)
    # Set when the authority decided this record is the same child as another (a merge):
    # the records stay apart, so a merge is undone by clearing this.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="merged_records",
        null=True,
        blank=True,
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "children"
        permissions = [
            ("merge_child", "Can merge two records of the same child"),
            ("unmerge_child", "Can undo a merge of two child records"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=True) | Q(expected_date_of_birth__isnull=True),
                name="child_born_or_unborn",
            ),
        ]
        indexes = [
            models.Index(
                fields=["nhs_number"],
                name="child_nhs_number",
                condition=~Q(nhs_number=""),
            ),
            models.Index(
                fields=["local_authority", "last_name", "date_of_birth"],
                name="child_by_name_dob",
            ),
            # Identity matching: candidates by date of birth and by postcode. The trigram
            # index on match_name is PostgreSQL-only, made in migration 0007.
            models.Index(fields=["local_authority", "date_of_birth"], name="child_by_dob"),
            models.Index(
                fields=["local_authority", "match_postcode"],
                name="child_by_postcode",
                condition=~Q(match_postcode=""),
            ),
            models.Index(
                fields=["merged_into"], name="child_merged", condition=Q(merged_into__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        # Deliberately not the name: str() ends up in logs and admin history.
        return f"Child #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from referrals.matching import match_keys

        keys = match_keys(
            first_name=self.first_name, last_name=self.last_name, postcode=self.postcode
        )
        self.match_first, self.match_last, self.match_name, self.match_postcode = keys
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {
                *update_fields,
                "match_first",
                "match_last",
                "match_name",
                "match_postcode",
            }
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Concern(models.Model):
    """A worry about a child, recorded inside one agency. Evidence: never edited once made."""

    class Status(models.TextChoices):
        NEW = "new", "Awaiting review"
        REVIEWED = "reviewed", "Reviewed"

    class Outcome(models.TextChoices):
        MONITOR = "monitor", "Monitor in school"
        EARLY_HELP = "early_help", "Early help"
        REFER = "refer", "Refer to children's social care"
        NO_FURTHER_ACTION = "nfa", "No further action"

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="concerns")
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="concerns")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="concerns_raised",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    # How soon the safeguarding lead should look: orders their review queue.
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.STANDARD)
    observed_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(default=list, blank=True)
    what_happened = models.TextField()
    childs_words = models.TextField("the child's own words", blank=True)
    # Body map: a list of {"region": ..., "note": ...}.
    injuries = models.JSONField(default=list, blank=True)
    people_present = models.TextField(blank=True)
    actions_taken = models.TextField(blank=True)
    who_told = models.TextField(blank=True)
    review_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    review_rationale = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="concerns_reviewed",
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # A lead shared this low-level concern with the child's authority's front door, without a
    # referral: from then on the authority sees it and counts it towards a pattern flag.
    shared_with_authority = models.ForeignKey(
        LocalAuthority,
        on_delete=models.PROTECT,
        related_name="concerns_shared",
        null=True,
        blank=True,
    )
    shared_at = models.DateTimeField(null=True, blank=True)
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="concerns_shared",
        null=True,
        blank=True,
    )
    share_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("review_concern", "Can review concerns and decide what happens next")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="new", reviewed_at__isnull=True)
                | Q(status="reviewed", reviewed_at__isnull=False)
                & ~Q(review_outcome="")
                & ~Q(review_rationale=""),
                name="concern_review_complete",
            ),
            models.CheckConstraint(
                condition=Q(shared_with_authority__isnull=True, shared_at__isnull=True)
                | Q(
                    shared_with_authority__isnull=False,
                    shared_at__isnull=False,
                    shared_by__isnull=False,
                )
                & ~Q(share_reason=""),
                name="concern_share_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "status", "created_at"], name="concern_review_queue"),
            models.Index(
                fields=["shared_with_authority", "child"],
                name="concern_shared_by_child",
                condition=Q(shared_with_authority__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Concern #{self.pk}"


class Referral(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INFORMATION_REQUESTED = "information_requested", "Information requested"
        INFORMATION_RECEIVED = "information_received", "Information received"
        DECIDED = "decided", "Decided"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn"
        TRANSFERRED = "transferred", "Transferred"

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
        # Raised by the service when concerns add up (referrals.services_patterns): it sits in
        # the front door's queue and escalates exactly like a referral.
        PATTERN = "pattern", "Pattern of concerns"

    # Statuses whose clocks still run, so the escalation sweep looks at them.
    AWAITING = (
        Status.SUBMITTED,
        Status.ACKNOWLEDGED,
        Status.INFORMATION_REQUESTED,
        Status.INFORMATION_RECEIVED,
    )

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

    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
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
                condition=Q(status="draft")
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
                condition=Q(
                    status__in=[
                        "submitted",
                        "acknowledged",
                        "information_requested",
                        "information_received",
                        "decided",
                    ]
                ),
            ),
            # The escalation sweep: only rows whose clocks are still running, in the sweep's
            # order (ties on the time are common after an outage), so a batch reads its rows.
            models.Index(
                fields=["next_escalation_at", "id"],
                name="referral_escalation_due",
                condition=Q(
                    status__in=[
                        "submitted",
                        "acknowledged",
                        "information_requested",
                        "information_received",
                    ]
                ),
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
        MESSAGE = "message", "Message"
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


class Clock(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    DECIDE = "decide", "Decide"


class Escalation(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="escalations")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    level = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "clock", "level"], name="escalation_once_per_level"
            ),
            models.CheckConstraint(condition=Q(level__gte=1), name="escalation_level_positive"),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.referral_id}: {self.clock} level {self.level}"


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


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    LIST = "list", "Listed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    SUBMIT = "submit", "Submitted"
    REVIEW = "review", "Reviewed"
    CLAIM = "claim", "Claimed"
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
    REQUEST_INFORMATION = "request_information", "Requested information"
    PROVIDE_INFORMATION = "provide_information", "Provided information"
    DECIDE = "decide", "Decided"
    CLOSE = "close", "Closed"
    WITHDRAW = "withdraw", "Withdrew"
    TRANSFER = "transfer", "Transferred"
    SHARE = "share", "Shared"
    REVOKE_SHARE = "revoke_share", "Revoked a share"
    ACKNOWLEDGE_RECEIPT = "acknowledge_receipt", "Acknowledged receipt of a share"
    REASSIGN = "reassign", "Reassigned"
    NOTE = "note", "Added an internal note"
    ESCALATE = "escalate", "Escalated"
    DOWNLOAD = "download", "Downloaded"
    DENIED = "denied", "Denied access"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed to sign in"
    SIGN_OUT = "sign_out", "Signed out"
    MFA_ENROL = "mfa_enrol", "Enrolled an authenticator"
    MATCH = "match", "Matched a child's records"
    MERGE = "merge", "Merged a child's records"
    UNMERGE = "unmerge", "Undid a merge of a child's records"
    NOT_MATCH = "not_match", "Recorded two records as different children"
    FLAG = "flag", "Raised a pattern flag"
    MFA_RESET = "mfa_reset", "Reset a second factor"
    LOCKOUT = "lockout", "Locked out after repeated failures"
    REAUTHENTICATE = "reauthenticate", "Confirmed their identity again"
    EMAIL_CHANGE = "email_change", "Changed their email address"
    SESSION_END = "session_end", "Ended a session"
    ADMIN_CHANGE = "admin_change", "Changed in the admin"


class AuditEvent(models.Model):
    """Append-only: who did or saw what, when, from where. Never personal data in `data`."""

    # Set before the row is hashed (not auto_now_add, which would overwrite it on save).
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    # For machine clients and the system itself, what acted when no person did.
    actor_label = models.CharField(max_length=200, blank=True)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # The hash chain (referrals/audit.py): the previous event's hash, and this event's hash
    # over its own fields and `previous_hash`. Editing or removing a row breaks the chain.
    previous_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=["target_type", "target_id", "id"], name="audit_by_target"),
            models.Index(fields=["actor", "id"], name="audit_by_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"


class Addendum(models.Model):
    """Something added to a concern later: the concern itself is evidence and never edited."""

    concern = models.ForeignKey(Concern, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="addenda_written"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "addenda"
        ordering = ("created_at", "id")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="addendum_not_empty")]

    def __str__(self) -> str:
        return f"Addendum #{self.pk} to concern #{self.concern_id}"


class Draft(models.Model):
    """A form as it is being typed, saved every few seconds so no work is lost.

    One per person, form and child. Deleted when the concern or referral is made.
    """

    class Kind(models.TextChoices):
        CONCERN = "concern", "Concern"
        REFERRAL = "referral", "Referral"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The form's fields as posted: {name: [values]}; never logged.
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-updated_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "child"], name="draft_one_per_person_form_child"
            )
        ]

    def __str__(self) -> str:
        return f"Draft #{self.pk} ({self.kind})"


class AttachmentType(models.TextChoices):
    """The file types accepted, as decided from the file's content (never its name)."""

    PDF = "application/pdf", "PDF"
    PNG = "image/png", "PNG image"
    JPEG = "image/jpeg", "JPEG image"
    DOCX = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
    )
    TEXT = "text/plain", "Plain text"


ATTACHMENT_EXTENSIONS = {
    AttachmentType.PDF: "pdf",
    AttachmentType.PNG: "png",
    AttachmentType.JPEG: "jpg",
    AttachmentType.DOCX: "docx",
    AttachmentType.TEXT: "txt",
}


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A random stored name: the person's file name never reaches the file system."""
    import uuid

    extension = ATTACHMENT_EXTENSIONS.get(AttachmentType(instance.content_type), "bin")
    return f"attachments/{uuid.uuid4().hex}.{extension}"


class Attachment(models.Model):
    """A file added to a concern or a referral; stored under MEDIA_ROOT, never web-served."""

    concern = models.ForeignKey(
        Concern, on_delete=models.PROTECT, related_name="attachments", null=True, blank=True
    )
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="attachments", null=True, blank=True
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=200)
    # The name the person gave it, shown to those who may see the record; never in a URL.
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=80, choices=AttachmentType.choices)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(concern__isnull=False, referral__isnull=True)
                | Q(concern__isnull=True, referral__isnull=False),
                name="attachment_on_one_record",
            ),
        ]

    def __str__(self) -> str:
        return f"Attachment #{self.pk}"


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


# The joined-up picture (issue 9): one child across agencies, patterns, households ----------


class ChildMatchDecision(models.Model):
    """A person's (or, for an NHS number, the service's) decision about two child records.

    `merged`: `duplicate` is the same child as `kept` (Child.merged_into points at it) until an
    authority manager reverses it. `different`: they are not the same child, so the pair is no
    longer offered.
    """

    class Outcome(models.TextChoices):
        MERGED = "merged", "Same child: records merged"
        DIFFERENT = "different", "Not the same child"

    kept = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    duplicate = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    score = models.PositiveSmallIntegerField()
    # Reason codes from referrals.matching (never the names compared).
    reasons = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Empty when the service linked two records with the same NHS number.",
    )
    decided_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reversal_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kept=models.F("duplicate")), name="match_two_records"
            ),
            # One standing decision per record merged away.
            models.UniqueConstraint(
                fields=["duplicate"],
                condition=Q(outcome="merged", reversed_at__isnull=True),
                name="match_one_merge_per_duplicate",
            ),
            models.CheckConstraint(
                condition=Q(reversed_at__isnull=True)
                | Q(reversed_by__isnull=False) & ~Q(reversal_reason=""),
                name="match_reversal_explained",
            ),
        ]
        indexes = [
            models.Index(fields=["kept", "duplicate"], name="match_decision_pair"),
            models.Index(fields=["duplicate", "kept"], name="match_decision_pair_rev"),
        ]

    def __str__(self) -> str:
        return f"Match decision #{self.pk} ({self.outcome})"


class PatternRule(models.Model):
    """When concerns about a child add up to a flag in the authority's front door queue."""

    class Kind(models.TextChoices):
        CUMULATIVE = "cumulative", "Concerns from several agencies within a period"
        REPEAT_AFTER_NFA = "repeat_nfa", "A new referral soon after 'no further action'"

    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.CASCADE, related_name="pattern_rules"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    min_concerns = models.PositiveSmallIntegerField(
        default=3, help_text="Cumulative rules: at least this many concerns or referrals."
    )
    min_agencies = models.PositiveSmallIntegerField(
        default=2, help_text="Cumulative rules: from at least this many agencies."
    )
    window_days = models.PositiveSmallIntegerField(
        default=90, help_text="Within this many days (repeat rules: of the earlier decision)."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("local_authority", "kind", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_concerns__gte=1, min_agencies__gte=1, window_days__gte=1),
                name="pattern_rule_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_authority}: {self.get_kind_display()}"

    def describe(self) -> str:
        """The rule in plain words, as the front door reads it."""
        if self.kind == self.Kind.REPEAT_AFTER_NFA:
            return (
                f"A new referral within {self.window_days} days of a 'no further action' decision"
            )
        return (
            f"{self.min_concerns} or more concerns from {self.min_agencies} or more agencies "
            f"within {self.window_days} days"
        )


class PatternFlag(models.Model):
    """A rule fired for a child: the queue item that carries it, and what made it fire.

    A cumulative flag raises its own item (a Referral of kind `pattern`, so the one sweep, the
    one ladder and the one audit trail apply); a repeat-referral flag marks the referral that
    repeated, which is already in the queue.
    """

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="pattern_flags")
    rule = models.ForeignKey(PatternRule, on_delete=models.PROTECT, related_name="flags")
    item = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="pattern_flag")
    concerns = models.ManyToManyField(Concern, related_name="pattern_flags", blank=True)
    # Referrals (without concerns of their own) that counted, and for a repeat the earlier one.
    referrals = models.ManyToManyField(Referral, related_name="pattern_flags_counted", blank=True)
    raised_at = models.DateTimeField()
    summary = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["child", "raised_at"], name="pattern_flag_by_child")]

    def __str__(self) -> str:
        return f"Pattern flag #{self.pk}"


class HouseholdMember(models.Model):
    """An adult linked to a child: a parent, carer, a parent's partner, someone living there."""

    class Relationship(models.TextChoices):
        PARENT = "parent", "Parent"
        CARER = "carer", "Carer"
        PARENTS_PARTNER = "parents_partner", "Partner of a parent"
        HOUSEHOLD = "household", "Other household member"

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="household")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    relationship = models.CharField(max_length=16, choices=Relationship.choices)
    lives_with_child = models.BooleanField(default=True)
    # When they joined the household, if known; the chronology uses it.
    joined_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["child", "created_at"], name="household_by_child")]

    def __str__(self) -> str:
        # Not the name: str() ends up in logs and admin history.
        return f"Household member #{self.pk} of child #{self.child_id}"
