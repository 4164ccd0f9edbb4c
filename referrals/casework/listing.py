"""What every list shares: a search by child's name or record number, a date range, an order,
and keyset pages with a count that stops at a cap.

A list's own filters (status, urgency, owner...) live with the list; these are the parts that
read the same on the queue, the concern list, the Referrals page and the notifications.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, Model, Q, QuerySet

from referrals.clocks.calendar import LONDON
from referrals.core.match_keys import canonical_first, fold

# A name or a number is short: anything longer is not a search this page can answer.
SEARCH_MAX_LENGTH = 100
# A list's count stops here: "of more than 1,000" is as useful as the exact figure, and counting
# a capped subquery costs the same at any table size.
COUNT_CAP = 1000
_NUMBER = re.compile(r"#?\s*(\d{1,9})")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


# Searching by child's name or record number ---------------------------------------------------


@dataclass(frozen=True)
class Search:
    """A search term read as a record number ("#13", "13") or as words of a child's name."""

    number: int | None = None
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, term: str) -> Search:
        found = _NUMBER.fullmatch(term.strip())
        if found:
            return cls(number=int(found.group(1)))
        return cls(words=tuple(fold(term).split()))

    def __bool__(self) -> bool:
        return self.number is not None or bool(self.words)


def _word_q(word: str, child: str) -> Q:
    """One word of a name, anywhere in the child's names: case and accents forgiven, a part of a
    name enough, and a first name's usual variants (Jon, Johnny) found under its main one."""
    found = Q(**{f"{child}match_name__contains": word})
    variant = canonical_first(word)
    if variant != word:
        found |= Q(**{f"{child}match_name__contains": variant})
    # The stored key holds a first name's main spelling: "Jonat" finds Jonathan by the name.
    return (
        found
        | Q(**{f"{child}first_name__icontains": word})
        | Q(**{f"{child}other_names__icontains": word})
    )


def search_q(term: str, *, child: str = "child__", numbers: Sequence[str] = ("pk",)) -> Q:
    """The rows a search term finds: by a record number in `numbers`, else by every word of the
    child's names (the stored match keys, referrals.core.match_keys, with a trigram index)."""
    search = Search.parse(term)
    if search.number is not None:
        found = Q()
        for field in numbers:
            found |= Q(**{field: search.number})
        return found
    words = Q()
    for word in search.words:
        words &= _word_q(word, child)
    return words


# Dates ------------------------------------------------------------------------------------------


def parse_date(value: str) -> datetime.date | None:
    """An ISO date from a query string; None for anything else, never an error."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateRange:
    """From one day to another, both included, as days in England."""

    since: datetime.date | None = None
    until: datetime.date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> DateRange:
        return cls(parse_date(query.get("from", "")), parse_date(query.get("to", "")))

    def query(self) -> dict[str, str]:
        values = {
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}

    def q(self, field: str) -> Q:
        found = Q()
        if self.since is not None:
            found &= Q(**{f"{field}__gte": _day_start(self.since)})
        if self.until is not None:
            found &= Q(**{f"{field}__lt": _day_start(self.until + datetime.timedelta(days=1))})
        return found


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=LONDON)


# Orders and keyset pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """A way to sort a list: its key in the query string, its label, and the columns it sorts
    on, the last of them unique (the id), none of them ever null."""

    key: str
    label: str
    fields: tuple[str, ...]


def order_for(orders: Sequence[Order], key: str) -> Order:
    """The order named `key`; the first (the list's default) for anything else."""
    return next((order for order in orders if order.key == key), orders[0])


def order_of(queryset: QuerySet[Any]) -> Order:
    """A queryset's own order (its order_by, else its model's), the id last to break ties."""
    fields = tuple(str(f) for f in (queryset.query.order_by or queryset.model._meta.ordering))
    if not fields or fields[-1].lstrip("-") not in ("id", "pk"):
        fields = (*fields, "id")
    return Order("", "", fields)


def _value(row: Model, field: str) -> Any:
    name = field.lstrip("-")
    return row.pk if name in ("id", "pk") else getattr(row, name)


def _encode(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        # Whole microseconds, counted exactly: a float timestamp can round one away.
        return f"t{(value - _EPOCH) // _MICROSECOND}"
    if isinstance(value, int):
        return str(value)
    raise TypeError(type(value).__name__)


def _decode(part: str) -> Any:
    if part.startswith("t"):
        return _EPOCH + int(part[1:]) * _MICROSECOND
    return int(part)


def cursor_encode(shown: int, row: Model, order: Order) -> str:
    """Where the next page starts: how many rows came before it, and the last row's sort values."""
    return ".".join([str(shown), *(_encode(_value(row, field)) for field in order.fields)])


def _is_time(model: type[Model], field: str) -> bool:
    """Whether the column is a time (else an integer: the id, a rank, an annotated rank)."""
    try:
        column = model._meta.get_field(field.lstrip("-"))
    except FieldDoesNotExist:
        return False
    column = getattr(column, "output_field", None) or column
    return isinstance(column, DateTimeField)


def cursor_decode(cursor: str, order: Order, model: type[Model]) -> tuple[int, list[Any]] | None:
    """The rows shown before, and the values to start after; None for anything malformed
    (a value of the wrong kind for its column too: the page starts again from the first)."""
    parts = cursor.split(".")
    if len(parts) != len(order.fields) + 1:
        return None
    if any(
        part.startswith("t") != _is_time(model, field)
        for part, field in zip(parts[1:], order.fields, strict=True)
    ):
        return None
    try:
        shown = int(parts[0])
        values = [_decode(part) for part in parts[1:]]
    except (ValueError, OverflowError):
        return None
    return (shown, values) if shown >= 0 else None


def after_q(order: Order, values: Sequence[Any]) -> Q:
    """The rows after `values` in `order`: (a, b, id) > (x, y, z), each column in its direction."""
    after = Q()
    for index, field in enumerate(order.fields):
        same = {
            f.lstrip("-"): value for f, value in zip(order.fields[:index], values, strict=False)
        }
        beyond = "lt" if field.startswith("-") else "gt"
        after |= Q(**same, **{f"{field.lstrip('-')}__{beyond}": values[index]})
    return after


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next_cursor: str
    first: int  # the position of the first row shown, from 1 (0 when there are none)
    is_first: bool

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def keyset_page(queryset: QuerySet[Any], *, order: Order, after: str, size: int) -> KeysetPage:
    """One page of `queryset` in `order`, after the cursor: the same cost at any depth (no
    OFFSET), and a row inserted or removed meanwhile never repeats or skips another."""
    position = cursor_decode(after, order, queryset.model) if after else None
    shown = 0
    if position is not None:
        shown, values = position
        queryset = queryset.filter(after_q(order, values))
    rows = list(queryset.order_by(*order.fields)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        next_cursor=cursor_encode(shown + len(rows), rows[-1], order) if more else "",
        first=shown + 1 if rows else 0,
        is_first=position is None,
    )


def count_upto(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> int:
    """How many rows, counting no further than one past `cap` (a COUNT over a LIMIT)."""
    return queryset.order_by()[: cap + 1].count()
