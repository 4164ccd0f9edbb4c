"""Recording a concern from the form, and adding to one afterwards (addenda)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from agencies.models import Agency, User
from referrals import errors
from referrals.audit import audit_record
from referrals.errors import ApplicationError
from referrals.models import Addendum, AuditAction, Child, Concern, Draft
from referrals.permissions import user_may_add_to_concern
from referrals.services import concern_create
from referrals.services_attachments import attachment_check, attachment_create
from referrals.services_drafts import drafts_discard_for


@transaction.atomic
def concern_submit(
    *,
    user: User,
    agency: Agency,
    child: Child,
    upload: UploadedFile[bytes] | None = None,
    **fields: Any,
) -> Concern:
    """Record the concern, attach its file and discard the draft, all or nothing."""
    if upload is not None:
        attachment_check(upload=upload)  # refuse a bad file before anything is written
    concern = concern_create(user=user, agency=agency, child=child, **fields)
    drafts_discard_for(user=user, kind=Draft.Kind.CONCERN, child=child)
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
