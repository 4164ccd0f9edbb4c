"""The front door's work on one referral: its page, its buttons and its form pages.

Every action is a POST to its own URL that calls one service; a refused action comes back as
a GOV.UK error (form errors, or a notification banner for buttons). Pages that are not about
one record answer 403 to people without the role; a record they may not see is a 404.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from agencies.capabilities import user_has_capability
from agencies.models import User
from referrals.casework.common import receiving_agency
from referrals.casework.reading import outcome_mark_read
from referrals.casework.referrals import referral_transfer
from referrals.casework.sent_concerns import referral_concerns_for_user, referral_school
from referrals.casework.sharing import referral_share, share_revoke
from referrals.casework.triage import (
    referral_acknowledge,
    referral_claim,
    referral_close,
    referral_decide,
    referral_note_add,
    referral_provide_information,
    referral_reassign,
    referral_request_information,
)
from referrals.children.joined_up import referral_joined_up_context
from referrals.core import states
from referrals.core.errors import ApplicationError
from referrals.core.states import Step
from referrals.models import Decision, Referral, ReferralEvent, Share
from referrals.outbox.inbox import notifications_read_for_record
from referrals.outbox.recipients import team_members
from referrals.visibility import (
    Audience,
    child_list_for_user,
    event_text_for,
    referral_audience,
    referral_events_for_audience,
    referral_get_for_user,
    user_may_add_to_referral,
    user_may_read_access_log,
    user_may_withdraw_referral,
)
from referrals.web.forms.triage import (
    DecisionForm,
    InformationReplyForm,
    InformationRequestForm,
    NoteForm,
    ReassignForm,
    ShareForm,
    TransferForm,
    share_initial,
)
from referrals.web.templatetags.triage import referral_deadline
from safeguarding.http import AuthenticatedHttpRequest

# Capabilities a person may hold in the receiving agency, by the name the page uses.
CAPABILITIES = {
    "acknowledge": "referrals.acknowledge_referral",
    "decide": "referrals.decide_referral",
    "share": "referrals.share_referral",
    "transfer": "referrals.transfer_referral",
    "reassign": "referrals.reassign_referral",
}
THREAD_KINDS = (
    ReferralEvent.Kind.INFORMATION_REQUESTED,
    ReferralEvent.Kind.INFORMATION_RECEIVED,
)
# The buttons and pages the referral page offers: the step (its status must allow it, by the
# state table) and the capability it needs in the receiving agency.
ACTIONS: dict[str, tuple[Step, str]] = {
    "may_claim": (Step.CLAIM, "acknowledge"),
    "may_acknowledge": (Step.ACKNOWLEDGE, "acknowledge"),
    "may_request_information": (Step.REQUEST_INFORMATION, "acknowledge"),
    "may_decide": (Step.DECIDE, "decide"),
    "may_transfer": (Step.TRANSFER, "transfer"),
    "may_share": (Step.SHARE, "share"),
    "may_reassign": (Step.REASSIGN, "reassign"),
    "may_close": (Step.CLOSE, "decide"),
}


def _capabilities(user: Any, referral: Referral, audience: Audience) -> set[str]:
    """What the person may do to this referral as the receiving authority."""
    if audience != Audience.TEAM:
        return set()
    agency = receiving_agency(referral)
    return {
        name
        for name, capability in CAPABILITIES.items()
        if user_has_capability(user=user, capability=capability, agency=agency)
    }


def _require(request: AuthenticatedHttpRequest, referral: Referral, capability: str) -> None:
    """403 for someone who may see the referral but not do this to it."""
    audience = referral_audience(user=request.user, referral=referral)
    if capability not in _capabilities(request.user, referral, audience):
        raise PermissionDenied


def _actions(user: User, referral: Referral, audience: Audience) -> dict[str, bool]:
    """Which actions the page offers this person, by the state table and their capabilities."""
    can = _capabilities(user, referral, audience)
    flags = {
        flag: capability in can and states.allows(step, referral.status)
        for flag, (step, capability) in ACTIONS.items()
    }
    # Claiming is taking it from nobody (or from someone else); acknowledging claims it too.
    flags["may_claim"] = flags["may_claim"] and referral.owner_id != user.pk
    flags["may_acknowledge"] = flags["may_acknowledge"] and referral.owner_id in (None, user.pk)
    flags["may_reply"] = audience == Audience.REFERRER and states.allows(
        Step.PROVIDE_INFORMATION, referral.status
    )
    flags["may_note"] = audience == Audience.TEAM
    flags["may_withdraw"] = user_may_withdraw_referral(user=user, referral=referral)
    flags["may_attach"] = user_may_add_to_referral(user=user, referral=referral)
    flags["may_read_access_log"] = user_may_read_access_log(user=user)
    flags["may_see_child"] = child_list_for_user(user=user).filter(pk=referral.child_id).exists()
    return flags


def _message_forms(forms: dict[str, Any]) -> dict[str, Any]:
    """The page's three one-box forms, as posted when one came back with an error."""
    return {
        "request_form": forms.get("request") or InformationRequestForm(prefix="request"),
        "reply_form": forms.get("reply") or InformationReplyForm(prefix="reply"),
        "note_form": forms.get("note") or NoteForm(prefix="note"),
        "form": next((form for form in forms.values() if form.errors), None),
    }


def _timeline(referral: Referral, audience: Audience) -> list[tuple[ReferralEvent, str]]:
    """The referral's events the audience sees, each with the text it may read."""
    events = referral_events_for_audience(
        referral.events.select_related("actor", "agency"), audience
    )
    return [(event, event_text_for(event, audience)) for event in events]


def _reading(
    user: User, referral: Referral, audience: Audience, now: datetime.datetime
) -> dict[str, Any]:
    """Who the referral is about, what happened in the concerns' own words, and its deadline."""
    # The issue 3 decision stands: concerns never reach partners (the selector agrees).
    concerns = (
        []
        if audience == Audience.PARTNER
        else referral_concerns_for_user(user=user, referral=referral)
    )
    return {
        "concerns": concerns,
        "school": referral_school(referral=referral, concerns=concerns),
        "deadline": referral_deadline(referral, now),
    }


def _is_referrer_side(request: AuthenticatedHttpRequest, referral: Referral) -> bool:
    return referral_audience(user=request.user, referral=referral) == Audience.REFERRER


def referral_page(
    request: AuthenticatedHttpRequest,
    referral: Referral,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The referral page, as its audience may see it, with the actions the person may take."""
    user, now = request.user, timezone.now()
    outcome_mark_read(user=user, referral=referral)
    notifications_read_for_record(user=user, referral=referral)
    audience = referral_audience(user=user, referral=referral)
    events = _timeline(referral, audience)
    is_team = audience == Audience.TEAM
    context = {
        "referral": referral,
        "audience": audience.value,
        "is_team": is_team,
        "is_partner": audience == Audience.PARTNER,
        "events": events,
        "thread": [(e, text) for e, text in events if e.kind in THREAD_KINDS],
        "notes": [(e, text) for e, text in events if e.kind == ReferralEvent.Kind.NOTE],
        "decision": Decision.objects.filter(referral=referral).first(),
        "attachments": referral.attachments.all(),
        "shares": referral.shares.select_related("agency", "granted_by").order_by("-created_at")
        if is_team
        else [],
        "now": now,
        **_reading(user, referral, audience, now),
        **_actions(user, referral, audience),
        **_message_forms(forms or {}),
        **(referral_joined_up_context(user=user, referral=referral) if is_team else {}),
    }
    return render(request, "referrals/referral_detail.html", context, status=status)


# Buttons: claim, acknowledge, revoke a share --------------------------------------------------

ReferralAction = Callable[..., HttpResponse]


def referral_post(view: ReferralAction) -> ReferralAction:
    """A POST to one referral, looked up first: an outsider gets 404 whatever the method."""

    @functools.wraps(view)
    def wrapper(request: AuthenticatedHttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        referral = referral_get_for_user(user=request.user, pk=pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, referral, **kwargs)

    return wrapper


def _after_action(
    request: AuthenticatedHttpRequest, referral: Referral, done: str, action: Any
) -> HttpResponse:
    """Run a service; its refusal becomes the page's notification banner, in plain words."""
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("referral-detail", pk=referral.pk)


@login_required
@referral_post
def referral_claim_view(request: AuthenticatedHttpRequest, referral: Referral) -> HttpResponse:
    _require(request, referral, "acknowledge")
    return _after_action(
        request,
        referral,
        f"You own referral #{referral.pk} now.",
        lambda: referral_claim(referral=referral, user=request.user),
    )


@login_required
@referral_post
def referral_acknowledge_view(
    request: AuthenticatedHttpRequest, referral: Referral
) -> HttpResponse:
    _require(request, referral, "acknowledge")
    return _after_action(
        request,
        referral,
        f"Referral #{referral.pk} acknowledged. The referrer has been told.",
        lambda: referral_acknowledge(referral=referral, user=request.user),
    )


@login_required
@referral_post
def referral_close_view(request: AuthenticatedHttpRequest, referral: Referral) -> HttpResponse:
    """The front door's work on a decided referral is done: it leaves the queue."""
    _require(request, referral, "decide")
    return _after_action(
        request,
        referral,
        f"Referral #{referral.pk} closed. It has left the queue; its record stays.",
        lambda: referral_close(referral=referral, user=request.user),
    )


@login_required
@referral_post
def share_revoke_view(
    request: AuthenticatedHttpRequest, referral: Referral, share_pk: int
) -> HttpResponse:
    _require(request, referral, "share")
    share = Share.objects.filter(referral=referral, pk=share_pk).select_related("agency").first()
    if share is None:
        raise Http404
    return _after_action(
        request,
        referral,
        f"{share.agency.name} can no longer see referral #{referral.pk}.",
        lambda: share_revoke(share=share, user=request.user),
    )


# The message thread and notes -----------------------------------------------------------------


def _message(
    request: AuthenticatedHttpRequest,
    referral: Referral,
    *,
    key: str,
    form: Any,
    done: str,
    write: Any,
) -> HttpResponse:
    field = next(iter(form.fields))  # each of these forms is one text box
    if form.is_valid():
        try:
            write(form.cleaned_data[field])
        except ApplicationError as exc:
            form.apply_error(exc, field)
        else:
            messages.success(request, done)
            return redirect("referral-detail", pk=referral.pk)
    return referral_page(request, referral, forms={key: form}, status=400)


@login_required
@referral_post
def referral_request_information_view(
    request: AuthenticatedHttpRequest, referral: Referral
) -> HttpResponse:
    _require(request, referral, "acknowledge")
    return _message(
        request,
        referral,
        key="request",
        form=InformationRequestForm(request.POST, prefix="request"),
        done="Your question was sent to the referrer.",
        write=lambda text: referral_request_information(
            referral=referral, user=request.user, message=text
        ),
    )


@login_required
@referral_post
def referral_reply_view(request: AuthenticatedHttpRequest, referral: Referral) -> HttpResponse:
    if not _is_referrer_side(request, referral):
        raise PermissionDenied
    return _message(
        request,
        referral,
        key="reply",
        form=InformationReplyForm(request.POST, prefix="reply"),
        done="Your answer was sent to the front door.",
        write=lambda text: referral_provide_information(
            referral=referral, user=request.user, message=text
        ),
    )


@login_required
@referral_post
def referral_note_view(request: AuthenticatedHttpRequest, referral: Referral) -> HttpResponse:
    if referral_audience(user=request.user, referral=referral) != Audience.TEAM:
        raise PermissionDenied
    return _message(
        request,
        referral,
        key="note",
        form=NoteForm(request.POST, prefix="note"),
        done="Your note was added. Only your authority's team can see it.",
        write=lambda text: referral_note_add(referral=referral, user=request.user, text=text),
    )


# Pages with a form: decide, transfer, share, reassign ------------------------------------------


def _form_page(
    request: AuthenticatedHttpRequest,
    template: str,
    referral: Referral,
    form: Any,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        template,
        {"referral": referral, "form": form, **extra},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def referral_decide_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The decision: outcome, the reasons, feedback for the referrer; stops the clock."""
    referral = referral_get_for_user(user=request.user, pk=pk)
    _require(request, referral, "decide")
    if not states.allows(Step.DECIDE, referral.status):
        messages.error(request, states.TABLE[Step.DECIDE].refusal)
        return redirect("referral-detail", pk=referral.pk)
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral_decide(
                    referral=referral,
                    user=request.user,
                    outcome=data["outcome"],
                    rationale=data["rationale"],
                    feedback=data["feedback"],
                    category=data["category"],
                    factors=data["factors"],
                )
            except ApplicationError as exc:
                form.apply_error(exc)
            else:
                messages.success(
                    request,
                    f"Referral #{referral.pk} decided. The referrer has been sent your feedback.",
                )
                return redirect("referral-detail", pk=referral.pk)
    else:
        form = DecisionForm(initial={"category": referral.category, "factors": referral.factors})
    return _form_page(request, "referrals/referral_decide.html", referral, form)


@login_required
def referral_transfer_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Send the referral to another authority's queue, with the reason."""
    referral = referral_get_for_user(user=request.user, pk=pk)
    _require(request, referral, "transfer")
    form = TransferForm(request.POST or None, referral=referral)
    if request.method == "POST" and form.is_valid():
        try:
            referral_transfer(
                referral=referral,
                user=request.user,
                to_authority=form.cleaned_data["to_authority"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            form.apply_error(exc)
        else:
            messages.success(
                request,
                f"Referral #{referral.pk} was transferred to "
                f"{form.cleaned_data['to_authority'].name}. You can still read what you did.",
            )
            return redirect("referral-detail", pk=referral.pk)
    return _form_page(request, "referrals/referral_transfer.html", referral, form)


@login_required
def referral_share_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Share with a partner agency: the reason is recorded, and the share ends on a date."""
    referral = referral_get_for_user(user=request.user, pk=pk)
    _require(request, referral, "share")
    if request.method == "POST":
        form = ShareForm(request.POST, referral=referral)
        if form.is_valid():
            try:
                referral_share(
                    referral=referral,
                    user=request.user,
                    agency=form.cleaned_data["agency"],
                    reason=form.cleaned_data["reason"],
                    expires_at=form.cleaned_data["expires_at"],
                )
            except ApplicationError as exc:
                form.apply_error(exc)
            else:
                messages.success(
                    request,
                    f"Referral #{referral.pk} is shared with {form.cleaned_data['agency'].name}.",
                )
                return redirect("referral-detail", pk=referral.pk)
    else:
        form = ShareForm(initial=share_initial(), referral=referral)
    return _form_page(request, "referrals/referral_share.html", referral, form)


@login_required
def referral_reassign_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A manager gives the referral to someone in the receiving team."""
    referral = referral_get_for_user(user=request.user, pk=pk)
    _require(request, referral, "reassign")
    form = ReassignForm(request.POST or None, members=team_members(team_id=referral.team_id))
    if request.method == "POST" and form.is_valid():
        try:
            referral_reassign(
                referral=referral, user=request.user, to_user=form.cleaned_data["to_user"]
            )
        except ApplicationError as exc:
            form.apply_error(exc, "to_user")
        else:
            messages.success(
                request, f"Referral #{referral.pk} is assigned to {form.cleaned_data['to_user']}."
            )
            return redirect("referral-detail", pk=referral.pk)
    return _form_page(request, "referrals/referral_reassign.html", referral, form)
