"""The home page's reads: what needs this person now, by the roles they hold.

Every card counts a list the person can open, already filtered. The card and the list's page
call the same function for it (`referral_list_filtered`, `concerns_recorded_for_user` and the
review queue here, `referral_queue_filtered` for the front door, the drafts selector), so the
count and the list's length cannot drift apart.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from agencies.capabilities import agencies_with_capability
from agencies.models import Membership, User
from referrals.audit import audit_record_many
from referrals.casework.queue import (
    ESCALATED_TO_ME,
    Ownership,
    QueueFilters,
    manager_teams_for_user,
    referral_queue_filtered,
)
from referrals.concerns.selectors import concern_review_queue_for_user
from referrals.core import states
from referrals.models import AuditAction, Concern, Draft, Notification, OutcomeRead, Referral
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
    # The list the count counts, filtered; the page links to it when there is something in it.
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


def _url(name: str, query: dict[str, str]) -> str:
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


# The lists the cards open --------------------------------------------------------------------


class Waiting:
    """What the Referrals page's `waiting` filter shows: the referrer's side is waiting for..."""

    QUESTION = "question"  # ...the referrer: the front door asked a question
    OUTCOME = "outcome"  # ...the front door: still open, no outcome yet


# The Referrals page's `outcome` filter: decided, and this person has not opened it since.
OUTCOME_UNREAD = "unread"


@dataclass(frozen=True)
class ReferralFilters:
    """The Referrals page's filters (its own referrals, or those shared with the agency)."""

    waiting: str = ""
    outcome: str = ""
    shared: bool = False

    @classmethod
    def from_query(cls, query: Any) -> ReferralFilters:
        """Filters from the query string; anything unknown is ignored, never an error."""
        waiting = query.get("waiting", "")
        return cls(
            waiting=waiting if waiting in (Waiting.QUESTION, Waiting.OUTCOME) else "",
            outcome=OUTCOME_UNREAD if query.get("outcome") == OUTCOME_UNREAD else "",
            shared=query.get("shared") == "1",
        )

    def query(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "waiting": self.waiting,
            "outcome": self.outcome,
            "shared": "1" if self.shared else "",
        }
        return {key: value for key, value in values.items() if value}


def referrals_made_for_user(*, user: User) -> QuerySet[Referral]:
    """The person's referrer side: what they referred, and for leads what their agency did."""
    scope = scope_for_user(user)
    return referral_list_for_user(user=user).filter(
        Q(referrer=user) | Q(referring_agency_id__in=scope.lead_agency_ids)
    )


def referrals_shared_for_user(*, user: User) -> QuerySet[Referral]:
    """Referrals the person sees only because another agency shared them with theirs."""
    scope = scope_for_user(user)
    return referral_list_for_user(user=user).exclude(
        Q(referrer=user)
        | Q(referring_agency_id__in=scope.lead_agency_ids)
        | Q(team_id__in=scope.team_ids)
        | Q(local_authority_id__in=scope.authority_ids)
    )


def referral_list_filtered(*, user: User, filters: ReferralFilters) -> QuerySet[Referral]:
    """The Referrals page's rows under `filters`, unordered: what the referrer's cards count."""
    if filters.shared:
        return referrals_shared_for_user(user=user)
    referrals = referrals_made_for_user(user=user)
    if filters.waiting == Waiting.QUESTION:
        # Answering moves the status on, so an answered question leaves this list by itself.
        question = (states.ReferralStatus.INFORMATION_REQUESTED,)
        referrals = referrals.filter(states.status_q(question))
    elif filters.waiting == Waiting.OUTCOME:
        referrals = referrals.filter(states.status_q(states.OPEN))
    if filters.outcome == OUTCOME_UNREAD:
        read = OutcomeRead.objects.filter(user=user, referral=OuterRef("pk"))
        referrals = referrals.filter(decided_at__isnull=False).exclude(Exists(read))
    return referrals


def concerns_recorded_for_user(*, user: User) -> QuerySet[Concern]:
    """The concerns the person recorded, newest first."""
    return (
        concern_list_for_user(user=user)
        .filter(raised_by=user)
        .select_related("child")
        .order_by("-created_at", "-id")
    )


# The cards, by role --------------------------------------------------------------------------


def _queue_card(user: User, now: datetime.datetime, title: str, hint: str, **kw: Any) -> Card:
    filters = QueueFilters(**kw)
    count = referral_queue_filtered(user=user, filters=filters, now=now).count()
    return Card(title, count, hint, _url("referral-queue", filters.query()))


def _front_door(home: Home, user: User, scope: Scope, now: datetime.datetime) -> None:
    """The front door's cards (a manager's too) and the top of its queue."""
    manager = bool(manager_teams_for_user(user=user))
    home.cards.append(
        _queue_card(
            user,
            now,
            "Waiting to be acknowledged",
            "Acknowledge within one working day; 'straight away' ones within an hour.",
            status=states.ReferralStatus.SUBMITTED,
        )
    )
    if scope.team_ids:
        home.cards.append(
            _queue_card(
                user, now, "Your referrals", "Yours, by next deadline.", owner=Ownership.MINE
            )
        )
    if manager:
        home.cards += [
            _queue_card(user, now, "Overdue now", "Past the statutory clock.", overdue=True),
            _queue_card(
                user,
                now,
                "Escalated to you",
                "Past their deadline: the escalation came to you.",
                escalated=ESCALATED_TO_ME,
            ),
        ]
    home.cards.append(
        _queue_card(
            user,
            now,
            "Unassigned" if manager else "Unassigned in your team",
            "Nobody owns them yet.",
            owner=Ownership.UNASSIGNED,
        )
    )
    home.queue = list(
        referral_queue_filtered(user=user, filters=QueueFilters(), now=now)
        .select_related("child", "referring_agency", "owner")
        .order_by("urgency_rank", "decision_due_at", "id")[:HOME_QUEUE_ROWS]
    )


def _referral_card(user: User, title: str, hint: str, filters: ReferralFilters) -> Card:
    count = referral_list_filtered(user=user, filters=filters).count()
    return Card(title, count, hint, _url("referral-mine", filters.query()))


def _referrer(home: Home, user: User) -> None:
    """The referrer's side: questions to answer, outcomes to read, what is still open."""
    home.cards += [
        _referral_card(
            user,
            "Questions waiting",
            "The front door asked you something: answer it on the referral.",
            ReferralFilters(waiting=Waiting.QUESTION),
        ),
        _referral_card(
            user,
            "Outcomes to read",
            "The authority has decided and sent feedback.",
            ReferralFilters(outcome=OUTCOME_UNREAD),
        ),
        _referral_card(
            user,
            "Your referrals awaiting an outcome",
            "Sent to children's social care.",
            ReferralFilters(waiting=Waiting.OUTCOME),
        ),
    ]


def _concern_cards(home: Home, user: User, scope: Scope) -> None:
    if scope.lead_agency_ids:
        home.cards.append(
            Card(
                "Concerns to review",
                concern_review_queue_for_user(user=user).count(),
                "New concerns recorded by your colleagues.",
                _url("concern-list", {"status": "new"}),
            )
        )
    if not scope.lead_agency_ids and not scope.team_ids:
        home.cards.append(
            Card(
                "Concerns you recorded",
                concerns_recorded_for_user(user=user).count(),
                "Only you and your safeguarding leads can see them.",
                _url("concern-list", {"mine": "1"}),
            )
        )


def _shared(home: Home, user: User, scope: Scope) -> None:
    """A partner's card: referrals another agency shared with theirs."""
    if scope.group_ids and not (scope.team_ids or scope.authority_ids):
        filters = ReferralFilters(shared=True)
        home.cards.append(
            _referral_card(
                user,
                "Shared with your agency",
                "Referrals another agency shared with yours.",
                filters,
            )
        )


def home_for_user(*, user: User, now: datetime.datetime) -> Home:
    """The cards, queue and drafts the person's roles call for; the records listed are audited."""
    scope = scope_for_user(user)
    home = Home()
    if scope.team_ids or scope.authority_ids:
        _front_door(home, user, scope, now)
    _concern_cards(home, user, scope)
    if scope.lead_agency_ids or referrals_made_for_user(user=user).exists():
        _referrer(home, user)
    _shared(home, user, scope)
    home.unread = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()
    if home.queue:
        audit_record_many(actor=user, action=AuditAction.LIST, targets=home.queue)
    # Drafts are offered back here after signing in again: nothing typed is lost.
    home.drafts = list(draft_list_for_user(user=user))
    if home.drafts:
        home.cards.append(
            Card(
                "Drafts",
                len(home.drafts),
                "Forms you started and have not sent yet.",
                reverse("draft-list"),
            )
        )
        children = {draft.child_id: draft.child for draft in home.drafts}
        audit_record_many(actor=user, action=AuditAction.LIST, targets=children.values())
    home.memberships = user.memberships.select_related("agency", "team").order_by("agency__name")
    home.may_record = bool(agencies_with_capability(user=user, capability="referrals.add_concern"))
    home.may_refer = bool(agencies_with_capability(user=user, capability="referrals.add_referral"))
    return home
