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

_OLDEST_OPEN_TRANSACTION = """
    SELECT min(xact_start) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
"""


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime.datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.updated_at.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
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
