"""A child's chronology: everything the person may see about the child, in time order."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from agencies.models import Membership, User
from referrals.core.states import received_q
from referrals.models import Child, Concern, Referral, ReferralEvent
from referrals.visibility import (
    PARTNER_EVENT_KINDS,
    Audience,
    authority_received_referrals,
    concern_list_for_user,
    event_text_for,
    household_list_for_user,
    referral_audience,
    referral_list_for_user,
    scope_for_user,
)

# The kinds of entry, for filtering and exporting: codes (in URLs and audit rows) and words.
ENTRY_KINDS: dict[str, str] = {
    "concern": "Concerns recorded",
    "review": "Reviews of concerns",
    "addendum": "Additions to concerns",
    "referral": "Referrals and what happened to them",
    "household": "Adults linked to the child",
}


@dataclass(frozen=True)
class ChronologyEntry:
    at: datetime.datetime
    title: str
    text: str
    agency: str
    # What the entry is (a key of ENTRY_KINDS) and which row it comes from ("event-12"): ids
    # only, so an export's audit row can name what left without a word of it.
    kind: str
    ref: str
    agency_id: int | None
    concern: Concern | None = None
    referral: Referral | None = None
    is_internal: bool = False
    # False for a referral the authority received that the person may not open (another
    # team's): they see its history here, not its page.
    may_open: bool = True


def child_chronology_for_user(
    *, user: User, child: Child
) -> tuple[list[ChronologyEntry], list[Concern], list[Referral]]:
    """Everything the person may see about the child, in time order (not audited here).

    Across every record merged with the child's (issue 9): each item still passes its own
    selector, so a merge shows nobody anything they could not see before.
    """
    group = Child.objects.group_ids(child)
    concerns = list(
        concern_list_for_user(user=user)
        .filter(child_id__in=group)
        .select_related("agency", "raised_by")
        .prefetch_related("addenda__author")
    )
    scope = scope_for_user(user)
    # The receiving authority sees every referral about the child it received, from any
    # agency and whichever of its teams worked it; others what the referral selector allows.
    visible_ids = set(
        referral_list_for_user(user=user).filter(child_id__in=group).values_list("pk", flat=True)
    )
    authority_ids: set[int] = set()
    if scope.team_authority_ids or scope.authority_ids:
        authority_ids = set(
            authority_received_referrals(scope)
            .filter(child_id__in=group)
            .values_list("pk", flat=True)
        )
    # A draft is nobody's record yet: only referrals that were sent are part of the story.
    referrals = list(
        Referral.objects.filter(received_q(), pk__in=visible_ids | authority_ids)
        .select_related("referring_agency", "local_authority", "team", "decision")
        .order_by("submitted_at", "id")
    )
    entries: list[ChronologyEntry] = []
    for concern in concerns:
        entries.append(
            ChronologyEntry(
                concern.observed_at,
                "Concern recorded",
                concern.what_happened,
                concern.agency.name,
                "concern",
                f"concern-{concern.pk}",
                concern.agency_id,
                concern=concern,
            )
        )
        if concern.reviewed_at is not None:
            entries.append(
                ChronologyEntry(
                    concern.reviewed_at,
                    f"Concern reviewed: {concern.get_review_outcome_display()}",
                    concern.review_rationale,
                    concern.agency.name,
                    "review",
                    f"review-{concern.pk}",
                    concern.agency_id,
                    concern=concern,
                )
            )
        for addendum in concern.addenda.all():
            entries.append(
                ChronologyEntry(
                    addendum.created_at,
                    "Added to a concern",
                    addendum.text,
                    concern.agency.name,
                    "addendum",
                    f"addendum-{addendum.pk}",
                    concern.agency_id,
                    concern=concern,
                )
            )
    # "Draft started" is about a draft, not the child: the story starts when it was sent.
    events = (
        ReferralEvent.objects.filter(referral__in=[r.pk for r in referrals])
        .exclude(kind=ReferralEvent.Kind.CREATED)
        .select_related("agency")
    )
    by_pk = {r.pk: r for r in referrals}
    # A referral the person may not open (another team's, received by their authority) is
    # told as a partner would read it: that it came, what was asked and answered, the outcome,
    # and how it ended; never its internal events, notes, rationale or feedback's words.
    audiences = {
        r.pk: referral_audience(user=user, referral=r) if r.pk in visible_ids else Audience.PARTNER
        for r in referrals
    }
    for event in events:
        referral = by_pk[event.referral_id]
        audience = audiences[referral.pk]
        if event.is_internal and audience != Audience.TEAM:
            continue
        if audience == Audience.PARTNER and event.kind not in PARTNER_EVENT_KINDS:
            continue
        title = f"Referral: {event.get_kind_display()}"
        decision = getattr(referral, "decision", None)
        if decision is not None and event.kind in (
            ReferralEvent.Kind.DECIDED,
            ReferralEvent.Kind.FEEDBACK,
        ):
            title += f": {decision.get_outcome_display()}"
        entries.append(
            ChronologyEntry(
                event.created_at,
                title,
                event_text_for(event, audience),
                event.agency.name if event.agency else referral.referring_agency.name,
                "referral",
                f"event-{event.pk}",
                event.agency_id or referral.referring_agency_id,
                referral=referral,
                is_internal=event.is_internal,
                may_open=referral.pk in visible_ids,
            )
        )
    for member in household_list_for_user(user=user, child=child):
        joined = member.joined_on
        entries.append(
            ChronologyEntry(
                datetime.datetime.combine(joined, datetime.time(), tzinfo=datetime.UTC)
                if joined
                else member.created_at,
                f"Adult linked to the child: {member.get_relationship_display()}"
                + (" (lives with the child)" if member.lives_with_child else ""),
                f"{member.first_name} {member.last_name}"
                + (f", born {member.date_of_birth:%d %B %Y}" if member.date_of_birth else "")
                + (f". {member.notes}" if member.notes else ""),
                member.agency.name,
                "household",
                f"household-{member.pk}",
                member.agency_id,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries, concerns, referrals


@dataclass(frozen=True)
class ChronologyFilters:
    """Which entries to show or export: agencies, kinds and a date range (none: everything).

    Ids, codes and dates of events only, so they may travel in a URL and an audit row.
    """

    agency_ids: frozenset[int] = field(default_factory=frozenset)
    kinds: frozenset[str] = field(default_factory=frozenset)
    start: datetime.date | None = None
    end: datetime.date | None = None

    def keeps(self, entry: ChronologyEntry) -> bool:
        day = timezone.localdate(entry.at)
        return (
            (not self.agency_ids or entry.agency_id in self.agency_ids)
            and (not self.kinds or entry.kind in self.kinds)
            and (self.start is None or day >= self.start)
            and (self.end is None or day <= self.end)
        )

    def as_data(self) -> dict[str, object]:
        """The filters as an audit row keeps them."""
        return {
            "agencies": sorted(self.agency_ids),
            "kinds": sorted(self.kinds),
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }


def chronology_filter(
    entries: Iterable[ChronologyEntry], filters: ChronologyFilters
) -> list[ChronologyEntry]:
    """The entries the filters keep, still in time order."""
    return [entry for entry in entries if filters.keeps(entry)]


def chronology_agencies(entries: Iterable[ChronologyEntry]) -> list[tuple[int, str]]:
    """The agencies the entries come from, by name: the agency filter's choices."""
    named = {entry.agency_id: entry.agency for entry in entries if entry.agency_id is not None}
    return sorted(named.items(), key=lambda item: (item[1], item[0]))


def chronology_watermark(*, user: User, at: datetime.datetime, verb: str = "Printed") -> str:
    """Who made this copy of a chronology, for whom they work and when: on every page of it."""
    membership = (
        Membership.objects.filter(user=user, agency__is_active=True)
        .select_related("agency")
        .order_by("agency__name", "pk")
        .first()
    )
    who = str(user) + (f", {membership.agency.name}" if membership else "")
    when = timezone.localtime(at)
    return f"{verb} by {who}, {when.day} {when:%b %Y %H:%M} — OFFICIAL-SENSITIVE"
