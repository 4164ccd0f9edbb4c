"""Files on concerns and referrals: adding one, and the one way a file leaves the service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from referrals.concerns.attachments import attachment_create
from referrals.core.errors import ApplicationError
from referrals.models import Concern, Referral
from referrals.visibility import (
    attachment_get_for_user,
    concern_get_for_user,
    referral_get_for_user,
    user_may_add_to_concern,
    user_may_add_to_referral,
)
from referrals.web.forms.concerns import AttachmentForm
from referrals.web.views.drafting import posted
from safeguarding.http import AuthenticatedHttpRequest


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
