"""The child: one identity across agencies, its merges, and the adults around it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency, LocalAuthority
from referrals.core.match_keys import match_keys
from referrals.core.validators import validate_nhs_number, validate_upn


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNKNOWN = "unknown", "Not known"


class ChildQuerySet(models.QuerySet["Child"]):
    def group_ids(self, child: Child) -> list[int]:
        """The child's group: its record, the record it was merged into, every record merged
        with that (the kept record first). The one definition of "the same child"."""
        root = child.merged_into_id or child.pk
        return [root, *self.filter(merged_into_id=root).values_list("pk", flat=True)]


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
    # Search keys for identity matching (referrals.core.match_keys): folded, nicknames resolved.
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

    objects = ChildQuerySet.as_manager()

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
            # Find a child by UPN (a school's pupil number) as by NHS number: one index probe.
            models.Index(fields=["upn"], name="child_upn", condition=~Q(upn="")),
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
    # Reason codes from referrals.children.matching (never the names compared).
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
