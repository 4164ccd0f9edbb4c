"""Query parameters, checked by serializers that the schema is generated from.

So what the schema says a parameter may be (its type, range and choices) is exactly what the
server accepts; anything else is a 400 problem naming the parameter.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from referrals.api.feed import CURSOR_PATTERN, INVALID_CURSOR, Cursor, feed_moment
from referrals.core.choices import Urgency
from referrals.core.states import ReferralStatus

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
# PostgreSQL's bigint: an id beyond it is no id at all.
MAX_ID = 2**63 - 1
UPDATED_AFTER_INVALID = "Give an ISO 8601 date and time with its offset."
BLANK = "Give a value, or leave the parameter out."
_FIRST = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
_LAST = datetime.datetime(9999, 12, 30, tzinfo=datetime.UTC)


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field):  # type: ignore[type-arg]
    """An ISO 8601 date and time that says its offset (a bare local time is ambiguous)."""

    def to_internal_value(self, data: Any) -> datetime.datetime:
        try:
            value = parse_datetime(str(data))
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            raise serializers.ValidationError(UPDATED_AFTER_INVALID)
        try:
            # In UTC: the database refuses offsets beyond ±16 hours that Python accepts.
            return feed_moment(value.astimezone(datetime.UTC))
        except OverflowError:
            # At the very edge of Python's calendar: before or after every record.
            return feed_moment(_FIRST if value.year == 1 else _LAST)

    def to_representation(self, value: datetime.datetime) -> str:
        return value.isoformat()


@extend_schema_field({"type": "string", "pattern": CURSOR_PATTERN})
class CursorField(serializers.CharField):
    """A next_cursor: microseconds and an id (cursors from before version 2 still work)."""


class FeedQuery(serializers.Serializer):  # type: ignore[type-arg]
    """A page of a feed: changes after a moment, or after the last page's cursor."""

    updated_after = OffsetDateTimeField(required=False, help_text="Changes after this moment.")
    cursor = CursorField(required=False, help_text="The next_cursor of the previous page.")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A parameter given empty (`?status=`) is a mistake, not the parameter left out.
        blank = {str(name): [BLANK] for name in self.fields if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return dict(super().to_internal_value(data))

    def validate_cursor(self, value: str) -> Cursor:
        try:
            return Cursor.decode(value)
        except serializers.ValidationError:
            raise serializers.ValidationError(INVALID_CURSOR) from None


class ReferralQuery(FeedQuery):
    """The referral feed, optionally narrowed."""

    status = serializers.ChoiceField(choices=ReferralStatus.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


def query_of(serializer: type[FeedQuery], request: Request) -> dict[str, Any]:
    """The request's query parameters, checked (a 400 problem naming each bad one)."""
    checked = serializer(data=request.query_params)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)
