"""Forms for the joined-up picture: sharing a concern, the household, undoing a merge."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from referrals.children.household import HouseholdFields
from referrals.models import HouseholdMember
from referrals.web.forms.common import GovukForm, clean_date, date_fields


class ConcernShareForm(GovukForm):
    reason = forms.CharField(
        label="Why share this concern with the front door?",
        help_text="Children's social care will see this concern and count it with others "
        "about the child. It is not a referral.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter why you are sharing this concern"},
    )


class UnmergeForm(GovukForm):
    reason = forms.CharField(
        label="Why are these not the same child?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter why the merge is wrong"},
    )


class HouseholdMemberForm(GovukForm):
    first_name = forms.CharField(
        label="First name", max_length=100, error_messages={"required": "Enter a first name"}
    )
    last_name = forms.CharField(
        label="Last name", max_length=100, error_messages={"required": "Enter a last name"}
    )
    dob_day, dob_month, dob_year = date_fields()
    relationship = forms.ChoiceField(
        label="How are they linked to the child?",
        choices=HouseholdMember.Relationship.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how they are linked to the child"},
    )
    lives_with_child = forms.TypedChoiceField(
        label="Do they live with the child?",
        choices=(("yes", "Yes"), ("no", "No")),
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether they live with the child"},
    )
    joined_day, joined_month, joined_year = date_fields()
    notes = forms.CharField(
        label="Anything else (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["date_of_birth"] = clean_date(self, "dob", "their date of birth", required=False)
        data["joined_on"] = clean_date(
            self, "joined", "the date they joined the household", required=False
        )
        return data

    def member_fields(self) -> HouseholdFields:
        data = self.cleaned_data
        joined: datetime.date | None = data["joined_on"]
        return {
            "first_name": data["first_name"].strip(),
            "last_name": data["last_name"].strip(),
            "date_of_birth": data["date_of_birth"],
            "relationship": data["relationship"],
            "lives_with_child": data["lives_with_child"],
            "joined_on": joined,
            "notes": data["notes"].strip(),
        }
