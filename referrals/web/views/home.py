"""Browser pages: views call selectors and services, nothing else."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from referrals.casework.home import home_for_user
from referrals.visibility import referral_get_for_user
from referrals.web.views.triage import referral_page
from safeguarding.http import AuthenticatedHttpRequest


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What needs this person now, by the roles they hold."""
    now = timezone.now()
    page = home_for_user(user=request.user, now=now)
    return render(
        request,
        "referrals/home.html",
        {
            "cards": page.cards,
            "queue": page.queue,
            "unread": page.unread,
            "memberships": page.memberships,
            "now": now,
            "drafts": page.drafts,
            "may_record": page.may_record,
            "may_refer": page.may_refer,
        },
    )


@login_required
def referral_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One referral as its reader may see it (team, referrer or partner), with their actions."""
    return referral_page(request, referral_get_for_user(user=request.user, pk=pk))
