"""Check the audit trail's hash chain and its latest anchor: exit 1 and name every break."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from referrals.audit import (
    Anchor,
    ChainBreak,
    audit_anchor_latest,
    audit_anchor_problem,
    audit_chain_breaks,
)


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain, and that the latest anchor of its head (written "
        "outside the database every few minutes) still holds, so a cut tail shows too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor-file", type=Path, help="The anchor file (default: AUDIT_ANCHOR_FILE)."
        )
        parser.add_argument(
            "--anchor", help="One anchor line, as shipped to syslog or an object store."
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
        anchor = (
            Anchor.parse(options["anchor"])
            if options["anchor"]
            else audit_anchor_latest(options["anchor_file"])
        )
        problem = audit_anchor_problem(anchor) if anchor is not None else None
        if problem:
            breaks += 1
            self.stderr.write(f"audit anchor: {problem}")
        if breaks:
            raise CommandError(f"The audit trail is broken in {breaks} place(s).")
        if head is None:
            self.stdout.write("The audit trail is empty.")
            return
        self.stdout.write(f"The audit trail is intact: head event {head.pk} hash {head.hash}")
        if anchor is None:
            self.stdout.write("No anchor yet: a cut tail would not show until one is written.")
        else:
            self.stdout.write(
                f"It holds the anchor of event {anchor.event_id} ({anchor.anchored_at})."
            )
