"""Forms for the front door's work on a referral: messages, notes, decisions, transfers, shares."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone

from agencies.models import Agency, LocalAuthority, User
from referrals.casework.queue import ESCALATED_TO_ME, QUEUE_ORDERS, QUEUE_STATUSES, Ownership
from referrals.clocks.calendar import LONDON
from referrals.core import errors
from referrals.core.choices import CinCategory, Factor, Urgency
from referrals.models import Decision, Referral
from referrals.web.forms.common import GovukForm, clean_date, date_fields
from referrals.web.forms.lists import ListFilterForm, only_field

SHARE_DAYS_DEFAULT = 28


class QueueFilterForm(ListFilterForm):
    """The queue's search and filters (posted; the filters become the page's query string)."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Every open referral")]
        + [(value, Referral.Status(value).label) for value in QUEUE_STATUSES],
    )
    urgency = forms.ChoiceField(
        label="Urgency", required=False, choices=[("", "Any urgency"), *Urgency.choices]
    )
    category = forms.ChoiceField(
        label="Category of abuse",
        required=False,
        choices=[("", "Any category"), *CinCategory.choices],
    )
    owner = forms.ChoiceField(
        label="Owner",
        required=False,
        choices=[
            (Ownership.ANYONE, "Anyone"),
            (Ownership.MINE, "Assigned to me"),
            (Ownership.UNASSIGNED, "Not assigned"),
        ],
    )
    team = forms.ChoiceField(label="Team", required=False)
    overdue = only_field("Only overdue referrals")
    escalated = only_field("Only referrals escalated to you", ESCALATED_TO_ME)

    def __init__(self, *args: Any, teams: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, orders=QUEUE_ORDERS, **kwargs)
        if len(teams) < 2:
            # One queue: nothing to choose between.
            del self.fields["team"]
            return
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)  # noqa: S101 - for the type checker
        team.choices = [("", "All your teams")] + [(str(t.pk), t.name) for t in teams]


class InformationRequestForm(GovukForm):
    message = forms.CharField(
        label="What do you need to know?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The referrer and their safeguarding leads see this and are told by email.",
        error_messages={"required": "Enter what you need to know"},
    )


class InformationReplyForm(GovukForm):
    message = forms.CharField(
        label="Your answer",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The front door sees it at once; the referral goes back into their queue.",
        error_messages={"required": "Enter your answer"},
    )


class NoteForm(GovukForm):
    text = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only your authority's children's social care sees notes: never the referrer "
        "or partner agencies.",
        error_messages={"required": errors.NOTE_REQUIRED},
    )


class DecisionForm(GovukForm):
    outcome = forms.ChoiceField(
        label="What is the response?",
        choices=Decision.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the response"},
    )
    rationale = forms.CharField(
        label="Why? (for your authority's record)",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="The reasons for the decision. The referrer and partner agencies do not see "
        "this.",
        error_messages={"required": "Enter the reasons for the decision"},
    )
    feedback = forms.CharField(
        label="Feedback for the referrer",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Sent to the referrer and their safeguarding leads, in the service and by "
        "email. Say what will happen and what you need from them.",
        error_messages={"required": "Enter the feedback for the referrer"},
    )
    category = forms.ChoiceField(
        label="Category of abuse (if known)",
        choices=[("", "Not known"), *CinCategory.choices],
        required=False,
    )
    factors = forms.MultipleChoiceField(
        label="Factors identified (if known)",
        choices=Factor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class TransferForm(GovukForm):
    to_authority = forms.ModelChoiceField(
        label="Which local authority should take this referral?",
        queryset=LocalAuthority.objects.none(),
        empty_label="Choose a local authority",
        error_messages={"required": "Select the local authority to transfer to"},
    )
    reason = forms.CharField(
        label="Why are you transferring it?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example, the child lives in that authority's area.",
        error_messages={"required": "Enter why you are transferring this referral"},
    )

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_authority"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - for the type checker
        field.queryset = LocalAuthority.objects.exclude(pk=referral.local_authority_id).order_by(
            "name"
        )


class AgencyChoiceField(forms.ModelChoiceField[Agency]):
    def label_from_instance(self, obj: Agency) -> str:
        return f"{obj.name} ({obj.local_authority.name})"


class ShareForm(GovukForm):
    agency = AgencyChoiceField(
        label="Which agency?",
        queryset=Agency.objects.none(),
        empty_label="Choose an agency",
        error_messages={"required": "Select the agency to share with"},
    )
    reason = forms.CharField(
        label="Why are you sharing it?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Every sharing decision is recorded. For example, a strategy discussion "
        "under section 47 needs the police's and health's view.",
        error_messages={"required": "Enter why you are sharing this referral"},
    )
    ends_day, ends_month, ends_year = date_fields()

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agency"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - for the type checker
        # The referring agency already sees it, and the receiving one is the sharer.
        agencies = Agency.objects.filter(is_active=True).exclude(pk=referral.referring_agency_id)
        if referral.team is not None:
            agencies = agencies.exclude(pk=referral.team.agency_id)
        field.queryset = agencies.select_related("local_authority").order_by(
            "local_authority__name", "name"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        ends = clean_date(self, "ends", "the date the share ends", required=True, past=False)
        if ends is not None and ends < timezone.localdate():
            self.add_error("ends_day", "The date the share ends must be today or in the future")
        data["expires_at"] = (
            None
            if ends is None
            # To the end of that day, London time.
            else datetime.datetime.combine(
                ends + datetime.timedelta(days=1), datetime.time(), tzinfo=LONDON
            )
        )
        return data


def share_initial() -> dict[str, str]:
    ends = timezone.localdate() + datetime.timedelta(days=SHARE_DAYS_DEFAULT)
    return {"ends_day": str(ends.day), "ends_month": str(ends.month), "ends_year": str(ends.year)}


class ReassignForm(GovukForm):
    to_user = forms.ModelChoiceField(
        label="Who should own this referral?",
        queryset=User.objects.none(),
        widget=forms.RadioSelect,
        error_messages={"required": "Select who should own this referral"},
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_user"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - for the type checker
        field.queryset = members
