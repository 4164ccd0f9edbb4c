"""Drafts: forms saved as they are typed, so no work is lost."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from agencies.models import Agency
from referrals.models.children import Child


class Draft(models.Model):
    """A form as it is being typed, saved every few seconds so no work is lost.

    One per person, form and child. Closed, not deleted, when the concern or referral is made
    or the person deletes it: its answers are emptied and its version kept, so a save still on
    its way from the form that was posted finds it closed and changes nothing.
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
    # The form's own count of its saves: a save carrying a lower number than the one stored
    # (an autosave still in flight when the form was posted) changes nothing.
    version = models.PositiveIntegerField(default=0)
    # Set when the record was made from it or the person deleted it (its payload then empty);
    # every reader but the form's version ignores a closed draft. A higher save reopens it.
    closed_at = models.DateTimeField(null=True, blank=True)
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
