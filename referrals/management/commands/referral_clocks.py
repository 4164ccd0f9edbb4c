"""Print the referrals whose statutory clock has run out or soon will, for operations."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from referrals.audit import audit_record_many
from referrals.clocks.calendar import LONDON
from referrals.clocks.report import referral_clocks_report
from referrals.models import AuditAction, Referral


def _when(at: datetime.datetime | None) -> str:
    return f"{at.astimezone(LONDON):%Y-%m-%d %H:%M}" if at else "-"


def _span(delta: datetime.timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Command(BaseCommand):
    help = "List open referrals that are overdue or due soon (ids and times only, no names)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--within",
            type=float,
            default=4.0,
            help="Also list clocks that run out within this many hours (default 4).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        rows = referral_clocks_report(now=now, within=datetime.timedelta(hours=options["within"]))
        overdue = [row for row in rows if row.running.is_overdue(now)]
        due = [row for row in rows if not row.running.is_overdue(now)]
        self.stdout.write(f"At {_when(now)} (Europe/London):")
        for title, group in (("Overdue", overdue), (f"Due within {options['within']:g}h", due)):
            self.stdout.write(f"\n{title}: {len(group)}")
            if not group:
                continue
            self.stdout.write(
                f"  {'referral':>9}  {'authority / team':<40} {'urgency':<9} {'clock':<11} "
                f"{'deadline':<16} {'':>8}  level  next escalation"
            )
            for row in group:
                where = f"{row.authority} / {row.team}"[:40]
                late = ("+" if row.running.is_overdue(now) else "-") + _span(now - row.deadline)
                self.stdout.write(
                    f"  #{row.referral_id:>8}  {where:<40} {row.urgency:<9} {row.clock:<11} "
                    f"{_when(row.deadline):<16} {late:>8}"
                    f"  {row.escalation_level:>5}  {_when(row.next_escalation_at)}"
                )
        # Listing referrals is a read of them: on the audit trail like any other.
        audit_record_many(
            actor=None,
            action=AuditAction.LIST,
            targets=Referral.objects.filter(pk__in=[row.referral_id for row in rows]).only("pk"),
            actor_label="manage.py referral_clocks",
        )
