"""What the concern and referral forms share: the acting agency, drafts saved as people type."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone

from agencies.capabilities import agencies_with_capability
from agencies.models import Agency
from referrals.concerns.drafts import DraftChanged, draft_save
from referrals.core.errors import ApplicationError
from referrals.models import Child, Draft
from referrals.visibility import child_list_for_user
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
    "draft_version",
}
VERSION_FIELD = "draft_version"


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


def posted_version(post: QueryDict) -> int:
    """The version a form or its script sent with a save: 0 when none (the oldest of all), -1
    when it is not a number (refused by the service as bad input)."""
    text = post.get(VERSION_FIELD, "").strip()
    if not text:
        return 0
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else -1


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
    """The background save the form's script makes every few seconds and when a field is left.

    The reply carries the stored version, so the script's next save is numbered above it."""
    try:
        draft = draft_save(
            user=request.user,
            agency=agency,
            child=child,
            kind=kind,
            payload=draft_payload(request.POST),
            version=posted_version(request.POST),
        )
    except DraftChanged as exc:
        body = {"saved": False, "message": exc.message, "version": exc.version}
        return JsonResponse(body, status=409)
    except ApplicationError as exc:
        return JsonResponse({"saved": False, "message": exc.message}, status=400)
    saved_at = timezone.localtime(draft.updated_at)
    return JsonResponse(
        {"saved": True, "message": f"Draft saved at {saved_at:%H:%M:%S}", "version": draft.version}
    )
