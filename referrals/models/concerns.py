"""A concern recorded inside one agency, and what was added to it later."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency, LocalAuthority
from referrals.core.choices import Urgency
from referrals.models.children import Child


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
