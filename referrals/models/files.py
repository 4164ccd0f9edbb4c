"""Files added to a concern or a referral, and the types accepted."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency
from referrals.models.casework import Referral
from referrals.models.concerns import Concern


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
