"""An incremental feed: cursor pagination on (updated_at, id) that never misses a change.

A client keeps the `next_cursor` of its last page and pulls again later; it gets every version
written since, once. The danger is a transaction that commits out of order: it stamped
`updated_at` when it wrote, but became visible after a later-stamped row was already served, and
a cursor past it would skip it for ever. So the feed only serves rows stamped before its
*horizon*: the start of the oldest transaction still open on the database (minus a margin for
clock skew between the web servers and the database). Anything stamped before that has
committed, so the feed below the horizon is complete; rows above it are served on a later pull.
On SQLite (demo only) writers are serialised, and a fixed margin is used.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

M = TypeVar("M", bound=Model)
R = TypeVar("R")

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MAX_PK = 2**63 - 1
INVALID_CURSOR = "The cursor is not valid: use the next_cursor of a previous page."
# Microseconds since 1970 (up to the year 5138) and an id: every string that matches decodes.
CURSOR_PATTERN = r"^([0-9]{1,17})\.([0-9]{1,19})$"
CURSOR_RE = re.compile(CURSOR_PATTERN)
# The feed's calendar: no record is older than 1970 or newer than this.
FEED_END = _EPOCH + datetime.timedelta(microseconds=10**17 - 1)


def feed_moment(moment: datetime.datetime) -> datetime.datetime:
    """A moment within the feed's calendar (before 1970 is 1970: nothing is older)."""
    return min(max(moment, _EPOCH), FEED_END)


_OLDEST_OPEN_TRANSACTION = """
    SELECT min(xact_start) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
"""


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime.datetime
    pk: int

    def encode(self) -> str:
        """Microseconds since 1970 (UTC) and the id: a shape the schema can state exactly."""
        delta = self.updated_at - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}.{self.pk}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        found = CURSOR_RE.match(value)
        if found is not None:
            micros, pk = int(found.group(1)), int(found.group(2))
            moment = _EPOCH + datetime.timedelta(microseconds=micros)
            # No id is larger than the largest a bigint holds: after it is after them all.
            return cls(updated_at=moment, pk=min(pk, _MAX_PK))
        return cls._decode_before_version_2(value)

    @classmethod
    def _decode_before_version_2(cls, value: str) -> Cursor:
        """Cursors handed out before they were plain numbers: still honoured, not documented."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, pk = raw.split("|")
            updated_at = datetime.datetime.fromisoformat(stamp)
            if updated_at.tzinfo is None:
                raise ValueError
            if not 0 < int(pk) <= _MAX_PK:
                raise ValueError
            return cls(updated_at=updated_at.astimezone(datetime.UTC), pk=int(pk))
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None


def feed_horizon() -> datetime.datetime:
    """The newest `updated_at` the feed may serve without risking a later, earlier-stamped row."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_OLDEST_OPEN_TRANSACTION)
            (oldest,) = cursor.fetchone()
        if oldest is not None and oldest < now:
            now = oldest
    # The margin covers clock skew between the application servers and the database.
    return now - datetime.timedelta(seconds=settings.API_FEED_HORIZON_MARGIN_SECONDS)


@dataclass(frozen=True)
class FeedPage(Generic[R]):
    rows: list[R]
    next_cursor: str


def _position(row: Any) -> Cursor:
    """Where a row sits in the feed: a model instance, or a `values()` row that has its id."""
    if isinstance(row, dict):
        return Cursor(updated_at=row["updated_at"], pk=row["id"])
    return Cursor(updated_at=row.updated_at, pk=row.pk)


def feed_page(
    queryset: QuerySet[M, R],
    *,
    cursor: Cursor | None,
    updated_after: datetime.datetime | None,
    size: int,
) -> FeedPage[R]:
    """One page after `cursor` (or `updated_after`), oldest change first, below the horizon."""
    horizon = feed_horizon()
    rows = queryset.filter(updated_at__lt=horizon)
    if cursor is not None:
        rows = rows.filter(
            Q(updated_at__gt=cursor.updated_at) | Q(updated_at=cursor.updated_at, pk__gt=cursor.pk)
        )
    elif updated_after is not None:
        rows = rows.filter(updated_at__gt=updated_after)
    page = list(rows.order_by("updated_at", "pk")[:size])
    if page:
        next_cursor = _position(page[-1])
    elif cursor is not None:
        next_cursor = cursor
    elif updated_after is not None:
        # Nothing yet: the next pull goes on strictly after `updated_after`.
        next_cursor = Cursor(updated_at=updated_after, pk=_MAX_PK)
    else:
        next_cursor = Cursor(updated_at=_EPOCH, pk=0)
    return FeedPage(rows=page, next_cursor=next_cursor.encode())
