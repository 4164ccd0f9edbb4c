"""Escalations: a referral's clock ran out and the ladder's rung was told, once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from referrals.core.states import Clock
from referrals.models.casework import Referral


class Escalation(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="escalations")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    level = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "clock", "level"], name="escalation_once_per_level"
            ),
            models.CheckConstraint(condition=Q(level__gte=1), name="escalation_level_positive"),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.referral_id}: {self.clock} level {self.level}"
