"""The outbox's task: takes no arguments, calls the relay, holds no child data."""

from __future__ import annotations

from celery import shared_task

from referrals.outbox.notices import RELAY_TASK
from referrals.outbox.relay import notifications_relay


@shared_task(name=RELAY_TASK, ignore_result=True)
def notifications_relay_task() -> int:
    """Send the notification outbox (triggered on commit and by beat)."""
    return notifications_relay()
