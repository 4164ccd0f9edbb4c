"""The clocks' task: beat triggers the sweep; no deadline ever rides on a task's ETA."""

from __future__ import annotations

from celery import shared_task

from referrals.clocks.sweep import SWEEP_TASK, referral_escalations_sweep


@shared_task(name=SWEEP_TASK, ignore_result=True)
def referral_escalations_sweep_task() -> int:
    """Escalate referrals whose statutory clock ran out (triggered by beat)."""
    return referral_escalations_sweep()
