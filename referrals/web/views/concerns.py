"""Pages for recording concerns: the concern form with its drafts and body map, the concern's
page, the safeguarding lead's review and addenda."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_POST

from agencies.capabilities import agencies_with_capability, user_has_capability
from agencies.models import Agency
from referrals.audit import audit_record_many
from referrals.casework.home import (
    CONCERN_ORDERS,
    CONCERN_URGENCY_ORDER,
    ConcernFilters,
    concerns_filtered,
    concerns_recorded_for_user,
)
from referrals.concerns.drafts import DraftChanged, draft_discard, draft_save
from referrals.concerns.selectors import concern_review_queue_for_user
from referrals.concerns.services import addendum_create, concern_review, concern_submit
from referrals.core.choices import CONCERN_CATEGORY_CHOICES
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, Concern, Draft
from referrals.outbox.inbox import notifications_read_for_record
from referrals.visibility import (
    child_get_for_user,
    concern_get_for_user,
    draft_get_for_user,
    draft_list_for_user,
    draft_version_for,
    referral_list_for_user,
    scope_for_user,
    user_may_add_to_concern,
)
from referrals.web.forms.concerns import (
    BODY_REGION_LABELS,
    BODY_REGIONS,
    AddendumForm,
    ConcernForm,
    ConcernReviewForm,
    injuries_from,
)
from referrals.web.forms.joined_up import ConcernShareForm
from referrals.web.forms.lists import ConcernFilterForm
from referrals.web.views.drafting import (
    acting_agency,
    autosave,
    draft_payload,
    initial_from,
    posted,
    posted_version,
    visible_child,
)
from referrals.web.views.lists import list_filtering, list_page
from safeguarding.http import AuthenticatedHttpRequest

# The concern form ----------------------------------------------------------------------------


def _edit_injuries(payload: dict[str, list[str]], post: QueryDict) -> dict[str, list[str]]:
    """The no-script body map: add a row for the chosen region, or remove one."""
    regions = list(payload.get("injury_region", []))
    notes = list(payload.get("injury_note", []))
    notes = (notes + [""] * len(regions))[: len(regions)]
    region = post.get("injury_add_region", "")
    if "add_injury" in post and region in BODY_REGION_LABELS:
        regions.append(region)
        notes.append("")
    if "remove_injury" in post:
        try:
            index = int(post.get("remove_injury", ""))
        except ValueError:
            index = -1
        if 0 <= index < len(regions):
            del regions[index]
            del notes[index]
    payload = {k: v for k, v in payload.items() if k != "injury_add_region"}
    payload["injury_region"], payload["injury_note"] = regions, notes
    return payload


def _concern_form_page(
    request: AuthenticatedHttpRequest,
    *,
    child: Child,
    agency: Agency,
    form: ConcernForm,
    version: int,
    restored: bool = False,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "referrals/concern_form.html",
        {
            "form": form,
            "child": child,
            "agency": agency,
            "restored": restored,
            "error": error,
            "draft_version": max(version, 0),
            "injuries": form.injuries,
            "regions": BODY_REGIONS,
            "front_door_phone": child.local_authority.front_door_phone
            or agency.local_authority.front_door_phone,
        },
    )


def _save_draft(
    request: AuthenticatedHttpRequest,
    *,
    child: Child,
    agency: Agency,
    payload: dict[str, list[str]],
) -> int:
    """Store the posted answers as the draft at the posted version; the version the page
    should carry next. Refused (raises) when older than the stored draft."""
    draft = draft_save(
        user=request.user,
        agency=agency,
        child=child,
        kind=Draft.Kind.CONCERN,
        payload=payload,
        version=posted_version(request.POST),
    )
    return draft.version


def _refused_version(request: AuthenticatedHttpRequest, exc: ApplicationError) -> int:
    """After a refused save the page carries the stored version when the save was older than
    it, so submitting or saving again keeps what is on the page."""
    return exc.version if isinstance(exc, DraftChanged) else posted_version(request.POST)


def _concern_draft_edit(
    request: AuthenticatedHttpRequest, *, child: Child, agency: Agency
) -> HttpResponse:
    """Save the draft as it stands: the no-script body map's buttons and "Save draft"."""
    here = reverse("concern-new", args=[child.pk])
    payload = _edit_injuries(draft_payload(request.POST), request.POST)
    try:
        _save_draft(request, child=child, agency=agency, payload=payload)
    except ApplicationError as exc:
        # Not saved: the page again, with what was typed on it and why.
        form = ConcernForm(initial=initial_from(payload, ("categories",)))
        form.injuries = injuries_from(MultiValueDict(payload))
        version = _refused_version(request, exc)
        return _concern_form_page(
            request, child=child, agency=agency, form=form, version=version, error=exc.message
        )
    if "save_draft" not in request.POST:
        return redirect(f"{here}#injuries")
    messages.success(
        request,
        "Your draft is saved. You can come back to it from your home page. "
        "Files are not kept in drafts: choose them again when you submit.",
    )
    return redirect(here)


def _concern_submit(
    request: AuthenticatedHttpRequest, *, child: Child, agency: Agency
) -> HttpResponse:
    """Record the concern; if it cannot be, keep what was typed as the draft and say why."""
    form = ConcernForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            concern = concern_submit(
                user=request.user,
                agency=agency,
                child=child,
                upload=form.cleaned_data["attachment"],
                # Above every save the form's script sent: none of them arriving late reopens it.
                draft_version=posted_version(request.POST),
                **form.concern_fields(),
            )
        except ApplicationError as exc:
            form.apply_error(exc)
        else:
            messages.success(
                request, f"Concern #{concern.pk} recorded. Your safeguarding lead has been told."
            )
            return redirect("concern-detail", pk=concern.pk)
    try:
        version = _save_draft(
            request, child=child, agency=agency, payload=draft_payload(request.POST)
        )
    except ApplicationError as exc:
        form.apply_error(exc)
        version = _refused_version(request, exc)
    return _concern_form_page(request, child=child, agency=agency, form=form, version=version)


@login_required
def concern_new(request: AuthenticatedHttpRequest, child_pk: int) -> HttpResponse:
    """Record a concern about a child. Saved as a draft as it is typed; never lost."""
    kind = Draft.Kind.CONCERN
    agency = acting_agency(request, kind)
    if request.method == "POST" and "autosave" in request.POST:
        return autosave(request, agency=agency, child=visible_child(request, child_pk), kind=kind)
    child = child_get_for_user(user=request.user, pk=child_pk)
    if request.method == "POST" and {"add_injury", "remove_injury", "save_draft"} & set(
        request.POST
    ):
        return _concern_draft_edit(request, child=child, agency=agency)
    if request.method == "POST":
        return _concern_submit(request, child=child, agency=agency)
    draft = draft_get_for_user(user=request.user, kind=kind, child=child)
    # Nothing is chosen for the person: not the urgency, not the day, not the time.
    form = ConcernForm(initial=initial_from(draft.payload, ("categories",)) if draft else {})
    if draft is not None:
        form.injuries = injuries_from(MultiValueDict(draft.payload))
    # From the stored draft even when closed (submitted): this form's saves are numbered above.
    version = draft_version_for(user=request.user, kind=kind, child=child)
    return _concern_form_page(
        request, child=child, agency=agency, form=form, version=version, restored=bool(draft)
    )


@login_required
@require_POST
def draft_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    draft = draft_list_for_user(user=request.user).filter(pk=pk).first()
    if draft is None:
        raise Http404
    draft_discard(user=request.user, draft=draft)
    messages.success(request, "The draft was deleted.")
    # Back to the page it was deleted from: the drafts list, or the home page's banner.
    return redirect("draft-list" if request.POST.get("back") == "drafts" else "home")


# A concern, its review, addenda and files ----------------------------------------------------


def _concern_page(
    request: AuthenticatedHttpRequest,
    concern: Concern,
    addendum_form: AddendumForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    return render(
        request,
        "referrals/concern_detail.html",
        {
            "concern": concern,
            "addenda": concern.addenda.select_related("author"),
            "attachments": concern.attachments.select_related("uploaded_by"),
            "referrals": referral_list_for_user(user=user).filter(concerns=concern),
            "may_add": user_may_add_to_concern(user=user, concern=concern),
            "may_review": concern.status == Concern.Status.NEW
            and user_has_capability(
                user=user, capability="referrals.review_concern", agency=concern.agency
            ),
            "may_refer": concern.review_outcome == Concern.Outcome.REFER
            and user_has_capability(
                user=user, capability="referrals.add_referral", agency=concern.agency
            ),
            "form": addendum_form or AddendumForm(),
            "category_choices": CONCERN_CATEGORY_CHOICES,
            "may_share": concern.shared_with_authority_id is None
            and user_has_capability(
                user=user, capability="referrals.review_concern", agency=concern.agency
            ),
            "share_form": ConcernShareForm(prefix="share"),
        },
        status=status,
    )


@login_required
def concern_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    concern = concern_get_for_user(user=request.user, pk=pk)
    notifications_read_for_record(user=request.user, concern=concern)
    return _concern_page(request, concern)


@login_required
@require_POST
def concern_addendum(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    concern = concern_get_for_user(user=request.user, pk=pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            addendum_create(user=request.user, concern=concern, text=form.cleaned_data["text"])
        except ApplicationError as exc:
            form.apply_error(exc, "text")
        else:
            messages.success(request, "Your addition to the concern was saved.")
            return redirect("concern-detail", pk=concern.pk)
    return _concern_page(request, concern, form, status=400)


@login_required
def concern_review_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The lead's decision on a concern, with the reason."""
    concern = concern_get_for_user(user=request.user, pk=pk)
    if not user_has_capability(
        user=request.user, capability="referrals.review_concern", agency=concern.agency
    ):
        raise PermissionDenied
    form = ConcernReviewForm(posted(request)[0])
    if request.method == "POST" and form.is_valid():
        try:
            concern = concern_review(
                concern=concern,
                user=request.user,
                outcome=form.cleaned_data["outcome"],
                rationale=form.cleaned_data["rationale"],
            )
        except ApplicationError as exc:
            form.apply_error(exc)
        else:
            if concern.review_outcome == Concern.Outcome.REFER:
                messages.success(request, "Review saved. Now make the referral.")
                url = reverse("referral-new", args=[concern.child_id])
                return redirect(f"{url}?concern={concern.pk}")
            messages.success(request, f"Concern #{concern.pk} reviewed.")
            return redirect("concern-list")
    return render(request, "referrals/concern_review.html", {"concern": concern, "form": form})


def _concern_lists(
    request: AuthenticatedHttpRequest, only: str, filters: ConcernFilters, search_key: str
) -> dict[str, Any]:
    """The review queue and the person's own concerns, each a page, as `only` asks."""
    user = request.user
    is_lead = bool(scope_for_user(user).lead_agency_ids)
    query = filters.query()
    if filters.search:
        query["search"] = search_key
    queue = mine = None
    if only == "queue" or (is_lead and not only and filters.status != Concern.Status.REVIEWED):
        queue = list_page(
            request,
            concerns_filtered(concern_review_queue_for_user(user=user), filters=filters),
            order=filters.order(CONCERN_URGENCY_ORDER),
            query={**query, "status": Concern.Status.NEW},
            paged=only == "queue",
        )
    if only != "queue":
        mine = list_page(
            request,
            concerns_filtered(concerns_recorded_for_user(user=user), filters=filters),
            order=filters.order(CONCERN_ORDERS[1]),
            query={**query, "mine": "1"},
            paged=bool(only),
        )
    shown = {c.pk: c for c in [*(queue.rows if queue else []), *(mine.rows if mine else [])]}
    if shown:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=shown.values())
    return {
        "queue": queue.rows if queue else [],
        "queue_pages": queue,
        "mine": mine.rows if mine else [],
        "mine_pages": mine,
        "is_lead": is_lead,
    }


def _only(filters: ConcernFilters, is_lead: bool) -> str:
    """`status=new` for a lead is the review queue alone; `mine=1` the person's own alone."""
    if filters.status == Concern.Status.NEW and is_lead and not filters.mine:
        return "queue"
    return "mine" if filters.mine else ""


@login_required
def concern_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The lead's review queue (most urgent, oldest first) and the concerns the person raised;
    `?status=new` shows only the first and `?mine=1` only the second, as the home page's
    cards count them. Searched by child's name or number (posted) and filtered."""
    filtering, filters = list_filtering(
        request,
        ConcernFilterForm,
        lambda term: ConcernFilters.from_query(request.GET, search=term),
        orders=CONCERN_ORDERS,
        default="Usual order",
    )
    if filtering.redirect is not None:
        return filtering.redirect
    only = _only(filters, bool(scope_for_user(request.user).lead_agency_ids))
    may_record = agencies_with_capability(user=request.user, capability="referrals.add_concern")
    return render(
        request,
        "referrals/concern_list.html",
        {
            **_concern_lists(request, only, filters, filtering.search_key),
            "only": only,
            **filtering.context(filters),
            "may_record": bool(may_record),
            "now": timezone.now(),
        },
        status=400 if filtering.form.errors else 200,
    )
