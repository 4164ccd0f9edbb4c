"""The search and filters every list has: a child's name or record number, a date range, an order.

The form is posted, never sent as a GET: the search may be a child's name, which must not reach
a URL. A valid post becomes the list's address (referrals.web.views.lists): the filters that are
not personal data as query parameters, so a list can be linked, and the search under an opaque
key kept in the session.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from referrals.casework.home import REFERRAL_STATUSES
from referrals.casework.listing import SEARCH_MAX_LENGTH, Order, parse_date
from referrals.core.choices import Urgency
from referrals.models import Concern, NotificationKind, Referral
from referrals.web.forms.common import GovukForm, clean_date, date_fields

_DATE_BOXES = tuple(f"{end}_{part}" for end in ("from", "to") for part in ("day", "month", "year"))


def _urgency() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Urgency", required=False, choices=[("", "Any urgency"), *Urgency.choices]
    )


def _hidden() -> forms.CharField:
    return forms.CharField(required=False, widget=forms.HiddenInput)


def only_field(label: str, value: str = "1") -> forms.BooleanField:
    """A checkbox that narrows the list ("Only overdue referrals"), sent as `value`."""
    return forms.BooleanField(
        label=label,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "govuk-checkboxes__input", "value": value}),
    )


class ListFilterForm(GovukForm):
    """A list's search, its date range and order; a list adds its own filters as fields."""

    search = forms.CharField(
        label="Search by child's name or number",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text="Part of a first name or surname, or a number such as 13 or #13.",
        error_messages={
            "max_length": f"Search must be {SEARCH_MAX_LENGTH} characters or fewer",
        },
    )
    from_day, from_month, from_year = date_fields()
    to_day, to_month, to_year = date_fields()
    sort = forms.ChoiceField(label="Sort by", required=False)

    # What the dates are of, for the legends ("Received from").
    dates_of = "Received"

    def __init__(self, *args: Any, orders: Sequence[Order], default: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        sort = self.fields["sort"]
        assert isinstance(sort, forms.ChoiceField)  # noqa: S101 - for the type checker
        sort.choices = ([("", default)] if default else []) + [(o.key, o.label) for o in orders]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since = clean_date(self, "from", "the first date", required=False, past=False)
        until = clean_date(self, "to", "the last date", required=False, past=False)
        if since and until and until < since:
            self.add_error("to_day", "The last date must be the same as or after the first date")
        data["from"], data["to"] = since, until
        return data

    @property
    def choice_fields(self) -> list[forms.BoundField]:
        """The list's own drop-down filters, in order (not the search, dates or order)."""
        return [
            self[name]
            for name, field in self.fields.items()
            if isinstance(field, forms.ChoiceField) and name != "sort"
        ]

    @property
    def check_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name, field in self.fields.items()
            if isinstance(field, forms.BooleanField)
        ]

    @property
    def date_ranges(self) -> list[dict[str, Any]]:
        """The two GOV.UK date inputs, first date and last, for templates/includes/date_input."""
        return [
            {
                "legend": f"{self.dates_of} {word}",
                "day": self[f"{end}_day"],
                "parts": [self[f"{end}_{part}"] for part in ("day", "month", "year")],
            }
            for end, word in (("from", "on or after"), ("to", "on or before"))
        ]

    def query(self) -> dict[str, str]:
        """The filters that are not personal data, as query-string values (no search)."""
        values: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if name == "search" or name in _DATE_BOXES:
                continue
            if isinstance(value, bool):
                values[name] = self.fields[name].widget.attrs["value"] if value else ""
            elif isinstance(value, datetime.date):
                values[name] = value.isoformat()
            else:
                values[name] = str(value or "")
        return {key: value for key, value in values.items() if value}


def form_data(query: Mapping[str, str], search: str) -> dict[str, str]:
    """A list's filters (its `query()`) and search as the form's fields, to show them."""
    data = {key: value for key, value in query.items() if key not in ("from", "to")}
    for end in ("from", "to"):
        day = parse_date(query.get(end, ""))
        if day is not None:
            data[f"{end}_day"], data[f"{end}_month"] = str(day.day), str(day.month)
            data[f"{end}_year"] = str(day.year)
    data["search"] = search
    return data


class ConcernFilterForm(ListFilterForm):
    dates_of = "Recorded"
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Concern.Status.choices]
    )
    urgency = _urgency()
    mine = _hidden()


class ReferralFilterForm(ListFilterForm):
    dates_of = "Made"
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status")]
        + [(value, Referral.Status(value).label) for value in REFERRAL_STATUSES],
    )
    urgency = _urgency()
    # The home page's cards open this list already filtered: the form keeps those filters.
    waiting = _hidden()
    outcome = _hidden()
    shared = _hidden()


class NotificationFilterForm(ListFilterForm):
    dates_of = "Sent"
    kind = forms.ChoiceField(
        label="About", required=False, choices=[("", "Anything"), *NotificationKind.choices]
    )
    unread = only_field("Only notifications not read yet")
