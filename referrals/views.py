"""Browser pages: views call selectors and services, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from referrals.audit import audit_record_many
from referrals.models import AuditAction, Concern, Notification, Referral
from referrals.permissions import agencies_with_capability
from referrals.selectors import (
    concern_list_for_user,
    draft_list_for_user,
    referral_get_for_user,
    referral_list_for_user,
    scope_for_user,
)
from referrals.views_triage import referral_page
from safeguarding.http import AuthenticatedHttpRequest

HOME_QUEUE_ROWS = 10


@dataclass(frozen=True)
class Card:
    title: str
    count: int
    hint: str
    url: str = ""


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What needs this person now, by the roles they hold."""
    user = request.user
    scope = scope_for_user(user)
    now = timezone.now()
    referrals = referral_list_for_user(user=user)
    cards: list[Card] = []
    queue: list[Referral] = []

    if scope.team_ids or scope.authority_ids:
        received = referrals.filter(
            Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids),
            status__in=Referral.AWAITING,
        )
        cards += [
            Card(
                "Waiting to be acknowledged",
                received.filter(status=Referral.Status.SUBMITTED).count(),
                "Acknowledge within one working day; immediate risk within an hour.",
            ),
            Card(
                "Overdue",
                received.filter(
                    Q(status=Referral.Status.SUBMITTED, acknowledge_due_at__lt=now)
                    | Q(decision_due_at__lt=now)
                ).count(),
                "Past the statutory clock.",
            ),
            Card("Escalated", received.filter(escalation_level__gt=0).count(), "Managers told."),
            Card("Assigned to you", received.filter(owner=user).count(), "Referrals you own."),
        ]
        queue = list(
            received.select_related("child", "referring_agency", "owner").order_by(
                "urgency_rank", "decision_due_at", "id"
            )[:HOME_QUEUE_ROWS]
        )
    if scope.lead_agency_ids:
        cards.append(
            Card(
                "Concerns to review",
                concern_list_for_user(user=user)
                .filter(agency_id__in=scope.lead_agency_ids, status=Concern.Status.NEW)
                .count(),
                "New concerns recorded by your colleagues.",
                reverse("concern-list"),
            )
        )
    made = referrals.filter(Q(referrer=user) | Q(referring_agency_id__in=scope.lead_agency_ids))
    if scope.lead_agency_ids or made.exists():
        cards.append(
            Card(
                "Your referrals awaiting an outcome",
                made.filter(status__in=Referral.AWAITING).count(),
                "Sent to children's social care.",
                reverse("referral-mine"),
            )
        )
        cards.append(
            Card(
                "Outcomes to read",
                made.filter(status=Referral.Status.DECIDED).count(),
                "The authority has decided and sent feedback.",
                reverse("referral-mine"),
            )
        )
    if not scope.lead_agency_ids and not scope.team_ids:
        cards.append(
            Card(
                "Concerns you recorded",
                concern_list_for_user(user=user).filter(raised_by=user).count(),
                "Only you and your safeguarding leads can see them.",
                reverse("concern-list"),
            )
        )
    if scope.group_ids and not (scope.team_ids or scope.authority_ids):
        cards.append(
            Card(
                "Shared with your agency",
                referrals.exclude(
                    Q(referrer=user)
                    | Q(referring_agency_id__in=scope.lead_agency_ids)
                    | Q(team_id__in=scope.team_ids)
                    | Q(local_authority_id__in=scope.authority_ids)
                ).count(),
                "Referrals another agency shared with yours.",
            )
        )
    unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()
    if queue:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=queue)
    # Drafts are offered back here after signing in again: nothing typed is lost.
    drafts = list(draft_list_for_user(user=user))
    if drafts:
        audit_record_many(
            actor=user,
            action=AuditAction.LIST,
            targets={d.child_id: d.child for d in drafts}.values(),
        )
    memberships = user.memberships.select_related("agency", "team").order_by("agency__name")
    return render(
        request,
        "referrals/home.html",
        {
            "cards": cards,
            "queue": queue,
            "unread": unread,
            "memberships": memberships,
            "now": now,
            "drafts": drafts,
            "may_record": bool(
                agencies_with_capability(user=user, capability="referrals.add_concern")
            ),
            "may_refer": bool(
                agencies_with_capability(user=user, capability="referrals.add_referral")
            ),
        },
    )


@login_required
def referral_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One referral as its reader may see it (team, referrer or partner), with their actions."""
    return referral_page(request, referral_get_for_user(user=request.user, pk=pk))
