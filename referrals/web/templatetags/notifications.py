"""The header's count of unread notifications."""

from __future__ import annotations

from typing import Any

from django import template

from referrals.outbox.inbox import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user: Any) -> int:
    """How many of the signed-in person's notifications are unread (one indexed count)."""
    if not user.is_authenticated:
        return 0
    return unread_count(user=user)
