"""Pattern rules: when concerns about a child add up, and the flags they raise."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from agencies.models import LocalAuthority
from referrals.models.casework import Referral
from referrals.models.children import Child
from referrals.models.concerns import Concern


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
