"""Vocabulary shared by concerns, referrals, routing rules and the API (no models here)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models


class Urgency(models.TextChoices):
    """One scale from a concern to a referral: the stored values are the API's too."""

    IMMEDIATE = "immediate", "Straight away"
    URGENT = "urgent", "Today"
    STANDARD = "standard", "At the next review"


# The option as a person choosing it reads it (the short label is what lists and tags show).
URGENCY_OPTIONS: dict[str, str] = {
    Urgency.IMMEDIATE: "Straight away: the child may be at risk of harm today",
    Urgency.URGENT: "Today",
    Urgency.STANDARD: "At the next review",
}


# What each urgency means, shown under its option wherever a person chooses one.
URGENCY_HINTS: dict[str, str] = {
    Urgency.IMMEDIATE: (
        "Someone must act on it now. If a child is in immediate danger, call 999 first, "
        "then record it here."
    ),
    Urgency.URGENT: "Someone needs to look at it today, but the child is not in immediate danger.",
    Urgency.STANDARD: "It can wait to be looked at in the usual way, at the next review.",
}


def most_urgent(values: Iterable[str]) -> str:
    """The most urgent of some urgencies ("" when there are none)."""
    order = list(Urgency.values)  # declared from the most urgent down
    ranks = [order.index(value) for value in values if value in order]
    return order[min(ranks)] if ranks else ""


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
