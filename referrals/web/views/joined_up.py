"""Pages for the joined-up picture: choosing a matched child, likely duplicates and merges,
the household, and sharing a concern with the front door.

Every record is looked up through its selector first (404 to outsiders); an action the person
may not take on a record they can see is a 403. Ids only in addresses.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agencies.capabilities import agencies_with_capability, user_has_capability
from referrals.audit import audit_record_many
from referrals.children.household import household_member_add
from referrals.children.joined_up import authority_children, child_duplicates_for_user, child_merges
from referrals.children.matching import MatchQuery, score_candidate
from referrals.children.merge import (
    child_match_choose,
    child_match_reject,
    child_merge,
    child_unmerge,
)
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child
from referrals.patterns.services import concern_share_with_authority
from referrals.visibility import child_get_for_user, concern_get_for_user, user_is_authority_staff
from referrals.web.forms.children import ChildSearchForm
from referrals.web.forms.joined_up import ConcernShareForm, HouseholdMemberForm, UnmergeForm
from referrals.web.views.drafting import CAPABILITY, SEARCH_SESSION_KEY, acting_agency
from safeguarding.http import AuthenticatedHttpRequest


@login_required
@require_POST
def child_choose(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """The person chose a child the search offered: the match decision is audited."""
    if kind not in CAPABILITY:
        raise Http404
    acting_agency(request, kind)
    child = child_get_for_user(user=request.user, pk=pk)
    form = ChildSearchForm(request.session.get(SEARCH_SESSION_KEY))
    match = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = MatchQuery(
            data["first_name"],
            data["last_name"],
            data["date_of_birth"],
            data["postcode"],
            data["nhs_number"],
        )
        match = score_candidate(query, child)
    child_match_choose(user=request.user, child=child, match=match)
    request.session.pop(SEARCH_SESSION_KEY, None)
    name = "concern-new" if kind == "concern" else "referral-new"
    return redirect(name, child.pk)


def _authority_child(request: AuthenticatedHttpRequest, pk: int) -> Child:
    """A child the person may see, and whose authority's social care they work in (else 403)."""
    child = child_get_for_user(user=request.user, pk=pk)
    if not user_is_authority_staff(user=request.user, child=child):
        raise PermissionDenied
    return child


def _may(request: AuthenticatedHttpRequest, child: Child, capability: str) -> bool:
    return any(
        user_has_capability(user=request.user, capability=capability, agency=agency)
        for agency in child.local_authority.agencies.filter(kind="csc")
    )


@login_required
def child_matches_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Likely other records of the child in the authority, and the merges that stand."""
    child = _authority_child(request, pk)
    matches = child_duplicates_for_user(user=request.user, child=child)
    merges = list(child_merges(child=child))
    shown = [m.child for m in matches] + [d.duplicate for d in merges]
    if shown:
        audit_record_many(
            actor=request.user, action=AuditAction.LIST, targets=shown, data={"matching": True}
        )
    return render(
        request,
        "referrals/child_matches.html",
        {
            "child": child,
            "matches": matches,
            "merges": merges,
            "may_merge": _may(request, child, "referrals.merge_child"),
            "may_unmerge": _may(request, child, "referrals.unmerge_child"),
            "unmerge_form": UnmergeForm(),
        },
    )


def _other(child: Child, other_pk: int) -> Child:
    """The other record: one of the authority's own, standing alone; 404 otherwise."""
    other = authority_children(child).filter(pk=other_pk).first()
    if other is None:
        raise Http404
    return other


@login_required
@require_POST
def child_merge_view(request: AuthenticatedHttpRequest, pk: int, other_pk: int) -> HttpResponse:
    child = _authority_child(request, pk)
    other = _other(child, other_pk)
    if not _may(request, child, "referrals.merge_child"):
        raise PermissionDenied
    try:
        child_merge(user=request.user, kept=child, duplicate=other)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Record #{other.pk} is merged into this child's record. A manager can undo this.",
        )
    return redirect("child-matches", pk=child.pk)


@login_required
@require_POST
def child_not_match_view(request: AuthenticatedHttpRequest, pk: int, other_pk: int) -> HttpResponse:
    child = _authority_child(request, pk)
    other = _other(child, other_pk)
    if not _may(request, child, "referrals.merge_child"):
        raise PermissionDenied
    try:
        child_match_reject(user=request.user, child=child, other=other)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Record #{other.pk} will not be offered as this child again.")
    return redirect("child-matches", pk=child.pk)


@login_required
@require_POST
def child_unmerge_view(
    request: AuthenticatedHttpRequest, pk: int, decision_pk: int
) -> HttpResponse:
    child = _authority_child(request, pk)
    decision = child_merges(child=child).filter(pk=decision_pk).first()
    if decision is None:
        raise Http404
    if not _may(request, child, "referrals.unmerge_child"):
        raise PermissionDenied
    form = UnmergeForm(request.POST)
    if form.is_valid():
        try:
            child_unmerge(user=request.user, decision=decision, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Record #{decision.duplicate_id} stands alone again.")
    else:
        messages.error(request, "Enter why the merge is wrong.")
    return redirect("child-matches", pk=child.pk)


@login_required
def household_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Link an adult to the child: a parent, carer, a parent's partner, someone living there."""
    child = child_get_for_user(user=request.user, pk=pk)
    agencies = agencies_with_capability(user=request.user, capability="referrals.add_concern")
    if not agencies:
        raise PermissionDenied
    form = HouseholdMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            household_member_add(
                user=request.user, agency=agencies[0], child=child, **form.member_fields()
            )
        except ApplicationError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "The adult is linked to the child and in the chronology.")
            return redirect("child-detail", pk=child.pk)
    return render(
        request,
        "referrals/household_add.html",
        {"child": child, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def concern_share_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A lead shares a low-level concern with the front door, without a referral."""
    concern = concern_get_for_user(user=request.user, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not user_has_capability(
        user=request.user, capability="referrals.review_concern", agency=concern.agency
    ):
        raise PermissionDenied
    form = ConcernShareForm(request.POST, prefix="share")
    if form.is_valid():
        try:
            concern_share_with_authority(
                concern=concern, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "The concern is shared with the front door.")
    else:
        messages.error(request, "Enter why you are sharing this concern.")
    return redirect(reverse("concern-detail", args=[concern.pk]))
