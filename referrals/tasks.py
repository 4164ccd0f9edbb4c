"""Celery tasks: each takes ids at most, calls a service, and holds no child data."""

from __future__ import annotations

from celery import shared_task

from referrals.services import notifications_relay


@shared_task(ignore_result=True)
def notifications_relay_task() -> int:
    """Send the notification outbox (triggered on commit and by beat)."""
    return notifications_relay()
