"""Browser forms: GOV.UK markup, messages in the GOV.UK style, no personal data in errors."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from referrals.concerns.attachments import attachment_check
from referrals.concerns.services import ConcernFields
from referrals.core import errors
from referrals.core.choices import CONCERN_CATEGORY_CHOICES
from referrals.core.errors import ApplicationError
from referrals.models import Concern
from referrals.web.forms.common import (
    GovukForm,
    GovukRadios,
    clean_date,
    date_fields,
    urgency_field,
)

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
_NOON = datetime.time(12, 0)


def region_label(region: str) -> str:
    """The label of a body-map region; older free-text regions are shown as they are."""
    return BODY_REGION_LABELS.get(region, region)


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
    urgency = urgency_field("Your safeguarding lead looks at the most urgent concerns first.")
    observed_today = forms.ChoiceField(
        label="Did this happen today?",
        choices=[("yes", "Yes"), ("no", "No")],
        # "No" reveals the date (the date input is rendered inside the revealed block).
        widget=GovukRadios(reveals={"no": "observed-date"}),
        error_messages={"required": "Select yes if it happened today"},
    )
    observed_day, observed_month, observed_year = date_fields()
    observed_time = forms.CharField(
        label="What time did it happen? (optional)",
        required=False,
        max_length=5,
        help_text="Use the 24-hour clock, for example 14:30. Leave it blank if you do not know.",
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
        day = None
        if data.get("observed_today") == "yes":
            day = timezone.localdate()
        elif data.get("observed_today") == "no":
            day = clean_date(self, "observed", "the date it happened", required=True)
        time_text = str(data.get("observed_time") or "").strip()
        at_time = None
        if time_text:
            match = _TIME.match(time_text)
            if not match or int(match[1]) > 23 or int(match[2]) > 59:
                self.add_error("observed_time", "Enter a real time, for example 14:30")
            else:
                at_time = datetime.time(int(match[1]), int(match[2]))
        if day is not None:
            data["observed_at"] = self._observed_at(day, at_time)
        for index, row in enumerate(self.injuries):
            if row["region"] not in BODY_REGION_LABELS:
                self.add_error(None, f"Injury {index + 1}: choose a part of the body")
        return data

    def _observed_at(self, day: datetime.date, at_time: datetime.time | None) -> datetime.datetime:
        """When it happened. A time left blank is not known: recorded at noon as it always has
        been, or now if noon today has not come yet (a concern is never in the future)."""
        now = timezone.now()
        if at_time is None:
            return min(timezone.make_aware(datetime.datetime.combine(day, _NOON)), now)
        observed = timezone.make_aware(datetime.datetime.combine(day, at_time))
        if observed > now + datetime.timedelta(minutes=5):
            self.add_error("observed_time", "The time must be now or in the past")
        return observed

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
