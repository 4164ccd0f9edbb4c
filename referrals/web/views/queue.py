"""The front door's triage queue and the managers' dashboard."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3

from referrals.audit import audit_record_many
from referrals.casework.queue import (
    QueueFilters,
    QueuePage,
    manager_teams_for_user,
    queue_teams_for_user,
    referral_list_for_manager,
    referral_queue_for_user,
    team_workload_for_user,
)
from referrals.casework.reports import team_dashboard
from referrals.models import AuditAction, Referral
from referrals.visibility import scope_for_user
from referrals.web.forms.triage import QueueFilterForm
from referrals.web.templatetags.triage import referral_deadline
from referrals.web.views.lists import Filtering, list_filtering, list_url
from safeguarding.http import AuthenticatedHttpRequest

# How often the queue page re-reads itself in the background, when script runs.
QUEUE_REFRESH_SECONDS = 60


def _queue_times(referral: Referral, now: datetime.datetime) -> dict[str, Any]:
    """A queue row's deadline, and its received time written as the `date` filter's "c" and
    "j M H:i" are."""
    # Formatted here, directly: Django's date filter was most of the time the page took to
    # render (it looks the format up and parses it again for every value). The deadline is
    # formatted directly too, by the function every page's deadline comes from, and included
    # here rather than through the `deadline` tag, which costs a little more for each row.
    times: dict[str, Any] = {
        "deadline": referral_deadline(referral, now),
        "received": "",
        "received_iso": "",
    }
    if referral.submitted_at is not None:
        received = timezone.localtime(referral.submitted_at)
        month = MONTHS_3[received.month].title()
        times["received"] = f"{received.day} {month} {received.hour:02d}:{received.minute:02d}"
        times["received_iso"] = received.isoformat()
    return times


def _queue_context(
    request: AuthenticatedHttpRequest,
    page: QueuePage,
    filtering: Filtering,
    filters: QueueFilters,
    now: datetime.datetime,
) -> dict[str, Any]:
    base = reverse("referral-queue")
    query = filtering.query(filters.query())
    return {
        "page": page,
        "rows": [(referral, _queue_times(referral, now)) for referral in page.rows],
        "form": filtering.form,
        "filtering": filtering,
        "filters": filters,
        "refresh_seconds": QUEUE_REFRESH_SECONDS,
        "first_url": list_url(base, query),
        "next_url": list_url(base, {**query, "after": page.next_cursor})
        if page.next_cursor
        else "",
        "filtered": bool(filters.query()),
    }


@login_required
def referral_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The team's triage queue: immediate risk first, then the earliest deadline; searched by
    child's name or number (posted, never in the URL) and filtered."""
    user = request.user
    scope = scope_for_user(user)
    if not (scope.team_ids or scope.authority_ids):
        raise PermissionDenied
    teams = list(queue_teams_for_user(user=user))
    filtering, filters = list_filtering(
        request,
        QueueFilterForm,
        lambda term: QueueFilters.from_query(request.GET, search=term),
        teams=teams,
    )
    if filtering.redirect is not None:
        return filtering.redirect
    now = timezone.now()
    page = referral_queue_for_user(
        user=user, filters=filters, after=request.GET.get("after", ""), now=now, teams=teams
    )
    if page.rows:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=page.rows)
    return render(
        request,
        "referrals/queue.html",
        {**_queue_context(request, page, filtering, filters, now), "now": now},
        status=400 if filtering.form.errors else 200,
    )


@login_required
def manager_dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """How the managed teams are doing against the statutory clock, and who holds what."""
    user = request.user
    teams = manager_teams_for_user(user=user)
    if not teams:
        raise PermissionDenied
    now = timezone.now()
    return render(
        request,
        "referrals/dashboard.html",
        {
            "teams": teams,
            "board": team_dashboard(referrals=referral_list_for_manager(user=user), now=now),
            "workload": team_workload_for_user(user=user, now=now),
            "now": now,
        },
    )
