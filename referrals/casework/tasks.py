"""Casework's task: beat tidies away the grants of shares past their expiry."""

from __future__ import annotations

from celery import shared_task

from referrals.casework.sharing import shares_expire

# The task's name, kept from before the packages existed (queued messages, beat schedules).
SHARES_EXPIRE_TASK = "referrals.tasks.shares_expire_task"


@shared_task(name=SHARES_EXPIRE_TASK, ignore_result=True)
def shares_expire_task() -> int:
    """Revoke the grants of shares past their expiry (the selectors already ignore them)."""
    return shares_expire()
