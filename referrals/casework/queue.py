"""Reads for the front door's working day: the triage queue, the team's workload, managers' reach.

Everything here starts from `referral_list_for_user`, so the queue can never show a referral
the person may not open.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.utils import timezone

from agencies.capabilities import agencies_with_capability
from agencies.models import AgencyKind, Team, User
from referrals.casework.listing import (
    DateRange,
    Order,
    keyset_page,
    order_for,
    search_q,
)
from referrals.clocks.running import overdue_q
from referrals.core import states
from referrals.core.choices import CinCategory, Urgency
from referrals.core.states import Clock
from referrals.models import Concern, Escalation, Referral
from referrals.outbox.recipients import team_memberships
from referrals.visibility import referral_list_for_user, scope_for_user

QUEUE_PAGE_SIZE = 50
# What a queue row shows (and its cursor and the audit read), and nothing else: a page of
# referrals with every column of six tables cost more to load than to find.
QUEUE_ROW_FIELDS = (
    "kind",
    "child__first_name",
    "child__last_name",
    "referring_agency__name",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
    "urgency",
    "urgency_rank",
    "status",
    "submitted_at",
    "acknowledge_due_at",
    "decision_due_at",
    "escalation_level",
)
# The statuses the queue's status filter offers; no status means every open one.
QUEUE_STATUSES = states.IN_QUEUE
# The queue's orders: its own first (the team queue index's), then by when it was received.
QUEUE_ORDERS = (
    Order(
        "deadline",
        "Most urgent, then the earliest deadline",
        ("urgency_rank", "decision_due_at", "id"),
    ),
    Order("newest", "Newest first", ("-submitted_at", "-id")),
    Order("oldest", "Oldest first", ("submitted_at", "id")),
)


class Ownership:
    ANYONE = ""
    MINE = "mine"
    UNASSIGNED = "unassigned"


# The one value of the queue's `escalated` filter: referrals whose escalation notices came to me.
ESCALATED_TO_ME = "me"


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    urgency: str = ""
    category: str = ""
    overdue: bool = False
    owner: str = Ownership.ANYONE
    team: int | None = None
    escalated: str = ""
    received: DateRange = field(default_factory=DateRange)
    sort: str = ""
    # A child's name or a referral number: never in the query string (the page keeps it in the
    # session under an opaque key), so `query()` leaves it out.
    search: str = ""

    @classmethod
    def from_query(cls, query: Any, *, search: str = "") -> QueueFilters:
        """Filters from the page's query string; anything unknown is ignored, never an error."""
        status = query.get("status", "")
        urgency = query.get("urgency", "")
        category = query.get("category", "")
        owner = query.get("owner", "")
        team = query.get("team", "")
        return cls(
            status=status if status in QUEUE_STATUSES else "",
            urgency=urgency if urgency in Urgency.values else "",
            category=category if category in CinCategory.values else "",
            overdue=query.get("overdue") == "1",
            owner=owner if owner in (Ownership.MINE, Ownership.UNASSIGNED) else "",
            team=int(team) if team.isdigit() else None,
            escalated=ESCALATED_TO_ME if query.get("escalated") == ESCALATED_TO_ME else "",
            received=DateRange.from_query(query),
            sort=order_for(QUEUE_ORDERS, query.get("sort", "")).key,
            search=search,
        )

    def query(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "status": self.status,
            "urgency": self.urgency,
            "category": self.category,
            "overdue": "1" if self.overdue else "",
            "owner": self.owner,
            "team": str(self.team) if self.team else "",
            "escalated": self.escalated,
            **self.received.query(),
            "sort": "" if self.order == QUEUE_ORDERS[0] else self.order.key,
        }
        return {key: value for key, value in values.items() if value}

    @property
    def order(self) -> Order:
        return order_for(QUEUE_ORDERS, self.sort)


@dataclass(frozen=True)
class QueuePage:
    # Each with `pattern_summary` annotated (see referral_queue_for_user).
    rows: Sequence[Referral]
    next_cursor: str = ""
    is_first: bool = True
    teams: list[Team] = field(default_factory=list)
    first: int = 0  # the position of the first row shown, from 1 (0 when there are none)
    last: int = 0


def queue_teams_for_user(*, user: User) -> QuerySet[Team]:
    """The queues the person works: their teams, and for service managers their authority's."""
    scope = scope_for_user(user)
    return Team.objects.filter(
        Q(pk__in=scope.team_ids)
        | Q(
            agency__local_authority_id__in=scope.authority_ids,
            agency__kind=AgencyKind.CHILDRENS_SOCIAL_CARE,
        )
    ).select_related("agency")


def escalated_to_q(user: User) -> Q:
    """Escalated on the clock running now, named in an escalation digest sent to `user`."""
    told = Escalation.objects.filter(referral=OuterRef("pk"), digests__recipient=user)
    running = Q()
    for clock in Clock:
        statuses = tuple(status for status, runs in states.CLOCKS.items() if runs == clock)
        running |= states.status_q(statuses) & Q(Exists(told.filter(clock=clock)))
    # Acknowledging starts the decision clock's ladder again at 0: the old notices are spent.
    return Q(escalation_level__gt=0) & running


def referral_queue_filtered(
    *, user: User, filters: QueueFilters, now: datetime.datetime | None = None
) -> QuerySet[Referral]:
    """The queue's referrals under `filters`, unordered: what the home page's cards count."""
    now = now or timezone.now()
    scope = scope_for_user(user)
    received = Q(team_id__in=scope.team_ids) | Q(local_authority_id__in=scope.authority_ids)
    referrals = referral_list_for_user(user=user).filter(received)
    if filters.team is not None:
        referrals = referrals.filter(team_id=filters.team)
    if filters.status:
        referrals = referrals.filter(status=filters.status)
    else:
        referrals = referrals.filter(states.status_q(states.OPEN))
    if filters.urgency:
        referrals = referrals.filter(urgency=filters.urgency)
    if filters.category:
        referrals = referrals.filter(category=filters.category)
    if filters.overdue:
        referrals = referrals.filter(overdue_q(now))
    if filters.owner == Ownership.MINE:
        referrals = referrals.filter(owner=user)
    elif filters.owner == Ownership.UNASSIGNED:
        referrals = referrals.filter(owner__isnull=True)
    if filters.escalated == ESCALATED_TO_ME:
        referrals = referrals.filter(escalated_to_q(user))
    if filters.received.since or filters.received.until:
        referrals = referrals.filter(filters.received.q("submitted_at"))
    if filters.search:
        referrals = referrals.filter(search_q(filters.search))
    return referrals


def referral_queue_for_user(
    *,
    user: User,
    filters: QueueFilters,
    after: str = "",
    now: datetime.datetime | None = None,
    page_size: int = QUEUE_PAGE_SIZE,
    teams: list[Team] | None = None,
) -> QueuePage:
    """One page of the triage queue: by default immediate risk first, then the earliest
    deadline; or newest or oldest first."""
    # Keyset paging on the order's columns (by default urgency_rank, decision_due_at, id, the
    # order of the team queue index), so a page costs the same however long the queue is and
    # nothing counts the whole table.
    page = keyset_page(
        referral_queue_filtered(user=user, filters=filters, now=now)
        .select_related("child", "referring_agency", "owner")
        .only(*QUEUE_ROW_FIELDS)
        # None when no pattern flag marks the referral (a pattern item, or a repeat referral).
        .annotate(pattern_summary=F("pattern_flag__summary")),
        order=filters.order,
        after=after,
        size=page_size,
    )
    rows = page.rows
    # A pattern item lists its contributing concerns: one more query for a page that has any,
    # whatever its length (only those rows: Django sets up a manager per row it prefetches for).
    prefetch_related_objects(
        [row for row in rows if row.kind == Referral.Kind.PATTERN],
        Prefetch(
            "concerns",
            queryset=Concern.objects.select_related("agency").only("observed_at", "agency__name"),
        ),
    )
    return QueuePage(
        rows=rows,
        next_cursor=page.next_cursor,
        is_first=page.is_first,
        teams=list(queue_teams_for_user(user=user)) if teams is None else teams,
        first=page.first,
        last=page.last,
    )


def manager_teams_for_user(*, user: User) -> list[Team]:
    """The teams whose queues a manager answers for: where they may reassign."""
    agencies = agencies_with_capability(user=user, capability="referrals.reassign_referral")
    if not agencies:
        return []
    return list(queue_teams_for_user(user=user).filter(agency__in=agencies).order_by("name"))


def referral_list_for_manager(*, user: User) -> QuerySet[Referral]:
    """The referrals a manager's dashboard counts: those received by the teams they manage."""
    teams = [team.pk for team in manager_teams_for_user(user=user)]
    return referral_list_for_user(user=user).filter(team_id__in=teams)


@dataclass(frozen=True)
class WorkloadRow:
    person: User | None
    team: Team
    open: int
    overdue: int
    immediate: int


def team_workload_for_user(
    *, user: User, now: datetime.datetime | None = None
) -> list[WorkloadRow]:
    """Open referrals per owner in each team the person manages, the unassigned ones too."""
    now = now or timezone.now()
    teams = manager_teams_for_user(user=user)
    counts: dict[tuple[int, int | None], dict[str, int]] = {
        (row["team_id"], row["owner_id"]): {
            "open": row["open"],
            "overdue": row["overdue"],
            "immediate": row["immediate"],
        }
        for row in referral_list_for_user(user=user)
        .filter(states.status_q(states.OPEN), team__in=teams)
        .values("team_id", "owner_id")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=overdue_q(now)),
            immediate=Count("id", filter=Q(urgency=Urgency.IMMEDIATE)),
        )
        .order_by()
    }
    members: dict[int, list[User]] = {team.pk: [] for team in teams}
    people: dict[int, User] = {}
    for membership in team_memberships(team_ids=[team.pk for team in teams]).select_related("user"):
        people[membership.user_id] = membership.user
        team_id = membership.team_id
        if team_id is not None and membership.user not in members[team_id]:
            members[team_id].append(membership.user)
    # Someone who has left the team may still own referrals: they must show up here.
    missing = {owner for _team, owner in counts if owner is not None} - set(people)
    people.update({person.pk: person for person in User.objects.filter(pk__in=missing)})
    rows: list[WorkloadRow] = []
    for team in teams:
        owners = {person.pk for person in members[team.pk]} | {
            owner for team_id, owner in counts if team_id == team.pk and owner is not None
        }
        for owner_id in sorted(owners, key=lambda pk: str(people[pk]).lower()):
            row: dict[str, int] = counts.get((team.pk, owner_id), {})
            rows.append(
                WorkloadRow(
                    people[owner_id],
                    team,
                    row.get("open", 0),
                    row.get("overdue", 0),
                    row.get("immediate", 0),
                )
            )
        unassigned: dict[str, int] = counts.get((team.pk, None), {})
        rows.append(
            WorkloadRow(
                None,
                team,
                unassigned.get("open", 0),
                unassigned.get("overdue", 0),
                unassigned.get("immediate", 0),
            )
        )
    return rows
