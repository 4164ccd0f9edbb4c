"""Small helpers for GOV.UK markup in templates."""

from __future__ import annotations

from typing import Any

from django import forms, template

from referrals.web.forms.concerns import region_label as _region_label

register = template.Library()


@register.filter
def anchor(field: forms.BoundField) -> str:
    """The id the error summary links to: the first box of a group of radios or checkboxes."""
    if isinstance(field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return str(field.id_for_label)


@register.filter
def region_label(region: Any) -> str:
    return _region_label(str(region))


@register.filter
def choice_label(value: Any, choices: Any) -> str:
    """The label of a stored choice value, from a TextChoices class's choices."""
    return str(dict(choices).get(value, value))


@register.simple_tag
def date_parts(form: forms.Form, prefix: str) -> list[forms.BoundField]:
    """The day, month and year fields of a GOV.UK date input, in that order."""
    return [form[f"{prefix}_{part}"] for part in ("day", "month", "year")]
