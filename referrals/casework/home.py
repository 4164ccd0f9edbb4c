"""The home page's reads: what needs this person now, by the roles they hold."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import reverse

from agencies.capabilities import agencies_with_capability
from agencies.models import Membership, User
from referrals.audit import audit_record_many
from referrals.clocks.running import overdue_q
from referrals.core import states
from referrals.models import AuditAction, Concern, Draft, Notification, Referral
from referrals.visibility import (
    Scope,
    concern_list_for_user,
    draft_list_for_user,
    referral_list_for_user,
    scope_for_user,
)

HOME_QUEUE_ROWS = 10


@dataclass(frozen=True)
class Card:
    title: str
    count: int
    hint: str
    url: str = ""


@dataclass
class Home:
    cards: list[Card] = field(default_factory=list)
    queue: list[Referral] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    unread: int = 0
    may_record: bool = False
    may_refer: bool = False
    memberships: QuerySet[Membership] | None = None


def _front_door(
    home: Home, received: QuerySet[Referral], user: User, now: datetime.datetime
) -> None:
    """The triage team's cards and the top of its queue."""
    home.cards += [
        Card(
            "Waiting to be acknowledged",
            received.filter(states.status_q(states.AWAITING_ACKNOWLEDGEMENT)).count(),
            "Acknowledge within one working day; immediate risk within an hour.",
        ),
        Card("Overdue", received.filter(overdue_q(now)).count(), "Past the statutory clock."),
        Card("Escalated", received.filter(escalation_level__gt=0).count(), "Managers told."),
        Card("Assigned to you", received.filter(owner=user).count(), "Referrals you own."),
    ]
    home.queue = list(
        received.select_related("child", "referring_agency", "owner").order_by(
            "urgency_rank", "decision_due_at", "id"
        )[:HOME_QUEUE_ROWS]
    )


def _referrer(home: Home, made: QuerySet[Referral]) -> None:
    """The referrer's side: what is still open, and the outcomes to read."""
    home.cards += [
        Card(
            "Your referrals awaiting an outcome",
            made.filter(states.status_q(states.OPEN)).count(),
            "Sent to children's social care.",
            reverse("referral-mine"),
        ),
        Card(
            "Outcomes to read",
            made.filter(states.status_q(states.ANSWERED)).count(),
            "The authority has decided and sent feedback.",
            reverse("referral-mine"),
        ),
    ]


def _review_card(concerns: QuerySet[Concern], scope: Scope) -> Card:
    return Card(
        "Concerns to review",
        concerns.filter(agency_id__in=scope.lead_agency_ids, status=Concern.Status.NEW).count(),
        "New concerns recorded by your colleagues.",
        reverse("concern-list"),
    )


def _recorded_card(concerns: QuerySet[Concern], user: User) -> Card:
    return Card(
        "Concerns you recorded",
        concerns.filter(raised_by=user).count(),
        "Only you and your safeguarding leads can see them.",
        reverse("concern-list"),
    )


def _shared(home: Home, referrals: QuerySet[Referral], user: User, scope: Scope) -> None:
    """A partner's card: referrals another agency shared with theirs."""
    if scope.group_ids and not (scope.team_ids or scope.authority_ids):
        home.cards.append(
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


def home_for_user(*, user: User, now: datetime.datetime) -> Home:
    """The cards, queue and drafts the person's roles call for; the records listed are audited."""
    scope = scope_for_user(user)
    referrals = referral_list_for_user(user=user)
    home = Home()
    if scope.team_ids or scope.authority_ids:
        received = referrals.filter(
            Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids),
            states.status_q(states.OPEN),
        )
        _front_door(home, received, user, now)
    concerns = concern_list_for_user(user=user)
    if scope.lead_agency_ids:
        home.cards.append(_review_card(concerns, scope))
    made = referrals.filter(Q(referrer=user) | Q(referring_agency_id__in=scope.lead_agency_ids))
    if scope.lead_agency_ids or made.exists():
        _referrer(home, made)
    if not scope.lead_agency_ids and not scope.team_ids:
        home.cards.append(_recorded_card(concerns, user))
    _shared(home, referrals, user, scope)
    home.unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()
    if home.queue:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=home.queue)
    # Drafts are offered back here after signing in again: nothing typed is lost.
    home.drafts = list(draft_list_for_user(user=user))
    if home.drafts:
        children = {draft.child_id: draft.child for draft in home.drafts}
        audit_record_many(actor=user, action=AuditAction.LIST, targets=children.values())
    home.memberships = user.memberships.select_related("agency", "team").order_by("agency__name")
    home.may_record = bool(agencies_with_capability(user=user, capability="referrals.add_concern"))
    home.may_refer = bool(agencies_with_capability(user=user, capability="referrals.add_referral"))
    return home
