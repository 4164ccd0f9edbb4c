"""Which updates a person is emailed about."""

from __future__ import annotations

from django import forms

from referrals.outbox.inbox import OPTIONAL_KINDS
from referrals.web.forms.common import GovukForm


class EmailPreferencesForm(GovukForm):
    emailed = forms.MultipleChoiceField(
        label="Email me as well when",
        choices=[(kind.value, kind.label) for kind in OPTIONAL_KINDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="You always see these on your notifications page. Untick any you do not want "
        "by email.",
    )
