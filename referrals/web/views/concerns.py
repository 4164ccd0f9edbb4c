"""Pages for recording concerns: find or add the child, the concern form with its drafts and
body map, the safeguarding lead's review, addenda, files and the child's chronology."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_POST

from agencies.capabilities import agencies_with_capability, user_has_capability
from agencies.models import Agency
from referrals.audit import audit_record_many
from referrals.children.chronology import child_chronology_for_user
from referrals.children.joined_up import joined_up_context
from referrals.children.matching import Match
from referrals.children.selectors import child_find_for_user
from referrals.children.services import child_create
from referrals.concerns.attachments import attachment_create
from referrals.concerns.drafts import draft_discard, draft_save
from referrals.concerns.selectors import concern_review_queue_for_user
from referrals.concerns.services import addendum_create, concern_review, concern_submit
from referrals.core import errors
from referrals.core.choices import CONCERN_CATEGORY_CHOICES
from referrals.core.errors import ApplicationError
from referrals.models import AuditAction, Child, Concern, Draft, Referral
from referrals.visibility import (
    attachment_get_for_user,
    child_get_for_user,
    child_list_for_user,
    concern_get_for_user,
    concern_list_for_user,
    draft_get_for_user,
    draft_list_for_user,
    referral_get_for_user,
    referral_list_for_user,
    scope_for_user,
    user_may_add_to_concern,
    user_may_add_to_referral,
    user_may_read_access_log,
)
from referrals.web.forms.concerns import (
    BODY_REGION_LABELS,
    BODY_REGIONS,
    AddendumForm,
    AttachmentForm,
    ChildForm,
    ChildSearchForm,
    ConcernForm,
    ConcernReviewForm,
    concern_initial,
    injuries_from,
)
from referrals.web.forms.joined_up import ConcernShareForm
from safeguarding.http import AuthenticatedHttpRequest

CAPABILITY: dict[str, str] = {
    Draft.Kind.CONCERN: "referrals.add_concern",
    Draft.Kind.REFERRAL: "referrals.add_referral",
}
SEARCH_SESSION_KEY = "child_search"
# Posted names that are buttons or files, never kept in a draft.
_NOT_DRAFTED = {
    "csrfmiddlewaretoken",
    "autosave",
    "save_draft",
    "add_injury",
    "remove_injury",
    "continue",
    "submit",
    "attachment",
}


# Helpers shared with the referral pages ------------------------------------------------------


def acting_agency(request: AuthenticatedHttpRequest, kind: str) -> Agency:
    """The agency the person acts for on this form (the first, by name, that allows it)."""
    agencies = agencies_with_capability(user=request.user, capability=CAPABILITY[kind])
    if not agencies:
        raise PermissionDenied
    return agencies[0]


def posted(request: AuthenticatedHttpRequest) -> tuple[Any, Any]:
    """A form's data and files when posted (even empty, so its errors show), else None."""
    if request.method == "POST":
        return request.POST, request.FILES
    return None, None


def draft_payload(post: QueryDict) -> dict[str, list[str]]:
    return {key: post.getlist(key) for key in post if key not in _NOT_DRAFTED}


def initial_from(payload: dict[str, list[str]], multiple: tuple[str, ...] = ()) -> dict[str, Any]:
    """Form initial values from a draft: one value per field, lists for multiple choices."""
    return {
        key: (values if key in multiple else (values[0] if values else ""))
        for key, values in payload.items()
    }


def visible_child(request: AuthenticatedHttpRequest, pk: int) -> Child:
    """The child for an autosave: checked by the selector; the draft write is what is audited."""
    child = child_list_for_user(user=request.user).filter(pk=pk).first()
    if child is None:
        raise Http404
    return child


def autosave(
    request: AuthenticatedHttpRequest, *, agency: Agency, child: Child, kind: str
) -> HttpResponse:
    """The background save the form's script makes every few seconds and when a field is left."""
    payload = draft_payload(request.POST)
    try:
        draft = draft_save(
            user=request.user, agency=agency, child=child, kind=kind, payload=payload
        )
    except ApplicationError as exc:
        return JsonResponse({"saved": False, "message": exc.message}, status=400)
    saved_at = timezone.localtime(draft.updated_at)
    return JsonResponse({"saved": True, "message": f"Draft saved at {saved_at:%H:%M:%S}"})


# Finding or adding the child -----------------------------------------------------------------


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
    restored: bool = False,
) -> HttpResponse:
    return render(
        request,
        "referrals/concern_form.html",
        {
            "form": form,
            "child": child,
            "agency": agency,
            "restored": restored,
            "injuries": form.injuries,
            "regions": BODY_REGIONS,
            "front_door_phone": child.local_authority.front_door_phone
            or agency.local_authority.front_door_phone,
        },
    )


def _concern_draft_edit(
    request: AuthenticatedHttpRequest, *, child: Child, agency: Agency
) -> HttpResponse:
    """Save the draft as it stands: the no-script body map's buttons and "Save draft"."""
    here = reverse("concern-new", args=[child.pk])
    payload = _edit_injuries(draft_payload(request.POST), request.POST)
    try:
        draft_save(
            user=request.user, agency=agency, child=child, kind=Draft.Kind.CONCERN, payload=payload
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(here)
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
                **form.concern_fields(),
            )
        except ApplicationError as exc:
            form.apply_error(exc)
        else:
            messages.success(
                request, f"Concern #{concern.pk} recorded. Your safeguarding lead has been told."
            )
            return redirect("concern-detail", pk=concern.pk)
    payload = draft_payload(request.POST)
    try:
        draft_save(
            user=request.user, agency=agency, child=child, kind=Draft.Kind.CONCERN, payload=payload
        )
    except ApplicationError as exc:
        form.apply_error(exc)
    return _concern_form_page(request, child=child, agency=agency, form=form)


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
    initial = initial_from(draft.payload, ("categories",)) if draft else concern_initial()
    form = ConcernForm(initial=initial)
    if draft is not None:
        form.injuries = injuries_from(MultiValueDict(draft.payload))
    return _concern_form_page(
        request, child=child, agency=agency, form=form, restored=draft is not None
    )


@login_required
@require_POST
def draft_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    draft = draft_list_for_user(user=request.user).filter(pk=pk).first()
    if draft is None:
        raise Http404
    draft_discard(user=request.user, draft=draft)
    messages.success(request, "The draft was deleted.")
    return redirect("home")


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


@login_required
def concern_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The lead's review queue (most urgent, oldest first) and the concerns the person raised."""
    user = request.user
    queue = list(concern_review_queue_for_user(user=user)[:200])
    mine = list(
        concern_list_for_user(user=user)
        .filter(raised_by=user)
        .select_related("child")
        .order_by("-created_at")[:50]
    )
    shown = {c.pk: c for c in [*queue, *mine]}
    if shown:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=shown.values())
    return render(
        request,
        "referrals/concern_list.html",
        {
            "queue": queue,
            "mine": mine,
            "is_lead": bool(scope_for_user(user).lead_agency_ids),
            "now": timezone.now(),
        },
    )


def _attach(
    request: AuthenticatedHttpRequest,
    *,
    concern: Concern | None = None,
    referral: Referral | None = None,
) -> HttpResponse:
    form = AttachmentForm(*posted(request))
    back = (
        reverse("concern-detail", args=[concern.pk])
        if concern is not None
        else reverse("referral-detail", args=[referral.pk if referral else 0])
    )
    if request.method == "POST" and form.is_valid():
        try:
            attachment_create(
                user=request.user,
                upload=form.cleaned_data["attachment"],
                concern=concern,
                referral=referral,
            )
        except ApplicationError as exc:
            form.apply_error(exc, "attachment")
        else:
            messages.success(request, "The file was added.")
            return redirect(back)
    what = f"concern #{concern.pk}" if concern else f"referral #{referral.pk if referral else ''}"
    return render(
        request,
        "referrals/attachment_form.html",
        {"form": form, "what": what, "back": back},
        status=400 if form.errors else 200,
    )


@login_required
def concern_attach(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    concern = concern_get_for_user(user=request.user, pk=pk)
    if not user_may_add_to_concern(user=request.user, concern=concern):
        raise PermissionDenied
    return _attach(request, concern=concern)


@login_required
def referral_attach(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = referral_get_for_user(user=request.user, pk=pk)
    if not user_may_add_to_referral(user=request.user, referral=referral):
        raise PermissionDenied
    return _attach(request, referral=referral)


@login_required
def attachment_download(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """The only way a file leaves the service: checked, audited, never shown in the browser."""
    attachment = attachment_get_for_user(user=request.user, pk=pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# The child's chronology ----------------------------------------------------------------------


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
