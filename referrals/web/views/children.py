"""Finding or adding the child a concern or referral is about, and the child's chronology."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from agencies.capabilities import agencies_with_capability
from referrals.audit import audit_record_many
from referrals.children.chronology import child_chronology_for_user
from referrals.children.joined_up import joined_up_context
from referrals.children.matching import Match
from referrals.children.selectors import child_find_for_user
from referrals.children.services import child_create
from referrals.core import errors
from referrals.models import AuditAction, Child, Draft
from referrals.visibility import (
    child_get_for_user,
    child_list_for_user,
    scope_for_user,
    user_may_read_access_log,
)
from referrals.web.forms.children import ChildForm, ChildSearchForm
from referrals.web.views.drafting import CAPABILITY, SEARCH_SESSION_KEY, acting_agency, posted
from safeguarding.http import AuthenticatedHttpRequest


def _next_url(kind: str, child: Child) -> str:
    name = "concern-new" if kind == Draft.Kind.CONCERN else "referral-new"
    return reverse(name, args=[child.pk])


def _child_search(request: AuthenticatedHttpRequest, form: ChildSearchForm) -> list[Match]:
    """The likely matches for a valid search, audited; the search is kept for "add a child"."""
    data = form.cleaned_data
    matches = child_find_for_user(
        user=request.user,
        first_name=data["first_name"],
        last_name=data["last_name"],
        date_of_birth=data["date_of_birth"],
        nhs_number=data["nhs_number"],
        postcode=data["postcode"],
    )
    if matches:
        audit_record_many(
            actor=request.user,
            action=AuditAction.LIST,
            targets=[match.child for match in matches],
            data={"matching": True},
        )
    request.session[SEARCH_SESSION_KEY] = {
        key: request.POST.get(key, "")
        for key in ("first_name", "last_name", "dob_day", "dob_month", "dob_year", "postcode")
    } | {"nhs_number": data["nhs_number"]}
    return matches


@login_required
def child_find(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """Who is it about? Likely matches among the children the agency may see, before a new one.

    The search is posted, never put in the address: names and dates of birth stay out of URLs.
    """
    if kind not in CAPABILITY:
        raise Http404
    acting_agency(request, kind)
    form = ChildSearchForm(posted(request)[0])
    searched = request.method == "POST" and form.is_valid()
    return render(
        request,
        "referrals/child_find.html",
        {
            "form": form,
            "kind": kind,
            "title": "Record a concern" if kind == Draft.Kind.CONCERN else "Make a referral",
            "matches": _child_search(request, form) if searched else [],
            "searched": searched,
            "front_door_phone": _front_door_phone(request),
        },
    )


def _front_door_phone(request: AuthenticatedHttpRequest) -> str:
    agencies = agencies_with_capability(user=request.user, capability="referrals.add_concern")
    return agencies[0].local_authority.front_door_phone if agencies else ""


@login_required
def child_add(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """Add a child nobody in the agency has recorded (after the search showed no match)."""
    if kind not in CAPABILITY:
        raise Http404
    agency = acting_agency(request, kind)
    searched = request.session.get(SEARCH_SESSION_KEY)
    if searched is None:
        return redirect("child-find", kind=kind)
    form = ChildForm(posted(request)[0], initial=searched)
    if request.method == "POST" and form.is_valid():
        fields = form.child_fields()
        known = (
            fields["nhs_number"]
            and child_list_for_user(user=request.user)
            .filter(nhs_number=fields["nhs_number"])
            .exists()
        )
        if known:
            form.add_error("nhs_number", errors.CHILD_ALREADY_RECORDED)
        else:
            child = child_create(user=request.user, agency=agency, **fields)
            request.session.pop(SEARCH_SESSION_KEY, None)
            return redirect(_next_url(kind, child))
    return render(request, "referrals/child_add.html", {"form": form, "kind": kind})


@login_required
def child_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The child and everything the person may see about them, in time order."""
    user = request.user
    child = child_get_for_user(user=user, pk=pk)
    entries, concerns, referrals = child_chronology_for_user(user=user, child=child)
    if concerns:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=concerns)
    if referrals:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=referrals)
    joined_up = joined_up_context(user=user, child=child)
    shown = [
        *joined_up["household"],
        *(n.child for n in joined_up["neighbours"]),
        *(m.child for m in joined_up["duplicates"]),
    ]
    if shown:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=shown)
    return render(
        request,
        "referrals/child_detail.html",
        {
            "child": child,
            "entries": entries,
            "may_read_access_log": user_may_read_access_log(user=user),
            "may_record": bool(
                agencies_with_capability(user=user, capability="referrals.add_concern")
            ),
            "may_refer": bool(
                agencies_with_capability(user=user, capability="referrals.add_referral")
            ),
            "authority_view": bool(
                scope_for_user(user).team_authority_ids or scope_for_user(user).authority_ids
            ),
            **joined_up,
        },
    )
