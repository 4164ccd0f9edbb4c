"""'Who has seen this': a record's access log, for safeguarding leads and managers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from referrals.visibility import (
    access_log_for_user,
    child_get_for_user,
    referral_get_for_user,
    user_may_read_access_log,
)
from safeguarding.http import AuthenticatedHttpRequest


@login_required
def child_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    child = child_get_for_user(user=request.user, pk=pk)  # 404 to outsiders, audited
    if not user_may_read_access_log(user=request.user):
        raise PermissionDenied
    events = access_log_for_user(user=request.user, child=child)
    return render(
        request,
        "referrals/access_log.html",
        {
            "events": events,
            "record": f"Child #{child.pk}",
            "back": reverse("child-detail", args=[child.pk]),
        },
    )


@login_required
def referral_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = referral_get_for_user(user=request.user, pk=pk)
    if not user_may_read_access_log(user=request.user):
        raise PermissionDenied
    events = access_log_for_user(user=request.user, referral=referral)
    return render(
        request,
        "referrals/access_log.html",
        {
            "events": events,
            "record": f"Referral #{referral.pk}",
            "back": reverse("referral-detail", args=[referral.pk]),
        },
    )
