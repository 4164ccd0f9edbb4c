"""Check the audit trail's hash chain: exit 1 and name every event where it breaks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from referrals.audit import ChainBreak, audit_chain_breaks


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain. Prints the head (last id and hash) to record "
        "somewhere the database's administrators cannot write, so a cut tail shows too."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        breaks = 0
        head = None
        for item in audit_chain_breaks():
            if isinstance(item, ChainBreak):
                breaks += 1
                self.stderr.write(f"audit event {item.event_id}: {item.problem}")
            else:
                head = item
        if breaks:
            raise CommandError(f"The audit trail is broken in {breaks} place(s).")
        if head is None:
            self.stdout.write("The audit trail is empty.")
        else:
            self.stdout.write(f"The audit trail is intact: head event {head.pk} hash {head.hash}")
