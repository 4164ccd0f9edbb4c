"""Celery tasks: each takes ids at most, calls a service, and holds no child data.

No deadline ever rides on a task's ETA or countdown: beat triggers these sweeps, and the
deadlines live in database columns, so a lost or repeated task loses and repeats nothing.
"""

from __future__ import annotations

from celery import shared_task

from referrals.escalation import referral_escalations_sweep
from referrals.services import notifications_relay, shares_expire


@shared_task(ignore_result=True)
def notifications_relay_task() -> int:
    """Send the notification outbox (triggered on commit and by beat)."""
    return notifications_relay()


@shared_task(ignore_result=True)
def referral_escalations_sweep_task() -> int:
    """Escalate referrals whose statutory clock ran out (triggered by beat)."""
    return referral_escalations_sweep()


@shared_task(ignore_result=True)
def shares_expire_task() -> int:
    """Revoke the grants of shares past their expiry (the selectors already ignore them)."""
    return shares_expire()
