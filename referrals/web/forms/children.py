"""Finding a child again, and recording one nobody has recorded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms

from referrals.children.chronology import ENTRY_KINDS, ChronologyFilters
from referrals.children.selectors import ChildSearch
from referrals.children.services import ChildFields
from referrals.core.validators import (
    NHS_NUMBER_INVALID,
    UPN_INVALID,
    nhs_number_is_valid,
    normalise_nhs_number,
    upn_is_valid,
)
from referrals.models import Sex
from referrals.web.forms.common import GovukForm, clean_date, date_fields

FIND_NOTHING_GIVEN = "Enter a name, date of birth, NHS number or UPN"


class ChildSearchForm(GovukForm):
    first_name = forms.CharField(
        label="First name", max_length=100, error_messages={"required": "Enter a first name"}
    )
    last_name = forms.CharField(
        label="Last name", max_length=100, error_messages={"required": "Enter a last name"}
    )
    dob_day, dob_month, dob_year = date_fields()
    postcode = forms.CharField(
        label="Postcode (if you know it)",
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"}),
    )
    nhs_number = forms.CharField(
        label="NHS number (if you know it)",
        required=False,
        max_length=14,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["date_of_birth"] = clean_date(self, "dob", "the date of birth", required=False)
        data["nhs_number"] = normalise_nhs_number(data.get("nhs_number", ""))
        return data


class ChildForm(GovukForm):
    first_name = forms.CharField(
        label="First name", max_length=100, error_messages={"required": "Enter a first name"}
    )
    last_name = forms.CharField(
        label="Last name", max_length=100, error_messages={"required": "Enter a last name"}
    )
    other_names = forms.CharField(
        label="Other names or spellings (optional)", max_length=200, required=False
    )
    dob_day, dob_month, dob_year = date_fields()
    sex = forms.ChoiceField(
        label="Sex",
        choices=Sex.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the child's sex, or 'Not known'"},
    )
    address = forms.CharField(
        label="Address (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    postcode = forms.CharField(
        label="Postcode (optional)",
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-10"}),
    )
    nhs_number = forms.CharField(
        label="NHS number (optional)",
        required=False,
        max_length=14,
        help_text="10 digits, for example 943 476 5919",
        widget=forms.TextInput(
            attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "numeric"}
        ),
    )
    upn = forms.CharField(
        label="Unique pupil number (UPN) (optional)",
        required=False,
        max_length=13,
        help_text="13 characters, starting with a letter",
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-20"}),
    )

    def clean_nhs_number(self) -> str:
        value = normalise_nhs_number(self.cleaned_data.get("nhs_number", ""))
        if value and not nhs_number_is_valid(value):
            raise forms.ValidationError(NHS_NUMBER_INVALID)
        return value

    def clean_upn(self) -> str:
        value = self.cleaned_data.get("upn", "").strip().upper()
        if value and not upn_is_valid(value):
            raise forms.ValidationError(UPN_INVALID)
        return value

    def clean_postcode(self) -> str:
        return " ".join(self.cleaned_data.get("postcode", "").upper().split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["date_of_birth"] = clean_date(self, "dob", "the date of birth", required=True)
        return data

    def child_fields(self) -> ChildFields:
        data = self.cleaned_data
        return ChildFields(
            first_name=data["first_name"],
            last_name=data["last_name"],
            other_names=data["other_names"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            address=data["address"],
            postcode=data["postcode"],
            nhs_number=data["nhs_number"],
            upn=data["upn"],
        )


class FindChildForm(GovukForm):
    """Find a child again by any of what people know: every field optional, one needed."""

    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(
        label="Last name",
        max_length=100,
        required=False,
        help_text="A spelling slip still finds the child",
    )
    dob_day, dob_month, dob_year = date_fields()
    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        max_length=14,
        widget=forms.TextInput(
            attrs={"class": "govuk-input govuk-input--width-10", "inputmode": "numeric"}
        ),
    )
    upn = forms.CharField(
        label="Unique pupil number (UPN)",
        required=False,
        max_length=13,
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-20"}),
    )

    def clean_nhs_number(self) -> str:
        number = normalise_nhs_number(self.cleaned_data.get("nhs_number", ""))
        if number and not nhs_number_is_valid(number):
            raise forms.ValidationError(NHS_NUMBER_INVALID)
        return number

    def clean_upn(self) -> str:
        upn = "".join(self.cleaned_data.get("upn", "").split()).upper()
        if upn and not upn_is_valid(upn):
            raise forms.ValidationError(UPN_INVALID)
        return upn

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["date_of_birth"] = clean_date(self, "dob", "the date of birth", required=False)
        given = ("first_name", "last_name", "date_of_birth", "nhs_number", "upn")
        if not self.errors and not any(data.get(name) for name in given):
            self.add_error("first_name", FIND_NOTHING_GIVEN)
        return data

    def search(self) -> ChildSearch:
        data = self.cleaned_data
        return ChildSearch(
            first_name=data["first_name"].strip(),
            last_name=data["last_name"].strip(),
            date_of_birth=data["date_of_birth"],
            nhs_number=data["nhs_number"],
            upn=data["upn"],
        )

    @classmethod
    def showing(cls, search: ChildSearch) -> FindChildForm:
        """The form as it was posted, to search again from (rendered in the page, not a URL)."""
        born = search.date_of_birth
        return cls(
            initial={
                "first_name": search.first_name,
                "last_name": search.last_name,
                "dob_day": born.day if born else "",
                "dob_month": born.month if born else "",
                "dob_year": born.year if born else "",
                "nhs_number": search.nhs_number,
                "upn": search.upn,
            }
        )


class ChronologyFilterForm(GovukForm):
    """Narrow a chronology by agency, kind and dates: ids, codes and event dates, not names."""

    agency = forms.TypedMultipleChoiceField(
        label="Agency", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    kind = forms.MultipleChoiceField(
        label="Kind of entry",
        choices=list(ENTRY_KINDS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    from_day, from_month, from_year = date_fields()
    to_day, to_month, to_year = date_fields()

    def __init__(self, *args: Any, agencies: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agencies  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["start"] = clean_date(self, "from", "the first date", required=False, past=False)
        data["end"] = clean_date(self, "to", "the last date", required=False, past=False)
        if data["start"] and data["end"] and data["end"] < data["start"]:
            self.add_error("to_day", "The last date must be the same as or after the first date")
        return data

    def filters(self) -> ChronologyFilters:
        """The filters asked for; everything when the form is not valid (its errors show)."""
        if not self.is_valid():
            return ChronologyFilters()
        data = self.cleaned_data
        return ChronologyFilters(
            agency_ids=frozenset(data["agency"]),
            kinds=frozenset(data["kind"]),
            start=data["start"],
            end=data["end"],
        )

    def query(self) -> str:
        """The filters as the download links carry them (ids, codes and dates of events)."""
        if not self.is_bound or not self.is_valid():
            return ""
        data = self.cleaned_data
        pairs = [("agency", str(pk)) for pk in data["agency"]]
        pairs += [("kind", kind) for kind in data["kind"]]
        for prefix, day in (("from", data["start"]), ("to", data["end"])):
            if day is not None:
                pairs += [
                    (f"{prefix}_day", str(day.day)),
                    (f"{prefix}_month", str(day.month)),
                    (f"{prefix}_year", str(day.year)),
                ]
        return urlencode(pairs)

    def described(self) -> list[str]:
        """The filters in words, for the copy that leaves the service."""
        if not self.is_bound or not self.is_valid():
            return []
        data = self.cleaned_data
        agencies = dict(self.fields["agency"].choices)  # type: ignore[attr-defined]
        words = []
        if data["agency"]:
            words.append("agency: " + ", ".join(str(agencies[pk]) for pk in data["agency"]))
        if data["kind"]:
            words.append("kind: " + ", ".join(ENTRY_KINDS[kind] for kind in data["kind"]))
        for label, day in (("from", data["start"]), ("to", data["end"])):
            if day is not None:
                words.append(f"{label} {day.day} {day:%B %Y}")
        return words
