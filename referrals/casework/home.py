"""The home page's reads: what needs this person now, by the roles they hold.

Every card counts a list the person can open, already filtered. The card and the list's page
call the same function for it (`referral_list_filtered`, `concerns_recorded_for_user` and the
review queue here, `referral_queue_filtered` for the front door, the drafts selector), so the
count and the list's length cannot drift apart.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.http import urlencode

from agencies.capabilities import agencies_with_capability
from agencies.models import Membership, User
from referrals.audit import audit_record_many
from referrals.casework.listing import DateRange, Order, Search, order_for, search_q
from referrals.casework.queue import (
    ESCALATED_TO_ME,
    Ownership,
    QueueFilters,
    manager_teams_for_user,
    referral_queue_filtered,
)
from referrals.concerns.selectors import concern_review_queue_for_user
from referrals.core import states
from referrals.core.choices import Urgency
from referrals.models import (
    AuditAction,
    Concern,
    Draft,
    Notification,
    NotificationKind,
    OutcomeRead,
    Referral,
)
from referrals.outbox.inbox import notification_list_for_user
from referrals.visibility import (
    Scope,
    concern_list_for_user,
    draft_list_for_user,
    referral_list_for_user,
    scope_for_user,
)

HOME_QUEUE_ROWS = 10
# Straight away, today, at the next review: the order "most urgent first" sorts concerns in.
URGENCY_RANK = Case(
    When(urgency=Urgency.IMMEDIATE, then=Value(0)),
    When(urgency=Urgency.URGENT, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


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


# The Referrals page's orders: the newest first by default.
REFERRAL_ORDERS = (
    Order("newest", "Newest first", ("-created_at", "-id")),
    Order("oldest", "Oldest first", ("created_at", "id")),
)
# What the Referrals page's status filter offers: every status a sent referral can have.
REFERRAL_STATUSES: tuple[str, ...] = states.RECEIVED


def _choice(query: Any, name: str, allowed: Iterable[str]) -> str:
    value = query.get(name, "")
    return value if value in allowed else ""


@dataclass(frozen=True)
class ReferralFilters:
    """The Referrals page's filters (its own referrals, or those shared with the agency)."""

    waiting: str = ""
    outcome: str = ""
    shared: bool = False
    status: str = ""
    urgency: str = ""
    made: DateRange = field(default_factory=DateRange)
    sort: str = ""
    # A child's name or a referral number: kept out of `query()` (never in a URL).
    search: str = ""

    @classmethod
    def from_query(cls, query: Any, *, search: str = "") -> ReferralFilters:
        """Filters from the query string; anything unknown is ignored, never an error."""
        return cls(
            waiting=_choice(query, "waiting", (Waiting.QUESTION, Waiting.OUTCOME)),
            outcome=_choice(query, "outcome", (OUTCOME_UNREAD,)),
            shared=query.get("shared") == "1",
            status=_choice(query, "status", REFERRAL_STATUSES),
            urgency=_choice(query, "urgency", Urgency.values),
            made=DateRange.from_query(query),
            sort=order_for(REFERRAL_ORDERS, query.get("sort", "")).key,
            search=search,
        )

    @property
    def order(self) -> Order:
        return order_for(REFERRAL_ORDERS, self.sort)

    def query(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "waiting": self.waiting,
            "outcome": self.outcome,
            "shared": "1" if self.shared else "",
            "status": self.status,
            "urgency": self.urgency,
            **self.made.query(),
            "sort": "" if self.order == REFERRAL_ORDERS[0] else self.order.key,
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


def _narrowed(
    records: QuerySet[Any], *, status: str, urgency: str, dates: DateRange, search: str
) -> QuerySet[Any]:
    """A list's rows narrowed by the filters every list has; `dates` on when it was made."""
    if status:
        records = records.filter(status=status)
    if urgency:
        records = records.filter(urgency=urgency)
    if dates.since or dates.until:
        records = records.filter(dates.q("created_at"))
    if search:
        records = records.filter(search_q(search))
    return records


def referral_list_filtered(*, user: User, filters: ReferralFilters) -> QuerySet[Referral]:
    """The Referrals page's rows under `filters`, unordered: what the referrer's cards count."""
    narrowed = partial(
        _narrowed,
        status=filters.status,
        urgency=filters.urgency,
        dates=filters.made,
        search=filters.search,
    )
    if filters.shared:
        return narrowed(referrals_shared_for_user(user=user))
    referrals = narrowed(referrals_made_for_user(user=user))
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


# The concern list's orders: the review queue is most urgent first by default, the person's own
# concerns newest first; a chosen order applies to both.
CONCERN_URGENCY_ORDER = Order(
    "urgency", "Most urgent first, then the oldest", ("urgency_rank", "created_at", "id")
)
CONCERN_ORDERS = (
    CONCERN_URGENCY_ORDER,
    Order("newest", "Newest first", ("-created_at", "-id")),
    Order("oldest", "Oldest first", ("created_at", "id")),
)


@dataclass(frozen=True)
class ConcernFilters:
    """The concern list's filters. `status=new` for a lead is the review queue alone and
    `mine=1` the person's own concerns alone, as the home page's cards count them."""

    mine: bool = False
    status: str = ""
    urgency: str = ""
    recorded: DateRange = field(default_factory=DateRange)
    sort: str = ""  # empty: each list's own order
    search: str = ""  # never in `query()`

    @classmethod
    def from_query(cls, query: Any, *, search: str = "") -> ConcernFilters:
        sort = query.get("sort", "")
        return cls(
            mine=query.get("mine") == "1",
            status=_choice(query, "status", Concern.Status.values),
            urgency=_choice(query, "urgency", Urgency.values),
            recorded=DateRange.from_query(query),
            sort=sort if sort in {order.key for order in CONCERN_ORDERS} else "",
            search=search,
        )

    def query(self) -> dict[str, str]:
        values = {
            "mine": "1" if self.mine else "",
            "status": self.status,
            "urgency": self.urgency,
            **self.recorded.query(),
            "sort": self.sort,
        }
        return {key: value for key, value in values.items() if value}

    def order(self, default: Order) -> Order:
        return order_for(CONCERN_ORDERS, self.sort) if self.sort else default


def concerns_filtered(concerns: QuerySet[Concern], *, filters: ConcernFilters) -> QuerySet[Concern]:
    """One of the concern list's lists (the review queue, or the person's own) under `filters`,
    with the urgency rank its orders need."""
    return _narrowed(
        concerns,
        status=filters.status,
        urgency=filters.urgency,
        dates=filters.recorded,
        search=filters.search,
    ).annotate(urgency_rank=URGENCY_RANK)


# The notifications page: the newest first by default.
NOTIFICATION_ORDERS = (
    Order("newest", "Newest first", ("-created_at", "-id")),
    Order("oldest", "Oldest first", ("created_at", "id")),
)


@dataclass(frozen=True)
class NotificationFilters:
    unread: bool = False
    kind: str = ""
    sent: DateRange = field(default_factory=DateRange)
    sort: str = ""
    search: str = ""  # never in `query()`

    @classmethod
    def from_query(cls, query: Any, *, search: str = "") -> NotificationFilters:
        return cls(
            unread=query.get("unread") == "1",
            kind=_choice(query, "kind", NotificationKind.values),
            sent=DateRange.from_query(query),
            sort=order_for(NOTIFICATION_ORDERS, query.get("sort", "")).key,
            search=search,
        )

    @property
    def order(self) -> Order:
        return order_for(NOTIFICATION_ORDERS, self.sort)

    def query(self) -> dict[str, str]:
        values = {
            "unread": "1" if self.unread else "",
            "kind": self.kind,
            **self.sent.query(),
            "sort": "" if self.order == NOTIFICATION_ORDERS[0] else self.order.key,
        }
        return {key: value for key, value in values.items() if value}


def notification_list_filtered(
    *, user: User, filters: NotificationFilters
) -> QuerySet[Notification]:
    """The person's notifications under `filters`. A search by child's name finds only notices
    about records the person may still see (a share may have ended since they were told)."""
    notifications = notification_list_for_user(user=user)
    if filters.unread:
        notifications = notifications.filter(read_at__isnull=True)
    if filters.kind:
        notifications = notifications.filter(kind=filters.kind)
    if filters.sent.since or filters.sent.until:
        notifications = notifications.filter(filters.sent.q("created_at"))
    if filters.search:
        search = Search.parse(filters.search)
        if search.number is not None:
            return notifications.filter(Q(referral_id=search.number) | Q(concern_id=search.number))
        referrals = referral_list_for_user(user=user).filter(search_q(filters.search))
        concerns = concern_list_for_user(user=user).filter(search_q(filters.search))
        notifications = notifications.filter(
            Q(referral__in=referrals.values("pk")) | Q(concern__in=concerns.values("pk"))
        )
    return notifications


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
        recipient=user, in_app=True, read_at__isnull=True
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
