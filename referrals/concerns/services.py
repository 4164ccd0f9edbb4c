"""Recording a concern, the safeguarding lead's review of it, and adding to it afterwards."""

from __future__ import annotations

import datetime
from typing import TypedDict, Unpack

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from agencies.capabilities import require_capability
from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.concerns.attachments import attachment_check, attachment_create
from referrals.concerns.drafts import drafts_discard_for
from referrals.core import errors
from referrals.core.choices import Urgency
from referrals.core.errors import ApplicationError, ensure
from referrals.models import Addendum, AuditAction, Child, Concern, Draft, NotificationKind
from referrals.outbox.notices import notifications_create
from referrals.outbox.recipients import safeguarding_leads_by_agency
from referrals.visibility import user_may_add_to_concern


class ConcernFields(TypedDict, total=False):
    """What the person recording a concern says (Concern's own fields)."""

    urgency: str
    observed_at: datetime.datetime
    location: str
    categories: list[str]
    what_happened: str
    childs_words: str
    injuries: list[dict[str, str]]
    people_present: str
    actions_taken: str
    who_told: str


@transaction.atomic
def concern_create(
    *, user: User, agency: Agency, child: Child, **fields: Unpack[ConcernFields]
) -> Concern:
    """Record a concern; the agency's safeguarding leads are told it needs review."""
    require_capability(user=user, capability="referrals.add_concern", agency=agency)
    concern = Concern(agency=agency, child=child, raised_by=user, **fields)
    concern.full_clean()
    concern.save()
    audit_record(actor=user, action=AuditAction.CREATE, target=concern, agency=agency)
    urgent = concern.urgency == Urgency.IMMEDIATE
    notifications_create(
        recipients=safeguarding_leads_by_agency([agency.pk])[agency.pk],
        subject="A concern needs you straight away"
        if urgent
        else "A new concern needs your review",
        body=f"Concern #{concern.pk} was recorded as needing a safeguarding lead straight away: "
        "the child may be at risk of harm today."
        if urgent
        else f"Concern #{concern.pk} was recorded and needs review.",
        kind=NotificationKind.CONCERN_URGENT if urgent else NotificationKind.CONCERN_NEW,
        concern=concern,
    )
    return concern


@transaction.atomic
def concern_review(*, concern: Concern, user: User, outcome: str, rationale: str) -> Concern:
    """The DSL's decision on a concern, with the reason (also when not referring)."""
    concern = Concern.objects.select_for_update().get(pk=concern.pk)
    require_capability(user=user, capability="referrals.review_concern", agency=concern.agency)
    ensure(
        concern.status == Concern.Status.NEW,
        errors.CONCERN_ALREADY_REVIEWED,
        code="state",
    )
    ensure(bool(rationale.strip()), errors.REASON_REQUIRED)
    concern.status = Concern.Status.REVIEWED
    concern.review_outcome = outcome
    concern.review_rationale = rationale
    concern.reviewed_by = user
    concern.reviewed_at = timezone.now()
    concern.full_clean()
    concern.save()
    audit_record(
        actor=user,
        action=AuditAction.REVIEW,
        target=concern,
        agency=concern.agency,
        data={"outcome": outcome},
    )
    return concern


@transaction.atomic
def concern_submit(
    *,
    user: User,
    agency: Agency,
    child: Child,
    upload: UploadedFile[bytes] | None = None,
    draft_version: int = 0,
    **fields: Unpack[ConcernFields],
) -> Concern:
    """Record the concern, attach its file and close the draft, all or nothing. The draft is
    closed at the version the form was posted with, so its late autosaves change nothing."""
    if upload is not None:
        attachment_check(upload=upload)  # refuse a bad file before anything is written
    concern = concern_create(user=user, agency=agency, child=child, **fields)
    drafts_discard_for(
        user=user, kind=Draft.Kind.CONCERN, child=child, agency=agency, version=draft_version
    )
    if upload is not None:
        attachment_create(user=user, upload=upload, concern=concern)
    return concern


@transaction.atomic
def addendum_create(*, user: User, concern: Concern, text: str) -> Addendum:
    """Add to a recorded concern; the concern itself never changes."""
    concern = Concern.objects.select_for_update().get(pk=concern.pk)
    if not user_may_add_to_concern(user=user, concern=concern):
        raise ApplicationError(errors.ADDENDUM_NOT_ALLOWED, code="permission_denied")
    if not text.strip():
        raise ApplicationError(errors.ADDENDUM_REQUIRED)
    addendum = Addendum.objects.create(concern=concern, author=user, text=text.strip())
    audit_record(
        actor=user,
        action=AuditAction.CREATE,
        target=addendum,
        agency=concern.agency,
        data={"concern": concern.pk},
    )
    return addendum
