"""Browser forms: GOV.UK markup, messages in the GOV.UK style, no personal data in errors."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from referrals.casework.referrals import ReferralFields
from referrals.children.services import ChildFields
from referrals.concerns.attachments import attachment_check
from referrals.concerns.services import ConcernFields
from referrals.core import errors
from referrals.core.choices import CONCERN_CATEGORY_CHOICES, CinCategory, Factor, Urgency
from referrals.core.errors import ApplicationError
from referrals.core.validators import (
    NHS_NUMBER_INVALID,
    UPN_INVALID,
    nhs_number_is_valid,
    normalise_nhs_number,
    upn_is_valid,
)
from referrals.models import Concern, Referral, Sex

# Body map regions: the child's left and right. Front and back outlines in
# static/img/body-map.svg carry the same values in their data-region attributes.
BODY_REGIONS: list[tuple[str, str]] = [
    ("front-head", "Head and face"),
    ("front-neck", "Neck (front)"),
    ("front-chest", "Chest"),
    ("front-abdomen", "Abdomen"),
    ("front-groin", "Genital area"),
    ("front-right-upper-arm", "Right upper arm (front)"),
    ("front-left-upper-arm", "Left upper arm (front)"),
    ("front-right-forearm", "Right forearm (front)"),
    ("front-left-forearm", "Left forearm (front)"),
    ("front-right-hand", "Right hand (palm)"),
    ("front-left-hand", "Left hand (palm)"),
    ("front-right-thigh", "Right thigh (front)"),
    ("front-left-thigh", "Left thigh (front)"),
    ("front-right-lower-leg", "Right shin"),
    ("front-left-lower-leg", "Left shin"),
    ("front-right-foot", "Right foot (top)"),
    ("front-left-foot", "Left foot (top)"),
    ("back-head", "Back of head"),
    ("back-neck", "Back of neck"),
    ("back-upper", "Upper back"),
    ("back-lower", "Lower back"),
    ("back-buttocks", "Buttocks"),
    ("back-left-upper-arm", "Left upper arm (back)"),
    ("back-right-upper-arm", "Right upper arm (back)"),
    ("back-left-forearm", "Left forearm (back)"),
    ("back-right-forearm", "Right forearm (back)"),
    ("back-left-hand", "Left hand (back)"),
    ("back-right-hand", "Right hand (back)"),
    ("back-left-thigh", "Left thigh (back)"),
    ("back-right-thigh", "Right thigh (back)"),
    ("back-left-lower-leg", "Left calf"),
    ("back-right-lower-leg", "Right calf"),
    ("back-left-foot", "Left heel and sole"),
    ("back-right-foot", "Right heel and sole"),
]
BODY_REGION_LABELS = dict(BODY_REGIONS)
INJURY_NOTE_MAX = 500
INJURIES_MAX = 40

_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


def region_label(region: str) -> str:
    """The label of a body-map region; older free-text regions are shown as they are."""
    return BODY_REGION_LABELS.get(region, region)


_WIDGET_CLASSES: dict[type[forms.Widget], str] = {
    forms.Textarea: "govuk-textarea",
    forms.Select: "govuk-select",
    forms.ClearableFileInput: "govuk-file-upload",
    forms.FileInput: "govuk-file-upload",
}


class GovukForm(forms.Form):
    """GOV.UK classes on every widget, and hints and errors linked to their fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            css = _WIDGET_CLASSES.get(type(widget), "govuk-input")
            if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            widget.attrs.setdefault("class", css)
            if field.help_text:
                widget.attrs["aria-describedby"] = f"id_{self.add_prefix(name)}-hint"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                continue
            css = widget.attrs.get("class", "")
            base = css.split()[0] if css else "govuk-input"
            widget.attrs["class"] = f"{css} {base}--error".strip()
            described = widget.attrs.get("aria-describedby", "")
            widget.attrs["aria-describedby"] = f"{described} id_{self.add_prefix(name)}-error"

    def apply_error(self, error: ApplicationError, field: str | None = None) -> None:
        """Show a domain error as a GOV.UK form error."""
        self.add_error(field, error.message)


def _date_fields() -> tuple[forms.CharField, forms.CharField, forms.CharField]:
    """Day, month and year boxes (the GOV.UK date input)."""

    def box(label: str, width: int) -> forms.CharField:
        return forms.CharField(
            label=label,
            required=False,
            max_length=4,
            widget=forms.TextInput(
                attrs={"inputmode": "numeric", "class": f"govuk-input govuk-input--width-{width}"}
            ),
        )

    return box("Day", 2), box("Month", 2), box("Year", 4)


def _clean_date(
    form: forms.Form, prefix: str, what: str, *, required: bool, past: bool = True
) -> datetime.date | None:
    data = form.cleaned_data
    parts = [str(data.get(f"{prefix}_{p}") or "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        if required:
            form.add_error(f"{prefix}_day", f"Enter {what}")
        return None
    if not all(parts):
        form.add_error(f"{prefix}_day", f"{what.capitalize()} must include a day, month and year")
        return None
    try:
        day, month, year = (int(p) for p in parts)
        value = datetime.date(year, month, day)
    except ValueError:
        form.add_error(f"{prefix}_day", f"{what.capitalize()} must be a real date")
        return None
    if year < 1900:
        form.add_error(f"{prefix}_day", f"{what.capitalize()} must be a real date")
        return None
    if past and value > timezone.localdate():
        form.add_error(f"{prefix}_day", f"{what.capitalize()} must be today or in the past")
        return None
    return value


# Finding and adding a child ------------------------------------------------------------------


class ChildSearchForm(GovukForm):
    first_name = forms.CharField(
        label="First name", max_length=100, error_messages={"required": "Enter a first name"}
    )
    last_name = forms.CharField(
        label="Last name", max_length=100, error_messages={"required": "Enter a last name"}
    )
    dob_day, dob_month, dob_year = _date_fields()
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
        data["date_of_birth"] = _clean_date(self, "dob", "the date of birth", required=False)
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
    dob_day, dob_month, dob_year = _date_fields()
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
        data["date_of_birth"] = _clean_date(self, "dob", "the date of birth", required=True)
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


# A concern -----------------------------------------------------------------------------------


class AttachmentField(forms.FileField):
    """A file checked by content and size before anything is stored."""

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if isinstance(upload, UploadedFile):
            try:
                attachment_check(upload=upload)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload


def injuries_from(data: Any) -> list[dict[str, str]]:
    """Body-map rows from posted data (parallel injury_region and injury_note lists)."""
    if data is None:
        return []
    regions = data.getlist("injury_region")
    notes = data.getlist("injury_note")
    rows = []
    for index, region in enumerate(regions[:INJURIES_MAX]):
        note = notes[index] if index < len(notes) else ""
        rows.append({"region": region, "note": note.strip()[:INJURY_NOTE_MAX]})
    return rows


class ConcernForm(GovukForm):
    urgency = forms.ChoiceField(
        label="How soon should your safeguarding lead look at this?",
        choices=[
            (Urgency.IMMEDIATE, "Straight away: the child may be at risk of harm today"),
            (Urgency.URGENT, "Today"),
            (Urgency.STANDARD, "When they next review concerns"),
        ],
        widget=forms.RadioSelect,
        initial=Urgency.STANDARD,
        error_messages={"required": "Select how soon your safeguarding lead should look at this"},
    )
    observed_day, observed_month, observed_year = _date_fields()
    observed_time = forms.CharField(
        label="Time",
        required=False,
        max_length=5,
        help_text="Use the 24-hour clock, for example 14:30",
        widget=forms.TextInput(attrs={"class": "govuk-input govuk-input--width-5"}),
    )
    location = forms.CharField(
        label="Where did you see or hear it? (optional)",
        max_length=200,
        required=False,
        help_text="For example, the playground or classroom 4",
    )
    categories = forms.MultipleChoiceField(
        label="What is the concern about? (optional)",
        choices=CONCERN_CATEGORY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply. If you are not sure, leave them for your lead.",
    )
    what_happened = forms.CharField(
        label="What happened?",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What you saw or heard, as facts. Who, what, when.",
        error_messages={"required": "Enter what happened"},
    )
    childs_words = forms.CharField(
        label="The child's own words (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Exactly what the child said, even if it does not make sense.",
    )
    people_present = forms.CharField(
        label="Who else was there? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    actions_taken = forms.CharField(
        label="What have you done so far? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    who_told = forms.CharField(
        label="Who have you told? (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    injury_add_region = forms.ChoiceField(
        label="Where on the body is the injury or mark?",
        choices=[("", "Choose a part of the body"), *BODY_REGIONS],
        required=False,
    )
    attachment = AttachmentField(
        label="Attach a file (optional)",
        required=False,
        help_text="A PDF, photo (PNG or JPEG), Word document or text file, up to 10 MB.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.injuries = injuries_from(self.data if self.is_bound else None)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day = _clean_date(self, "observed", "the date it happened", required=True)
        time_text = str(data.get("observed_time") or "").strip()
        at_time = datetime.time(12, 0)
        if time_text:
            match = _TIME.match(time_text)
            if not match or int(match[1]) > 23 or int(match[2]) > 59:
                self.add_error("observed_time", "Enter a real time, for example 14:30")
            else:
                at_time = datetime.time(int(match[1]), int(match[2]))
        if day is not None:
            observed = timezone.make_aware(datetime.datetime.combine(day, at_time))
            if observed > timezone.now() + datetime.timedelta(minutes=5):
                self.add_error("observed_time", "The time must be now or in the past")
            data["observed_at"] = observed
        for index, row in enumerate(self.injuries):
            if row["region"] not in BODY_REGION_LABELS:
                self.add_error(None, f"Injury {index + 1}: choose a part of the body")
        return data

    def concern_fields(self) -> ConcernFields:
        data = self.cleaned_data
        return {
            "urgency": data["urgency"],
            "observed_at": data["observed_at"],
            "location": data["location"],
            "categories": list(data["categories"]),
            "what_happened": data["what_happened"],
            "childs_words": data["childs_words"],
            "injuries": self.injuries,
            "people_present": data["people_present"],
            "actions_taken": data["actions_taken"],
            "who_told": data["who_told"],
        }


def concern_initial() -> dict[str, Any]:
    now = timezone.localtime()
    return {
        "observed_day": str(now.day),
        "observed_month": str(now.month),
        "observed_year": str(now.year),
        "observed_time": now.strftime("%H:%M"),
        "urgency": Urgency.STANDARD,
    }


class ConcernReviewForm(GovukForm):
    outcome = forms.ChoiceField(
        label="What happens next?",
        choices=Concern.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what happens next"},
    )
    rationale = forms.CharField(
        label="Why?",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Record your reasons, also when you decide not to refer.",
        error_messages={"required": "Enter the reason for your decision"},
    )


class AddendumForm(GovukForm):
    text = forms.CharField(
        label="Add to this concern",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The concern itself cannot be changed. What you add is dated and signed.",
        error_messages={"required": errors.ADDENDUM_REQUIRED},
    )


class AttachmentForm(GovukForm):
    attachment = AttachmentField(
        label="Upload a file",
        help_text="A PDF, photo (PNG or JPEG), Word document or text file, up to 10 MB.",
        error_messages={"required": "Select a file"},
    )


# A referral ----------------------------------------------------------------------------------


class ReferralForm(GovukForm):
    concerns = forms.MultipleChoiceField(
        label="Which concerns are you referring?",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They are sent with the referral.",
    )
    urgency = forms.ChoiceField(
        label="How urgent is this?",
        choices=Urgency.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how urgent this is"},
    )
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


class WithdrawForm(GovukForm):
    reason = forms.CharField(
        label="Why are you withdrawing this referral?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter why you are withdrawing this referral"},
    )
