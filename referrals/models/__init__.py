"""The referrals app's data and invariants, one module per job, re-exported here.

Models hold data and invariants only; every write goes through a service of the package that
owns the job (referrals.casework, referrals.concerns, ...).
"""

from referrals.models.audit import AuditAction, AuditEvent
from referrals.models.casework import (
    Decision,
    IdempotencyKey,
    OutcomeRead,
    Referral,
    ReferralEvent,
    ReferralGroupObjectPermission,
    ReferralUserObjectPermission,
    Share,
)
from referrals.models.children import Child, ChildMatchDecision, HouseholdMember, Sex
from referrals.models.clocks import Escalation
from referrals.models.concerns import Addendum, Concern
from referrals.models.drafts import Draft
from referrals.models.files import (
    ATTACHMENT_EXTENSIONS,
    Attachment,
    AttachmentType,
    attachment_upload_to,
)
from referrals.models.outbox import (
    EMAIL_BY_DEFAULT,
    URGENT_KINDS,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from referrals.models.patterns import PatternFlag, PatternRule

__all__ = [
    "ATTACHMENT_EXTENSIONS",
    "EMAIL_BY_DEFAULT",
    "URGENT_KINDS",
    "Addendum",
    "Attachment",
    "AttachmentType",
    "AuditAction",
    "AuditEvent",
    "Child",
    "ChildMatchDecision",
    "Concern",
    "Decision",
    "Draft",
    "Escalation",
    "HouseholdMember",
    "IdempotencyKey",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "OutcomeRead",
    "PatternFlag",
    "PatternRule",
    "Referral",
    "ReferralEvent",
    "ReferralGroupObjectPermission",
    "ReferralUserObjectPermission",
    "Sex",
    "Share",
    "attachment_upload_to",
]
