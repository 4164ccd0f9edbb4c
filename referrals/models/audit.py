"""The audit trail: append-only, hash-chained (referrals.audit writes and verifies it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from agencies.models import Agency


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
    # One record: its id here. A list or API page names every record it returned in one
    # event instead: `target_ids` holds their ids (of `target_type`) and `target_id` is
    # empty. NULL on every other event, so only lists enter its GIN index (PostgreSQL only,
    # partial; migration 0014_auditevent_target_ids). See docs/design.md "Audit".
    target_id = models.CharField(max_length=64, blank=True)
    target_ids = models.JSONField(null=True, blank=True, editable=False)
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
        if self.target_ids is not None:
            return f"{self.action} {len(self.target_ids)} {self.target_type}"
        return f"{self.action} {self.target_type}#{self.target_id}"
