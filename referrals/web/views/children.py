"""Finding a child again, and finding or adding the child a concern or referral is about."""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from agencies.capabilities import agencies_with_capability
from referrals.audit import audit_record, audit_record_many
from referrals.children.matching import Match
from referrals.children.selectors import (
    ChildFound,
    ChildSearch,
    child_find_for_user,
    child_search_for_user,
    user_may_find_children,
)
from referrals.children.services import child_create
from referrals.core import errors
from referrals.models import AuditAction, Child, Draft
from referrals.visibility import child_list_for_user
from referrals.web.forms.children import ChildForm, ChildSearchForm, FindChildForm
from referrals.web.views.drafting import CAPABILITY, SEARCH_SESSION_KEY, acting_agency, posted
from safeguarding.http import AuthenticatedHttpRequest

# "Find a child": the latest search's terms, in the session under an opaque key that is all the
# results page's address carries, so a name or a date of birth never reaches a URL or a log.
FIND_SESSION_KEY = "child_find_latest"


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


def _found(request: AuthenticatedHttpRequest, search: ChildSearch) -> list[ChildFound]:
    """The children found, each one's read audited as a search: the kinds of term, not them."""
    found = child_search_for_user(user=request.user, search=search)
    data = {"search": search.kinds, "results": len(found)}
    if found:
        audit_record_many(
            actor=request.user,
            action=AuditAction.LIST,
            targets=[result.child for result in found],
            data=data,
        )
    else:
        # Nothing about a child was shown, but that someone looked is still on the record.
        audit_record(actor=request.user, action=AuditAction.LIST, target=request.user, data=data)
    return found


@login_required
def child_search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Find a child the person may see by name (spelling slips too), date of birth, NHS number
    or UPN, and open their chronology. Posted, then redirected to results named by a key."""
    if not user_may_find_children(user=request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = FindChildForm(request.POST)
        if form.is_valid():
            made = secrets.token_urlsafe(12)
            request.session[FIND_SESSION_KEY] = {"key": made, "terms": form.search().to_session()}
            return redirect(f"{reverse('child-search')}?{urlencode({'results': made})}")
        return render(request, "referrals/child_search.html", {"form": form}, status=400)
    latest = request.session.get(FIND_SESSION_KEY) or {}
    key = request.GET.get("results")
    if not key or latest.get("key") != key:
        return render(request, "referrals/child_search.html", {"form": FindChildForm()})
    search = ChildSearch.from_session(latest["terms"])
    return render(
        request,
        "referrals/child_search.html",
        {"form": FindChildForm.showing(search), "searched": True, "found": _found(request, search)},
    )
