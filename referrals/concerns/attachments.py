"""Files on concerns and referrals: checked by content, stored outside any web-served folder."""

from __future__ import annotations

import hashlib
import logging

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from agencies.models import Agency, User
from referrals.audit import audit_record
from referrals.concerns.files import ATTACHMENT_MAX_BYTES, safe_file_name, sniff_content_type
from referrals.core import errors
from referrals.core.errors import ApplicationError
from referrals.models import Attachment, AttachmentType, AuditAction, Concern, Referral
from referrals.visibility import (
    referral_is_received_by,
    user_may_add_to_concern,
    user_may_add_to_referral,
)

logger = logging.getLogger(__name__)


def attachment_check(*, upload: UploadedFile[bytes]) -> AttachmentType:
    """The file's type from its content; ApplicationError when it may not be stored."""
    if upload.size is None or upload.size > ATTACHMENT_MAX_BYTES:
        raise ApplicationError(errors.ATTACHMENT_TOO_LARGE, code="too_large")
    if upload.size == 0:
        raise ApplicationError(errors.ATTACHMENT_EMPTY, code="empty")
    upload.seek(0)
    content_type = sniff_content_type(upload)
    if content_type is None:
        raise ApplicationError(errors.ATTACHMENT_TYPE_NOT_ALLOWED, code="type")
    return content_type


def _uploader_agency(user: User, concern: Concern | None, referral: Referral | None) -> Agency:
    if concern is not None:
        return concern.agency
    assert referral is not None  # noqa: S101 - exactly one of the two, checked by the caller
    if referral.team is not None and referral_is_received_by(user=user, referral=referral):
        return referral.team.agency
    return referral.referring_agency


@transaction.atomic
def attachment_create(
    *,
    user: User,
    upload: UploadedFile[bytes],
    concern: Concern | None = None,
    referral: Referral | None = None,
) -> Attachment:
    """Store a file on a concern or a referral. Call it last in a transaction: a rejected
    file raises before anything is written, and a failed insert removes the stored file."""
    if (concern is None) == (referral is None):
        raise ValueError("An attachment belongs to exactly one concern or referral.")
    allowed = (
        user_may_add_to_concern(user=user, concern=concern)
        if concern is not None
        else referral is not None and user_may_add_to_referral(user=user, referral=referral)
    )
    if not allowed:
        raise ApplicationError(errors.PERMISSION_DENIED, code="permission_denied")
    content_type = attachment_check(upload=upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    agency = _uploader_agency(user, concern, referral)
    attachment = Attachment(
        concern=concern,
        referral=referral,
        agency=agency,
        uploaded_by=user,
        name=safe_file_name(upload.name or "", content_type),
        content_type=content_type,
        size=upload.size or 0,
        sha256=digest.hexdigest(),
    )
    attachment.file.save(attachment.name, upload, save=False)
    try:
        attachment.save()
        audit_record(
            actor=user,
            action=AuditAction.CREATE,
            target=attachment,
            agency=agency,
            data={
                "concern": attachment.concern_id,
                "referral": attachment.referral_id,
                "type": content_type.value,
                "size": attachment.size,
            },
        )
    except Exception:
        attachment.file.delete(save=False)
        logger.warning("Attachment not recorded; its stored file was removed.")
        raise
    return attachment
