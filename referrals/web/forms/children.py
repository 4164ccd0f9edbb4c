"""Finding a child again, and recording one nobody has recorded."""

from __future__ import annotations

from typing import Any

from django import forms

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
