"""The referral form (the API applies its rules too) and withdrawing a referral."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import dateformat, timezone

from referrals.casework.referrals import ReferralFields
from referrals.core.choices import CinCategory, Factor, most_urgent
from referrals.models import Concern, Referral
from referrals.web.forms.common import GovukForm, urgency_field


class ReferralForm(GovukForm):
    concerns = forms.MultipleChoiceField(
        label="Which concerns are you referring?",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They are sent with the referral.",
    )
    urgency = urgency_field("The front door answers the most urgent referrals first.")
    category = forms.ChoiceField(
        label="Category of abuse (optional)",
        choices=[("", "Not sure"), *CinCategory.choices],
        required=False,
    )
    factors = forms.MultipleChoiceField(
        label="Other factors (optional)",
        choices=Factor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label="What worries you?",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Enter what worries you"},
    )
    desired_outcome = forms.CharField(
        label="What do you want to happen?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter what you want to happen"},
    )
    consent = forms.ChoiceField(
        label="Has the family consented to this referral?",
        choices=[
            (Referral.Consent.GIVEN, "Yes, consent was given"),
            (Referral.Consent.REFUSED, "No, consent was refused"),
            (Referral.Consent.NOT_SOUGHT, "Consent was not sought"),
        ],
        widget=forms.RadioSelect,
        help_text="Consent is not needed where a child is at risk of significant harm.",
        error_messages={"required": "Select whether the family consented"},
    )
    consent_reason = forms.CharField(
        label="If consent was refused or not sought, why?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    parents_aware = forms.ChoiceField(
        label="Do the parents or carers know about this referral?",
        choices=Referral.ParentsAware.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether the parents or carers know"},
    )
    referrer_name = forms.CharField(
        label="Your name", max_length=200, error_messages={"required": "Enter your name"}
    )
    referrer_phone = forms.CharField(
        label="Your phone number",
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": "Enter a phone number the front door can call you on"},
    )
    referrer_email = forms.EmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
    )

    def __init__(self, *args: Any, concern_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        concerns = self.fields["concerns"]
        assert isinstance(concerns, forms.MultipleChoiceField)  # noqa: S101 - for the type checker
        concerns.choices = concern_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("consent") in (Referral.Consent.REFUSED, Referral.Consent.NOT_SOUGHT)
            and not (data.get("consent_reason") or "").strip()
        ):
            self.add_error("consent_reason", "Enter why consent was refused or not sought")
        return data

    def referral_fields(self) -> ReferralFields:
        data = self.cleaned_data
        return ReferralFields(
            urgency=data["urgency"],
            category=data["category"],
            factors=list(data["factors"]),
            reason=data["reason"],
            desired_outcome=data["desired_outcome"],
            consent=data["consent"],
            # A reason typed and then made moot by choosing "given" is not kept.
            consent_reason=data["consent_reason"]
            if data["consent"] != Referral.Consent.GIVEN
            else "",
            parents_aware=data["parents_aware"],
            referrer_name=data["referrer_name"],
            referrer_phone=data["referrer_phone"],
            referrer_email=data["referrer_email"],
        )


def referral_initial_from_concerns(concerns: list[Concern]) -> dict[str, Any]:
    """A referral made from concerns starts with what they say, all of it editable: the most
    urgent urgency, their category (one category of abuse, or "multiple") and factors, and
    what happened (each dated when there are several)."""
    if not concerns:
        return {}
    ticked = [value for concern in concerns for value in concern.categories]
    categories = list(dict.fromkeys(v for v in ticked if v in CinCategory.values))
    category = categories[0] if len(categories) == 1 else ""
    if len(categories) > 1:
        category = CinCategory.MULTIPLE
    reason = concerns[0].what_happened
    if len(concerns) > 1:
        reason = "\n\n".join(
            f"{dateformat.format(timezone.localtime(c.observed_at), 'j F Y')}: {c.what_happened}"
            for c in sorted(concerns, key=lambda c: c.observed_at)
        )
    return {
        "urgency": most_urgent(c.urgency for c in concerns),
        "category": category,
        "factors": list(dict.fromkeys(v for v in ticked if v in Factor.values)),
        "reason": reason,
    }


class WithdrawForm(GovukForm):
    reason = forms.CharField(
        label="Why are you withdrawing this referral?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter why you are withdrawing this referral"},
    )
