"""'Who has seen this': a record's access log, for safeguarding leads and managers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def _access_log_page(
    request: AuthenticatedHttpRequest, *, record: str, back: str, events: Callable[[], Any]
) -> HttpResponse:
    """Who has seen a record: for leads and managers who may already see the record."""
    if not user_may_read_access_log(user=request.user):
        raise PermissionDenied
    return render(
        request, "referrals/access_log.html", {"events": events(), "record": record, "back": back}
    )


@login_required
def child_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    child = child_get_for_user(user=request.user, pk=pk)  # 404 to outsiders, audited
    return _access_log_page(
        request,
        record=f"Child #{child.pk}",
        back=reverse("child-detail", args=[child.pk]),
        events=lambda: access_log_for_user(user=request.user, child=child),
    )


@login_required
def referral_access_log(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = referral_get_for_user(user=request.user, pk=pk)  # 404 to outsiders, audited
    return _access_log_page(
        request,
        record=f"Referral #{referral.pk}",
        back=reverse("referral-detail", args=[referral.pk]),
        events=lambda: access_log_for_user(user=request.user, referral=referral),
    )
