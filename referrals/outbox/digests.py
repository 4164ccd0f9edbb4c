"""Escalation digests: one notice per person and sweep run, naming what the run escalated to them.

A sweep commits batch by batch. Each batch appends its lines to the person's open digest for the
run (an upsert keyed by run and person) and links its escalations to it, in the batch's own
transaction, so a sweep killed half-way keeps the digests of everything it did escalate. The
digest's email is held (`DIGEST_HOLD`, pushed on by every batch) until the run ends and releases
it, so one run's batches go out as one message; if the run dies, the hold runs out and the relay
sends what was written. A digest whose email a relay has already taken is closed: a later batch
of a stalled run opens a new one rather than add to a message that has gone.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from referrals.models import Notification, NotificationKind
from referrals.outbox.notices import relay_once_on_commit

# Longer than a sweep takes between two batches (well under a second each), short enough that a
# dead sweep's digests still go out within a minute or so.
DIGEST_HOLD = datetime.timedelta(seconds=60)
# The lines a digest's text lists, give or take a batch; its count and the queue cover the rest.
DIGEST_LISTED = 100

_OPEN = (Notification.EmailStatus.NONE, Notification.EmailStatus.PENDING)


@dataclass
class DigestPart:
    """What one batch of a sweep tells one person: a line per referral, and whether by email."""

    recipient_id: int
    email: bool = False
    count: int = 0
    first_referral_id: int = 0
    lines: list[str] = field(default_factory=list)
    escalation_ids: list[int] = field(default_factory=list)

    def add(self, *, referral_id: int, escalation_id: int, line: str, email: bool) -> None:
        self.first_referral_id = self.first_referral_id or referral_id
        self.count += 1
        self.escalation_ids.append(escalation_id)
        self.email = self.email or email
        if len(self.lines) < DIGEST_LISTED:
            self.lines.append(line)


def digest_subject(count: int, referral_id: int) -> str:
    """A digest's subject: the referral it names, or how many (never a child's name)."""
    if count == 1:
        return f"Escalation: referral #{referral_id} is past its deadline"
    return f"Escalation: {count} referrals past their deadline"


# The conflict target names the partial unique index notification_digest_open by its columns
# and condition. The subject of a row appended to always names at least two referrals.
_DIGESTS_UPSERT = """
    INSERT INTO referrals_notification AS n (
        recipient_id, kind, subject, body, digest_key, digest_count, in_app, email_status,
        email_next_attempt_at, email_attempts, email_resent, email_last_error, created_at
    )
    SELECT part.recipient_id, %s, part.subject, part.body, %s, part.count, true,
        part.email_status, part.next_attempt_at, 0, 0, '', %s
    FROM unnest(
        %s::bigint[], %s::varchar[], %s::text[], %s::integer[], %s::varchar[], %s::timestamptz[]
    ) AS part(recipient_id, subject, body, count, email_status, next_attempt_at)
    ON CONFLICT (digest_key, recipient_id)
        WHERE NOT (digest_key = '') AND email_status IN ('none', 'pending')
    DO UPDATE SET
        body = CASE WHEN n.digest_count < %s THEN n.body || E'\\n' || excluded.body
            ELSE n.body END,
        digest_count = n.digest_count + excluded.digest_count,
        subject = 'Escalation: ' || (n.digest_count + excluded.digest_count)
            || ' referrals past their deadline',
        read_at = NULL,
        email_status = CASE WHEN excluded.email_status = 'pending' THEN 'pending'
            ELSE n.email_status END,
        email_next_attempt_at = CASE
            WHEN 'pending' IN (n.email_status, excluded.email_status) THEN %s::timestamptz
            ELSE NULL END
    RETURNING id, recipient_id
"""


def _links_insert(table: str) -> str:
    return (
        f"INSERT INTO {table} (notification_id, escalation_id) "  # noqa: S608 - the model's table
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
    )


def _write_postgresql(key: str, parts: list[DigestPart], now: datetime.datetime) -> dict[int, int]:
    """Upsert the digests in one statement; return each person's digest id."""
    email_status = [
        Notification.EmailStatus.PENDING if p.email else Notification.EmailStatus.NONE
        for p in parts
    ]
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            _DIGESTS_UPSERT,
            [
                NotificationKind.ESCALATION,
                key,
                now,
                [p.recipient_id for p in parts],
                [digest_subject(p.count, p.first_referral_id) for p in parts],
                ["\n".join(p.lines) for p in parts],
                [p.count for p in parts],
                email_status,
                [now + DIGEST_HOLD if p.email else None for p in parts],
                DIGEST_LISTED,
                now + DIGEST_HOLD,
            ],
        )
        return {recipient_id: pk for pk, recipient_id in cursor.fetchall()}


def _write_portable(key: str, parts: list[DigestPart], now: datetime.datetime) -> dict[int, int]:
    """The same as the upsert, a row at a time (SQLite, the demo: one writer at a time)."""
    ids = {}
    for part in parts:
        row = Notification.objects.filter(
            digest_key=key, recipient_id=part.recipient_id, email_status__in=_OPEN
        ).first()
        if row is None:
            row = Notification(
                recipient_id=part.recipient_id,
                kind=NotificationKind.ESCALATION,
                digest_key=key,
                body="",
            )
        if row.digest_count < DIGEST_LISTED:
            row.body = "\n".join([row.body, *part.lines] if row.body else part.lines)
        row.digest_count += part.count
        row.subject = digest_subject(row.digest_count, part.first_referral_id)
        row.read_at = None
        if part.email:
            row.email_status = Notification.EmailStatus.PENDING
        if row.email_status == Notification.EmailStatus.PENDING:
            row.email_next_attempt_at = now + DIGEST_HOLD
        row.save()
        ids[part.recipient_id] = row.pk
    return ids


def digests_write(*, key: str, parts: Iterable[DigestPart]) -> int:
    """Add one batch of a run to each person's digest for the run, and link its escalations,
    in the caller's transaction (a statement for the digests, one for the links)."""
    parts = [part for part in parts if part.count]
    if not parts:
        return 0
    now = timezone.now()
    connection = transaction.get_connection()
    write = _write_postgresql if connection.vendor == "postgresql" else _write_portable
    ids = write(key, parts, now)
    links = Notification.escalations.through
    pairs = [(ids[p.recipient_id], e) for p in parts for e in p.escalation_ids]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _links_insert(links._meta.db_table),
                [[n for n, _ in pairs], [e for _, e in pairs]],
            )
    else:
        links.objects.bulk_create([links(notification_id=n, escalation_id=e) for n, e in pairs])
    return len(parts)


def digests_release(*, key: str) -> int:
    """The run is over: its digests' emails may go now; return how many."""
    released = Notification.objects.filter(
        digest_key=key,
        email_status=Notification.EmailStatus.PENDING,
        email_attempts=0,
        email_claimed_at__isnull=True,
    ).update(email_next_attempt_at=timezone.now())
    if released:
        relay_once_on_commit()
    return released
