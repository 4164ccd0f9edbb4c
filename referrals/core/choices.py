"""Vocabulary shared by concerns, referrals, routing rules and the API (no models here)."""

from __future__ import annotations

from django.db import models


class Urgency(models.TextChoices):
    IMMEDIATE = "immediate", "Immediate risk of harm"
    URGENT = "urgent", "Urgent"
    STANDARD = "standard", "Standard"


class CinCategory(models.TextChoices):
    """Children in Need census categories of abuse."""

    NEGLECT = "neglect", "Neglect"
    PHYSICAL = "physical", "Physical abuse"
    SEXUAL = "sexual", "Sexual abuse"
    EMOTIONAL = "emotional", "Emotional abuse"
    MULTIPLE = "multiple", "Multiple"


class Factor(models.TextChoices):
    """Factors identified at assessment (a subset of the CIN census list)."""

    DOMESTIC_ABUSE = "domestic_abuse", "Domestic abuse"
    CSE = "cse", "Child sexual exploitation"
    CCE = "cce", "Child criminal exploitation"
    FGM = "fgm", "Female genital mutilation"
    RADICALISATION = "radicalisation", "Radicalisation"
    SELF_HARM = "self_harm", "Self-harm"
    ONLINE_HARM = "online_harm", "Online harm"
    MISSING = "missing", "Missing from home or education"
    SUBSTANCE_MISUSE = "substance_misuse", "Parental substance misuse"
    MENTAL_HEALTH = "mental_health", "Parental mental health"


# What a person may tick on a concern: categories of abuse and factors together.
CONCERN_CATEGORY_CHOICES = [*CinCategory.choices, *Factor.choices]
