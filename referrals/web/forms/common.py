"""The base of every form: GOV.UK error messages, the three-box date, radios with hints."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils import timezone

from referrals.core.choices import URGENCY_HINTS, URGENCY_OPTIONS
from referrals.core.errors import ApplicationError

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


class GovukRadios(forms.RadioSelect):
    """Radios whose options may carry a hint, or reveal a block of questions when chosen
    (the GOV.UK conditional reveal; templates/includes/radios.html renders both)."""

    def __init__(
        self,
        *,
        hints: Mapping[str, str] | None = None,
        reveals: Mapping[str, str] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs=attrs)
        self.hints = dict(hints or {})
        self.reveals = dict(reveals or {})  # value -> the id of the block it reveals

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["hint"] = self.hints.get(str(option["value"]), "")
        option["reveals"] = self.reveals.get(str(option["value"]), "")
        return option


def urgency_field(help_text: str) -> forms.ChoiceField:
    """How urgent: one scale, labels and hints from a concern to a referral, never pre-chosen."""
    return forms.ChoiceField(
        label="How urgent is this?",
        choices=list(URGENCY_OPTIONS.items()),
        widget=GovukRadios(hints=URGENCY_HINTS),
        help_text=help_text,
        error_messages={"required": "Select how urgent this is"},
    )


def date_fields() -> tuple[forms.CharField, forms.CharField, forms.CharField]:
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


def clean_date(
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
